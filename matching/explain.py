"""Reasons of a ranking in plain words, in the viewer's language."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from matching.models import Language, Skill
from matching.ranking import Ranked, Reason


class Explainer:
    """Renders reasons with skill and language names in the active language. Loads the names
    it needs once (one query each), however many rankings it explains."""

    def __init__(self):
        self._skills: dict[int, Skill] = {}
        self._languages = {language.code: language for language in Language.objects.all()}

    def _labels(self, ids: list[int]) -> str:
        missing = [skill_id for skill_id in ids if skill_id not in self._skills]
        if missing:
            self._skills.update(Skill.objects.in_bulk(missing))
        return ", ".join(sorted(self._skills[skill_id].label for skill_id in ids))

    def reason(self, reason: Reason) -> str:
        p = reason.params
        if reason.code == "validated":
            return _("validated: %(skills)s") % {"skills": self._labels(p["skill_ids"])}
        if reason.code == "validated_below":
            return _("validated below the level asked: %(skills)s") % {
                "skills": self._labels(p["skill_ids"])
            }
        if reason.code == "claimed":
            return _("claimed, not yet validated: %(skills)s") % {
                "skills": self._labels(p["skill_ids"])
            }
        if reason.code == "claimed_below":
            return _("claimed below the level asked: %(skills)s") % {
                "skills": self._labels(p["skill_ids"])
            }
        if reason.code == "language":
            language = self._languages.get(p["code"])
            values = {
                "language": language.name if language else p["code"],
                "level": p["level"],
                "asked": p["asked"],
            }
            if p.get("confirmed"):
                return _("speaks %(language)s %(level)s, confirmed (job asks %(asked)s)") % values
            return _("speaks %(language)s %(level)s (job asks %(asked)s)") % values
        if reason.code == "track_record":
            return ngettext(
                "%(count)d completed contract", "%(count)d completed contracts", p["count"]
            ) % {"count": p["count"]}
        if reason.code == "partly_available":
            return _("partly available")
        if reason.code == "newcomer_boost":
            return _("new member boost (few contracts lately)")
        return reason.code

    def text(self, ranked: Ranked) -> str:
        """ "validated: CSS, WordPress; claimed, not yet validated: SEO; speaks French B2 (job asks B1)"."""
        return "; ".join(self.reason(reason) for reason in ranked.reasons)
