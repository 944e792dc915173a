from django.conf import settings
from django.db import models
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _


class CEFRLevel(models.TextChoices):
    """Common European Framework of Reference levels, lowest first."""

    A1 = "A1", _("A1 – beginner")
    A2 = "A2", _("A2 – elementary")
    B1 = "B1", _("B1 – intermediate")
    B2 = "B2", _("B2 – upper intermediate")
    C1 = "C1", _("C1 – advanced")
    C2 = "C2", _("C2 – proficient")

    @classmethod
    def rank(cls, level: str) -> int:
        """0 for A1 up to 5 for C2, so that levels can be compared."""
        return cls.values.index(level)


class Language(models.Model):
    """A human language, keyed by its BCP-47 tag (reference data, see matching/data/)."""

    class Direction(models.TextChoices):
        LTR = "ltr", _("left to right")
        RTL = "rtl", _("right to left")

    code = models.CharField(_("BCP-47 tag"), max_length=16, unique=True)
    name_en = models.CharField(_("English name"), max_length=80)
    name_fr = models.CharField(_("French name"), max_length=80)
    autonym = models.CharField(_("name in the language itself"), max_length=80)
    iso639_3 = models.CharField(_("ISO 639-3 code"), max_length=3, blank=True)
    direction = models.CharField(
        _("writing direction"), max_length=3, choices=Direction.choices, default=Direction.LTR
    )
    esco_uri = models.URLField(_("ESCO concept"), blank=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The language's name in the viewer's language, with its autonym."""
        viewer = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        if viewer == "fr":
            name = self.name_fr
        elif viewer == "en":
            name = self.name_en
        else:
            try:
                # Django's own catalogues translate many language names (into Dutch, Arabic...).
                name = str(get_language_info(self.code)["name_translated"])
            except KeyError:
                name = self.name_en
        if name.casefold() == self.autonym.casefold():
            return name
        return f"{name} ({self.autonym})"


class MemberLanguage(models.Model):
    """A language a member works in, at a CEFR level (self-declared until a validator confirms)."""

    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.CASCADE,
        related_name="languages",
        verbose_name=_("member"),
    )
    language = models.ForeignKey(
        Language, on_delete=models.PROTECT, related_name="+", verbose_name=_("language")
    )
    level = models.CharField(_("CEFR level"), max_length=2, choices=CEFRLevel.choices)

    class Meta:
        ordering = ["member_id", "language__name_en"]
        verbose_name = _("member language")
        verbose_name_plural = _("member languages")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "language"], name="member_language_once_per_member"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=CEFRLevel.values), name="member_language_cefr_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language.code} {self.level}"
