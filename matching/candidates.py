"""Fetching what the ranking engine needs, in a bounded number of queries.

The database does the pre-filtering (members holding every essential skill and a job language
at the level asked; jobs whose essential skills a member holds); Python scores only that
candidate set. Nothing here loads every member or every job."""

import datetime

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from marketplace.models import Job, JobLanguage, JobSkill, JobStatus, MemberProfile
from matching.models import Language, MemberLanguage, SkillClaim
from matching.ranking import (
    Candidate,
    LanguageNeed,
    MemberLanguageLevel,
    MemberSkill,
    Ranked,
    SkillNeed,
    rank_candidates,
    score,
    weights,
)

RECENT_DAYS = 90
JOB_POOL = 100  # the most recent eligible jobs scored for a member (a dashboard, not a search)
# How far back among the open jobs, newest first, the member's eligible ones are looked for:
# each is tested with two index probes, so the cost is bounded whatever the size of the table
# (at a million jobs, grouping every essential skill row the member holds took 0.4–2 s). A
# cooperative's board holds far fewer open jobs than this; at more, a member's dashboard shows
# the best of their eligible jobs among the newest JOB_WINDOW, and the board's search the rest.
JOB_WINDOW = 5000
# Below this many essential-skill rows for the member's skills (over every job), grouping them
# is cheaper than walking the window; above, the walk (see rank_jobs_for_member).
AGGREGATE_MAX_ROWS = 20_000
SKILL_ROWS_KEY = "sirius:matching:essential-rows-per-skill"
SKILL_ROWS_TIMEOUT = 2 * 3600


def active_claims_q(today: datetime.date | None = None, prefix: str = "") -> Q:
    """Claims that count: under review, or validated and not expired."""
    today = today or timezone.localdate()
    p = prefix
    # The first term repeats the partial index's condition so that the planner can use it.
    return Q(**{f"{p}status__in": SkillClaim.ACTIVE}) & (
        Q(**{f"{p}status__in": [SkillClaim.Status.PENDING, SkillClaim.Status.MORE_EVIDENCE]})
        | Q(**{f"{p}expires_on__isnull": True})
        | Q(**{f"{p}expires_on__gte": today})
    )


class LanguageCodes(dict):
    """Language id -> code: a 20-row reference table, read once per process and again only
    when an unknown id shows up (a language added since)."""

    def __missing__(self, language_id: int) -> str:
        self.update(Language.objects.values_list("pk", "code"))
        if language_id not in self:
            raise KeyError(language_id)
        return self[language_id]


_LANGUAGE_CODES = LanguageCodes()


def language_codes() -> LanguageCodes:
    return _LANGUAGE_CODES


def job_needs(job: Job) -> tuple[list[SkillNeed], list[LanguageNeed]]:
    codes = language_codes()
    skills = [
        SkillNeed(skill_id, min_level, importance == "essential")
        for skill_id, min_level, importance in JobSkill.objects.filter(job=job).values_list(
            "skill_id", "min_level", "importance"
        )
    ]
    languages = [
        LanguageNeed(language_id, codes[language_id], min_level)
        for language_id, min_level in JobLanguage.objects.filter(job=job).values_list(
            "language_id", "min_level"
        )
    ]
    return skills, languages


def speaks_one_of_q(languages: list[LanguageNeed]) -> Q:
    """Members speaking at least one of these languages at the level asked (CEFR codes sort
    in level order: "A1" < "B2" < "C2"; a confirmed level counts too)."""
    condition = Q()
    for need in languages:
        condition |= Q(
            Exists(
                MemberLanguage.objects.filter(
                    member=OuterRef("pk"), language_id=need.language_id
                ).filter(Q(level__gte=need.min_level) | Q(validated_level__gte=need.min_level))
            )
        )
    return condition


def eligible_members(skills: list[SkillNeed], languages: list[LanguageNeed]):
    """Active, visible, available cooperative members with every essential skill (claimed or
    currently validated) and one of the languages at the level asked."""
    essential = [need.skill_id for need in skills if need.essential]
    members = MemberProfile.objects.filter(
        membership_status=MemberProfile.Membership.MEMBER,
        user__is_active=True,
        is_hidden=False,
    ).exclude(availability=MemberProfile.Availability.UNAVAILABLE)
    if essential:
        holders = (
            SkillClaim.objects.filter(active_claims_q(), skill_id__in=essential)
            .values("member_id")
            # One active claim per member and skill (a database constraint), so no DISTINCT:
            # the count is a hash aggregate over the partial index.
            .annotate(held=Count("skill_id"))
            .filter(held=len(set(essential)))
            .values("member_id")
        )
        members = members.filter(pk__in=holders)
    if languages:
        members = members.filter(speaks_one_of_q(languages))
    return members


