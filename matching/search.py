"""Skill search by any label in any language, accents and case ignored."""

import unicodedata

from django.db.models import QuerySet

from matching.models import Skill

MAX_RESULTS = 20


def normalise(text: str) -> str:
    """'Accessibilité  Web’s' -> "accessibilite web's": no accents, no case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.casefold().split())


def skill_search(*, query: str, limit: int = MAX_RESULTS) -> list[Skill]:
    """Skills whose labels (any language, alternative labels, group) contain every word of the
    query; those whose label in the viewer's language starts with the query come first."""
    wanted = normalise(query)
    if not wanted:
        return []
    candidates: QuerySet[Skill] = Skill.objects.select_related("group")
    for word in wanted.split():
        candidates = candidates.filter(search_text__contains=word)
    found = list(candidates[:500])

    def rank(skill: Skill) -> tuple:
        label = normalise(skill.label)
        return (
            not label.startswith(wanted),
            wanted not in label,
            not any(
                normalise(alt).startswith(wanted)
                for alts in skill.alt_labels.values()
                for alt in alts
            ),
            skill.source != Skill.Source.ESCO,
            label,
        )

    found.sort(key=rank)
    return found[:limit]
