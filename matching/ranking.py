"""The ranking engine: who fits a job (and which jobs fit a member), explained, and fair.

Pure functions over plain data; matching.selectors fetches the candidates from the database.

Eligibility is a bar, never lowered: a member is ranked only with every essential skill of the
job (validated or at least claimed, never an expired validation) and one of the job's languages
at the level asked. Among those, the score adds up, with weights kept in settings.MATCHING:

- essential skills: each counts fully when validated at the level asked, partly when only
  claimed or below the level;
- nice-to-have skills, likewise, with a smaller weight;
- language: how far above the minimum the member's best language is (a confirmed level counts);
- track record: completed contracts and reviews (bounded, so newcomers are not buried);
- availability.

Fairness: a member with few contracts in the last 90 days gets a bounded boost, and within the
top places at least a configurable share goes to such members when they qualify — a greedy
version of the FA*IR top-k guarantee (Zehlike et al., 2017): at every prefix k of the list, at
least floor(share x k) places hold protected candidates, if any are left.
"""

import math
from dataclasses import dataclass, field

from django.conf import settings

LEVEL_RANKS = {"beginner": 0, "intermediate": 1, "advanced": 2, "expert": 3}
CEFR_RANKS = {"A1": 0, "A2": 1, "B1": 2, "B2": 3, "C1": 4, "C2": 5}

DEFAULT_WEIGHTS = {
    "essential": 50.0,
    "nice": 15.0,
    "language": 10.0,
    "track_record": 10.0,
    "availability": 5.0,
    # Share of an essential/nice skill's weight earned by each kind of evidence.
    "validated_at_level": 1.0,
    "validated_below_level": 0.6,
    "claimed_at_level": 0.4,
    "claimed_below_level": 0.2,
    # Fairness.
    "newcomer_boost": 8.0,
    "newcomer_max_recent_contracts": 1,
    "protected_share": 0.3,
    "protected_window": 10,
}


def weights() -> dict:
    return {**DEFAULT_WEIGHTS, **getattr(settings, "MATCHING", {})}


@dataclass(frozen=True)
class SkillNeed:
    skill_id: int
    min_level: str
    essential: bool


@dataclass(frozen=True)
class LanguageNeed:
    language_id: int
    code: str
    min_level: str


@dataclass(frozen=True)
class MemberSkill:
    validated: bool
    level: str  # validated level, or the self-assessed level of a claim


@dataclass(frozen=True)
class MemberLanguageLevel:
    code: str
    level: str
    confirmed_level: str = ""

    @property
    def best(self) -> str:
        """A level confirmed by a validator wins over the declared one."""
        return self.confirmed_level or self.level


@dataclass
class Candidate:
    member_id: int
    name: str
    availability: str
    skills: dict[int, MemberSkill]
    languages: dict[int, MemberLanguageLevel]
    recent_contracts: int = 0
    completed_contracts: int = 0
    average_rating: float | None = None


@dataclass(frozen=True)
class Reason:
    """One plain-words reason; rendered in the viewer's language by matching.explain."""

    code: str
    params: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Ranked:
    candidate: Candidate
    score: float
    breakdown: dict[str, float]
    reasons: list[Reason]
    newcomer: bool
    placed_by_fairness: bool = False


def _skill_credit(need: SkillNeed, has: MemberSkill | None, w: dict) -> tuple[float, str]:
    if has is None:
        return 0.0, "missing"
    at_level = LEVEL_RANKS[has.level] >= LEVEL_RANKS[need.min_level]
    if has.validated:
        return (
            (w["validated_at_level"], "validated")
            if at_level
            else (w["validated_below_level"], "validated_below")
        )
    return (
        (w["claimed_at_level"], "claimed")
        if at_level
        else (w["claimed_below_level"], "claimed_below")
    )


def best_language(
    candidate: Candidate, languages: list[LanguageNeed]
) -> tuple[LanguageNeed, MemberLanguageLevel, int] | None:
    """The job language the member speaks best relative to what is asked, if any is enough."""
    best = None
    for need in languages:
        has = candidate.languages.get(need.language_id)
        if has is None:
            continue
        margin = CEFR_RANKS[has.best] - CEFR_RANKS[need.min_level]
        if margin >= 0 and (best is None or margin > best[2]):
            best = (need, has, margin)
    return best