def average_ratings(member_ids: list[int]) -> dict[int, float]:
    """Published reviews' average rating per member (the clients' reviews of their work)."""
    from marketplace.services.reviews import average_ratings as published_average_ratings

    return published_average_ratings(member_ids)


def recent_contract_counts(member_ids: list[int]) -> dict[int, int]:
    """Contracts started in the last 90 days, per member: the fairness input."""
    from marketplace.models import Contract

    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    return dict(
        Contract.objects.filter(member_id__in=member_ids, created_at__gte=since)
        .values_list("member_id")
        .annotate(n=Count("pk"))
    )


def completed_contract_counts(member_ids: list[int]) -> dict[int, int]:
    """Completed contracts per member: the track record."""
    from marketplace.models import Contract

    return dict(
        Contract.objects.filter(member_id__in=member_ids, status="completed")
        .values_list("member_id")
        .annotate(n=Count("pk"))
    )


def load_candidates(member_rows: list[dict], skill_ids: list[int], language_ids: list[int]):
    ids = [row["pk"] for row in member_rows]
    skills: dict[int, dict[int, MemberSkill]] = {member_id: {} for member_id in ids}
    claims = SkillClaim.objects.filter(
        active_claims_q(), member_id__in=ids, skill_id__in=skill_ids
    ).values_list("member_id", "skill_id", "status", "validated_level", "self_level")
    for member_id, skill_id, status, validated_level, self_level in claims:
        validated = status == SkillClaim.Status.VALIDATED
        has = MemberSkill(validated=validated, level=validated_level if validated else self_level)
        current = skills[member_id].get(skill_id)
        if current is None or (has.validated and not current.validated):
            skills[member_id][skill_id] = has
    spoken: dict[int, dict[int, MemberLanguageLevel]] = {member_id: {} for member_id in ids}
    codes = language_codes()
    rows = MemberLanguage.objects.filter(
        member_id__in=ids, language_id__in=language_ids
    ).values_list("member_id", "language_id", "level", "validated_level")
    for member_id, language_id, level, confirmed in rows:
        spoken[member_id][language_id] = MemberLanguageLevel(codes[language_id], level, confirmed)
    recent = recent_contract_counts(ids)
    completed = completed_contract_counts(ids)
    ratings = average_ratings(ids)
    return [
        Candidate(
            member_id=row["pk"],
            name=row["display_name"],
            availability=row["availability"],
            skills=skills[row["pk"]],
            languages=spoken[row["pk"]],
            recent_contracts=recent.get(row["pk"], 0),
            completed_contracts=completed.get(row["pk"], 0),
            average_rating=ratings.get(row["pk"]),
        )
        for row in member_rows
    ]


def rank_members_for_job(job: Job, *, limit: int = 20) -> list[Ranked]:
    """The best-fitting members for a job, fairness applied, with their reasons."""
    skills, languages = job_needs(job)
    rows = list(eligible_members(skills, languages).values("pk", "display_name", "availability"))
    candidates = load_candidates(
        rows, [need.skill_id for need in skills], [need.language_id for need in languages]
    )
    return rank_candidates(candidates, skills, languages, limit=limit)


def member_candidate(member: MemberProfile) -> Candidate:
    """The member as the engine sees them, with all their active skills and languages."""
    skills: dict[int, MemberSkill] = {}
    for skill_id, status, validated_level, self_level in SkillClaim.objects.filter(
        active_claims_q(), member=member
    ).values_list("skill_id", "status", "validated_level", "self_level"):
        validated = status == SkillClaim.Status.VALIDATED
        has = MemberSkill(validated, validated_level if validated else self_level)
        if skill_id not in skills or (validated and not skills[skill_id].validated):
            skills[skill_id] = has
    codes = language_codes()
    languages = {
        language_id: MemberLanguageLevel(codes[language_id], level, confirmed)
        for language_id, level, confirmed in MemberLanguage.objects.filter(
            member=member
        ).values_list("language_id", "level", "validated_level")
    }
    return Candidate(
        member_id=member.pk,
        name=member.display_name,
        availability=member.availability,
        skills=skills,
        languages=languages,
        recent_contracts=recent_contract_counts([member.pk]).get(member.pk, 0),
        completed_contracts=completed_contract_counts([member.pk]).get(member.pk, 0),
        average_rating=average_ratings([member.pk]).get(member.pk),
    )


def score_member_for_job(member: MemberProfile, job: Job) -> Ranked | None:
    """How well one member fits one job (None: not eligible)."""
    skills, languages = job_needs(job)
    return score(member_candidate(member), skills, languages)


