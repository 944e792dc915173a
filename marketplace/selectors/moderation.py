from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from marketplace.models import Job, JobStatus, MemberProfile, ModerationLog, Report


def jobs_to_review() -> QuerySet[Job]:
    """Submitted jobs, oldest first."""
    return (
        Job.objects.filter(status=JobStatus.SUBMITTED)
        .select_related("client")
        .only("pk", "title", "submitted_at", "contact_flags", "client__email", "client__full_name")
        .order_by("submitted_at", "pk")
    )


def open_reports() -> QuerySet[Report]:
    return (
        Report.objects.filter(status=Report.Status.OPEN)
        .select_related("reporter", "target_type")
        .order_by("created_at", "pk")
    )


def reports_about(target) -> QuerySet[Report]:
    return Report.objects.filter(
        target_type=ContentType.objects.get_for_model(target), target_id=target.pk
    ).select_related("reporter")


def moderation_log() -> QuerySet[ModerationLog]:
    return ModerationLog.objects.select_related("actor", "target_type")


def reportable(kind: str):
    from marketplace.models import Bid

    return {"job": Job, "member": MemberProfile, "bid": Bid}.get(kind)