def is_eligible(
    candidate: Candidate, skills: list[SkillNeed], languages: list[LanguageNeed]
) -> bool:
    if candidate.availability == "unavailable":
        return False
    if any(need.skill_id not in candidate.skills for need in skills if need.essential):
        return False
    return not languages or best_language(candidate, languages) is not None


def score(
    candidate: Candidate,
    skills: list[SkillNeed],
    languages: list[LanguageNeed],
    w: dict | None = None,
) -> Ranked | None:
    """The candidate's score and its reasons, or None when not eligible."""
    w = w or weights()
    if not is_eligible(candidate, skills, languages):
        return None
    breakdown: dict[str, float] = {}
    groups: dict[str, list[int]] = {
        "validated": [],
        "validated_below": [],
        "claimed": [],
        "claimed_below": [],
        "missing": [],
    }
    for kind, weight in (("essential", w["essential"]), ("nice", w["nice"])):
        needs = [need for need in skills if need.essential == (kind == "essential")]
        if not needs:
            breakdown[kind] = weight if kind == "essential" else 0.0
            continue
        total = 0.0
        for need in needs:
            credit, group = _skill_credit(need, candidate.skills.get(need.skill_id), w)
            total += credit
            if group != "missing" or kind == "essential":
                groups[group].append(need.skill_id)
        breakdown[kind] = round(weight * total / len(needs), 2)

    reasons: list[Reason] = []
    for group in ("validated", "validated_below", "claimed", "claimed_below"):
        if groups[group]:
            reasons.append(Reason(group, {"skill_ids": groups[group]}))

    language = best_language(candidate, languages) if languages else None
    if language is not None:
        need, has, margin = language
        breakdown["language"] = round(w["language"] * min(margin, 2) / 2, 2)
        reasons.append(
            Reason(
                "language",
                {
                    "code": need.code,
                    "level": has.best,
                    "asked": need.min_level,
                    "confirmed": bool(has.confirmed_level),
                },
            )
        )
    else:
        breakdown["language"] = 0.0

    # Track record, bounded: log-scaled completed contracts, plus reviews when there are some.
    record = min(math.log1p(candidate.completed_contracts) / math.log1p(10), 1.0)
    if candidate.average_rating is not None:
        record = (record + candidate.average_rating / 5) / 2
    breakdown["track_record"] = round(w["track_record"] * record, 2)
    if candidate.completed_contracts:
        reasons.append(Reason("track_record", {"count": candidate.completed_contracts}))

    availability = {"available": 1.0, "partly": 0.5}.get(candidate.availability, 0.0)
    breakdown["availability"] = round(w["availability"] * availability, 2)
    if candidate.availability == "partly":
        reasons.append(Reason("partly_available"))

    newcomer = candidate.recent_contracts <= w["newcomer_max_recent_contracts"]
    if newcomer:
        # Bounded: fewer recent contracts, more boost, never more than newcomer_boost.
        share = 1 - candidate.recent_contracts / (w["newcomer_max_recent_contracts"] + 1)
        breakdown["newcomer_boost"] = round(w["newcomer_boost"] * share, 2)
        reasons.append(Reason("newcomer_boost"))
    else:
        breakdown["newcomer_boost"] = 0.0

    total = round(sum(breakdown.values()), 2)
    return Ranked(candidate, total, breakdown, reasons, newcomer)


def fair_top(ranked: list[Ranked], w: dict | None = None) -> list[Ranked]:
    """Re-order qualified candidates so that every prefix k of the protected window holds at
    least floor(share x k) newcomers while there are newcomers left. Never adds anybody."""
    w = w or weights()
    remaining = sorted(ranked, key=lambda r: (-r.score, r.candidate.member_id))
    window = int(w["protected_window"])
    share = float(w["protected_share"])
    result: list[Ranked] = []
    protected = 0
    while remaining:
        k = len(result) + 1
        needed = math.floor(share * k) if k <= window else 0
        pick = remaining[0]
        if protected < needed and not pick.newcomer:
            newcomer = next((r for r in remaining if r.newcomer), None)
            if newcomer is not None:
                newcomer.placed_by_fairness = True
                pick = newcomer
        remaining.remove(pick)
        result.append(pick)
        protected += pick.newcomer
    return result


def rank_candidates(
    candidates: list[Candidate],
    skills: list[SkillNeed],
    languages: list[LanguageNeed],
    *,
    limit: int = 20,
    w: dict | None = None,
) -> list[Ranked]:
    w = w or weights()
    scored = [r for c in candidates if (r := score(c, skills, languages, w)) is not None]
    return fair_top(scored, w)[:limit]
