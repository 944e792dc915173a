"""Reads of the matching app."""

import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from marketplace.models import MemberProfile, User
from matching.models import LanguageDecision, MemberLanguage, SkillClaim, SkillDecision


def current_validation_q(today: datetime.date | None = None) -> Q:
    """Claims whose validation counts today: validated and not expired."""
    today = today or timezone.localdate()
    return Q(status=SkillClaim.Status.VALIDATED) & (
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


def validated_skills(*, member: MemberProfile) -> QuerySet[SkillClaim]:
    return (
        SkillClaim.objects.filter(current_validation_q(), member=member)
        .select_related("skill__group", "validated_by")
        .order_by("skill__label_en")
    )


def unvalidated_skills(*, member: MemberProfile) -> QuerySet[SkillClaim]:
    """Claimed but not (or no longer) validated: under review, or validation expired."""
    today = timezone.localdate()
    return (
        SkillClaim.objects.filter(member=member)
        .filter(
            Q(status__in=[SkillClaim.Status.PENDING, SkillClaim.Status.MORE_EVIDENCE])
            | Q(status=SkillClaim.Status.VALIDATED, expires_on__lt=today)
        )
        .select_related("skill__group")
        .order_by("skill__label_en")
    )


def member_claims(*, member: MemberProfile) -> QuerySet[SkillClaim]:
    return (
        SkillClaim.objects.filter(member=member)
        .select_related("skill__group", "validated_by")
        .order_by("-created_at")
    )


def validation_queue(*, validator: User) -> QuerySet[SkillClaim]:
    """Claims waiting for a validator, oldest first; never the validator's own."""
    return (
        SkillClaim.objects.filter(status=SkillClaim.Status.PENDING)
        .exclude(member__user=validator)
        .select_related("member", "skill__group")
        .annotate(n_files=Count("files", distinct=True), n_links=Count("links", distinct=True))
        .order_by("submitted_at", "pk")
    )


def claim_decisions(*, claim: SkillClaim) -> QuerySet[SkillDecision]:
    return claim.decisions.select_related("decided_by").order_by("decided_at", "pk")


def languages_to_confirm(*, validator: User) -> QuerySet[MemberLanguage]:
    return (
        MemberLanguage.objects.filter(validated_level="")
        .exclude(member__user=validator)
        .filter(member__membership_status__in=["applicant", "member"])
        .select_related("member", "language")
        .order_by("member__display_name", "language__name_en")
    )


def language_decisions(*, member: MemberProfile) -> QuerySet[LanguageDecision]:
    return member.language_decisions.select_related("language", "decided_by")


def validations_expiring(*, within_days: int, today: datetime.date | None = None):
    """Current validations that expire within the coming days and whose member was not told."""
    today = today or timezone.localdate()
    return (
        SkillClaim.objects.filter(
            status=SkillClaim.Status.VALIDATED,
            expires_on__gte=today,
            expires_on__lte=today + datetime.timedelta(days=within_days),
        )
        .select_related("member__user", "skill")
        .order_by("expires_on", "pk")
    )
