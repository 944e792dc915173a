"""Using the ranking: notices to the best-fitting members, invitations, exposure records."""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.models import Job, JobStatus, MemberProfile, Notification, User
from matching.candidates import rank_members_for_job
from matching.models import Exposure, Invitation
from matching.ranking import Ranked

JOB_MATCH_KIND = "job_match"


def setting(name: str, default: int) -> int:
    return getattr(settings, "MATCHING_NOTICES", {}).get(name, default)


def exposure_record(*, job: Job, ranked: list[Ranked], context: str) -> None:
    """Remember who was shown for which job (once per day and context)."""
    Exposure.objects.bulk_create(
        [
            Exposure(job=job, member_id=r.candidate.member_id, context=context, rank=position)
            for position, r in enumerate(ranked, start=1)
        ],
        ignore_conflicts=True,
    )


def job_matches_notify(*, job: Job) -> int:
    """Tell the best-fitting members about a newly published job: in the app, and by e-mail to
    those who asked for it. A member gets at most `per_day` such notices a day."""
    from marketplace.services.notifications import notify

    if job.status != JobStatus.PUBLISHED or job.is_hidden:
        return 0
    per_day = setting("per_day", 3)
    ranked = rank_members_for_job(job, limit=setting("top", 10))
    today_start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    members = MemberProfile.objects.select_related("user").in_bulk(
        [r.candidate.member_id for r in ranked]
    )
    already = dict(
        Notification.objects.filter(
            kind=JOB_MATCH_KIND,
            created_at__gte=today_start,
            user__member_profile__in=list(members),
        )
        .values_list("user_id")
        .annotate(n=Count("pk"))
    )
    told = []
    with transaction.atomic():
        for r in ranked:
            member = members[r.candidate.member_id]
            if already.get(member.user_id, 0) >= per_day:
                continue
            notify(
                user=member.user,
                message=gettext_lazy("A new job fits you: “%(title)s”."),
                params={"title": job.title},
                url=reverse("job_detail", args=[job.pk]),
                email=member.job_alerts_by_email,
                kind=JOB_MATCH_KIND,
            )
            told.append(r)
        exposure_record(job=job, ranked=told, context=Exposure.Context.NOTICE)
    return len(told)


def invitation_create(*, job: Job, member: MemberProfile, client: User) -> Invitation:
    """The client invites a member to bid on their published job; the member is told."""
    from marketplace.services.notifications import notify

    if job.client_id != client.pk:
        raise PermissionDenied(_("Only the client who posted this job can invite members."))
    if job.status != JobStatus.PUBLISHED:
        raise ValidationError(_("Members can be invited only while the job is published."))
    if member.membership_status != MemberProfile.Membership.MEMBER or not member.user.is_active:
        raise ValidationError(_("This member cannot be invited."))
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(job=job, member=member, invited_by=client)
            notify(
                user=member.user,
                message=gettext_lazy("You are invited to bid on the job “%(title)s”."),
                params={"title": job.title},
                url=reverse("job_detail", args=[job.pk]),
            )
    except IntegrityError as error:
        raise ValidationError(_("This member is already invited."), code="duplicate") from error
    return invitation


def gini(values: list[float]) -> float:
    """0 when everybody has the same, close to 1 when one has everything."""
    ordered = sorted(values)
    n = len(ordered)
    total = sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((index + 1) * value for index, value in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def exposure_distribution(*, since: datetime.date) -> dict:
    """Exposure per active member since a date: Gini coefficient and share never shown."""
    members = list(
        MemberProfile.objects.filter(
            membership_status=MemberProfile.Membership.MEMBER, user__is_active=True
        ).values_list("pk", flat=True)
    )
    counts = dict(
        Exposure.objects.filter(shown_on__gte=since, member_id__in=members)
        .values_list("member_id")
        .annotate(n=Count("pk"))
    )
    values = [counts.get(member_id, 0) for member_id in members]
    never = sum(1 for value in values if value == 0)
    return {
        "members": len(members),
        "exposures": sum(values),
        "gini": round(gini(values), 3),
        "never_shown": never,
        "never_shown_share": round(never / len(members), 3) if members else 0.0,
    }
