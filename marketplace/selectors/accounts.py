"""Reads of the marketplace app."""

from dataclasses import dataclass

from django.db.models import QuerySet

from marketplace.models import MemberProfile
from marketplace.page_cache import cached_member_fits
from matching.models import MemberLanguage

DASHBOARD_FITS = 3


def member_languages(*, profile: MemberProfile) -> QuerySet[MemberLanguage]:
    return MemberLanguage.objects.filter(member=profile).select_related("language")


@dataclass(frozen=True)
class JobFit:
    """A job that fits a member, as the dashboard lists it: plain values, cacheable."""

    job_id: int
    title: str
    score: float
    why: str


def member_dashboard_fits(*, member: MemberProfile, limit: int = DASHBOARD_FITS) -> list[JobFit]:
    """The jobs that fit the member best, with the reasons, from the matching engine. Ranking
    reads the member's skills and every fitting published job: the result is cached until a
    job or the member's skills, languages or availability change (marketplace.page_cache)."""
    from matching.candidates import rank_jobs_for_member
    from matching.explain import Explainer

    def compute() -> list[JobFit]:
        explainer = Explainer()
        return [
            JobFit(job.pk, job.title, ranked.score, explainer.text(ranked))
            for job, ranked in rank_jobs_for_member(member, limit=limit)
        ]

    return cached_member_fits(member.pk, compute)
