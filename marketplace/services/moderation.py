"""Moderation: reports, hiding content, suspending accounts, and the log of it all."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import locks
from marketplace.models import Bid, Job, MemberProfile, ModerationLog, Report, User

REPORTABLE = (Job, MemberProfile, Bid)


def log_action(
    *, actor: User, action: str, target: models.Model, reason: str = ""
) -> ModerationLog:
    return ModerationLog.objects.create(
        actor=actor,
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        target_repr=str(target)[:200],
        reason=reason.strip(),
    )


def _check_moderator(user: User) -> None:
    if not (user.is_active and user.is_staff):
        raise PermissionDenied(_("Only moderators can do this."))


def report_create(*, reporter: User, target: models.Model, reason: str, details: str) -> Report:
    """Anyone logged in reports a job, a profile (or, later, a bid). One open report per person
    and object."""
    if not isinstance(target, REPORTABLE):
        raise ValidationError(_("This cannot be reported."), code="not_reportable")
    if not details.strip():
        raise ValidationError(_("Tell the moderators what is wrong."), code="details")
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter,
                target_type=ContentType.objects.get_for_model(target),
                target_id=target.pk,
                reason=reason,
                details=details.strip(),
            )
    except IntegrityError as error:
        raise ValidationError(
            _("You already reported this; the moderators will look at it."), code="duplicate"
        ) from error


def _close_reports(*, target: models.Model, moderator: User, status: str) -> int:
    return Report.objects.filter(
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        status=Report.Status.OPEN,
    ).update(status=status, handled_by=moderator, handled_at=timezone.now())


def report_dismiss(*, report: Report, moderator: User, reason: str = "") -> Report:
    _check_moderator(moderator)
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).get(pk=report.pk)
        if report.status != Report.Status.OPEN:
            raise ValidationError(_("This report is already handled."), code="handled")
        report.status = Report.Status.DISMISSED
        report.handled_by = moderator
        report.handled_at = timezone.now()
        report.save()
        log_action(actor=moderator, action="dismiss_report", target=report, reason=reason)
    return report


def content_set_hidden(
    *, target: Job | MemberProfile, moderator: User, hidden: bool, reason: str
) -> Job | MemberProfile:
    """Hide (or show again) a job or a member profile. Reports about it are closed as acted upon."""
    _check_moderator(moderator)
    if hidden and not reason.strip():
        raise ValidationError(_("Give the reason for hiding."), code="reason")
    with transaction.atomic():
        target = type(target).objects.select_for_update(of=("self",)).get(pk=target.pk)
        target.is_hidden = hidden
        target.save(update_fields=["is_hidden"])
        log_action(
            actor=moderator, action="hide" if hidden else "unhide", target=target, reason=reason
        )
        if hidden:
            _close_reports(target=target, moderator=moderator, status=Report.Status.ACTED)
    return target


def user_suspend(*, user: User, moderator: User, reason: str) -> User:
    """Suspend an account: it can no longer log in (and its sessions stop working), its open
    jobs are cancelled and its bids withdrawn, with a notice to the other side."""
    from marketplace import job_states
    from marketplace.services.jobs import job_bidders
    from marketplace.services.notifications import notify

    _check_moderator(moderator)
    if user.pk == moderator.pk:
        raise ValidationError(_("You cannot suspend your own account."), code="self")
    if not reason.strip():
        raise ValidationError(_("Give the reason for the suspension."), code="reason")
    with transaction.atomic():
        user = locks.lock_user(user.pk)
        if user.suspended_at is not None:
            raise ValidationError(_("This account is already suspended."), code="suspended")
        user.is_active = False
        user.suspended_at = timezone.now()
        user.suspension_reason = reason.strip()
        user.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
        for job in Job.objects.filter(client=user, status__in=job_states.OPEN).order_by("pk"):
            job = locks.lock_job(job.pk)
            job_states.transition(job, "cancelled")
            job.save()
            for bidder in job_bidders(job):
                notify(
                    user=bidder,
                    message=gettext_lazy("The job “%(title)s” you bid on was closed."),
                    params={"title": job.title},
                )
        for bid in Bid.objects.filter(member__user=user, status="active").select_related(
            "job__client"
        ):
            bid.status = "withdrawn"
            bid.save(update_fields=["status", "updated_at"])
            notify(
                user=bid.job.client,
                message=gettext_lazy("A bid on “%(title)s” was withdrawn."),
                params={"title": bid.job.title},
            )
        log_action(actor=moderator, action="suspend", target=user, reason=reason)
        _close_reports(target=user, moderator=moderator, status=Report.Status.ACTED)
        if hasattr(user, "member_profile"):
            _close_reports(
                target=user.member_profile, moderator=moderator, status=Report.Status.ACTED
            )
    return user


def user_reinstate(*, user: User, moderator: User, reason: str) -> User:
    _check_moderator(moderator)
    with transaction.atomic():
        user = locks.lock_user(user.pk)
        if user.suspended_at is None:
            raise ValidationError(_("This account is not suspended."), code="not_suspended")
        user.is_active = True
        user.suspended_at = None
        user.suspension_reason = ""
        user.save(update_fields=["is_active", "suspended_at", "suspension_reason"])
        log_action(actor=moderator, action="reinstate", target=user, reason=reason)
    return user