def essential_rows_per_skill(*, refresh: bool = False) -> dict[int, int]:
    """How many jobs ask for each skill as essential: an estimate of what grouping a member's
    skills would read, to choose the cheaper query. Counted by the periodic pass (0.3 s at a
    million jobs; `manage.py run_periodic`), or by the first request that misses it, and shared
    through the cache; being a little stale only costs speed, never changes a result."""
    counts = None if refresh else cache.get(SKILL_ROWS_KEY)
    if counts is None:
        counts = dict(
            JobSkill.objects.filter(importance="essential")
            .order_by()
            .values_list("skill_id")
            .annotate(rows=Count("job_id"))
        )
        cache.set(SKILL_ROWS_KEY, counts, SKILL_ROWS_TIMEOUT)
    return counts


def rank_jobs_for_member(member: MemberProfile, *, limit: int = 20) -> list[tuple[Job, Ranked]]:
    """Published jobs this member is eligible for, best fit first (the same engine, reversed)."""
    candidate = member_candidate(member)
    if candidate.availability == "unavailable" or not candidate.skills:
        return []
    if not candidate.languages:
        return []
    held = list(candidate.skills)
    # One of the job's languages at a level the member reaches: a single EXISTS probing the
    # job's own language rows (an OR of one EXISTS per language was planned as a hash of every
    # job's rows in each language: 0.2 s at a million jobs).
    spoken_enough = Q()
    for language_id, spoken in candidate.languages.items():
        spoken_enough |= Q(language_id=language_id, min_level__lte=spoken.best)
    language_ok = Exists(JobLanguage.objects.filter(spoken_enough, job=OuterRef("pk")))
    open_jobs = Job.objects.filter(status=JobStatus.PUBLISHED, is_hidden=False)
    # Where the window of the newest open jobs starts (an index-only scan).
    window_start = (
        open_jobs.order_by("-published_at", "-pk")
        .values_list("published_at", flat=True)[JOB_WINDOW - 1 : JOB_WINDOW]
        .first()
    )
    if window_start is not None:
        open_jobs = open_jobs.filter(published_at__gte=window_start)
    # Eligible: the job asks for at least one essential skill, and for none the member lacks.
    # Two ways to find them, the same jobs either way, whichever reads fewer rows:
    rows = sum(essential_rows_per_skill().get(skill_id, 0) for skill_id in held)
    if rows <= AGGREGATE_MAX_ROWS:
        # Few jobs ask for these skills: count, per job, the essential skills among those
        # held (the partial index on essential rows covers it), compare with the job's number
        # of essential skills.
        fitting = (
            JobSkill.objects.filter(importance="essential", skill_id__in=held)
            .values("job_id", "job_essential_count")
            .annotate(held=Count("skill_id"))
            .filter(held=F("job_essential_count"))
            .values("job_id")
        )
        eligible = open_jobs.filter(pk__in=fitting)
    else:
        # Many do (popular skills, a large table): walk the open jobs newest first from the
        # window's start, two index probes each, and stop at JOB_POOL eligible ones.
        essential = JobSkill.objects.filter(job=OuterRef("pk"), importance="essential")
        eligible = open_jobs.filter(Exists(essential.filter(skill_id__in=held))).exclude(
            Exists(essential.exclude(skill_id__in=held))
        )
    pool = list(
        eligible.filter(language_ok)
        .order_by("-published_at", "-pk")
        .values_list("pk", flat=True)[:JOB_POOL]
    )
    # Plain tuples, not model instances: this is the hot path of the member's dashboard.
    needs: dict[int, tuple[list[SkillNeed], list[LanguageNeed]]] = {pk: ([], []) for pk in pool}
    for job_id, skill_id, min_level, importance in JobSkill.objects.filter(
        job_id__in=pool
    ).values_list("job_id", "skill_id", "min_level", "importance"):
        needs[job_id][0].append(SkillNeed(skill_id, min_level, importance == "essential"))
    codes = language_codes()
    for job_id, language_id, min_level in JobLanguage.objects.filter(job_id__in=pool).values_list(
        "job_id", "language_id", "min_level"
    ):
        needs[job_id][1].append(LanguageNeed(language_id, codes[language_id], min_level))
    w = weights()
    scored = []
    for position, pk in enumerate(pool):
        ranked = score(candidate, *needs[pk], w)
        if ranked is not None:
            # Ties go to the most recently published (the pool's order).
            scored.append((ranked.score, -position, pk, ranked))
    scored.sort(key=lambda row: (-row[0], -row[1]))
    top = scored[:limit]
    jobs = Job.objects.in_bulk([pk for _, _, pk, _ in top])
    return [(jobs[pk], ranked) for _, _, pk, ranked in top]
