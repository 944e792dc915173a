"""Writes of milestones and contracts: fund, start, deliver, approve, request changes,
approve automatically, cancel.

Every change takes the row locks in one fixed order (the contract, then its milestones by pk,
then the job), goes through marketplace.milestone_states, and writes one ContractEvent in the
same transaction. Notices leave after commit (marketplace.services.notifications.notify)."""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import job_states, locks, milestone_states
from marketplace.locks import lock_contract, lock_milestone
from marketplace.models import (
    Contract,
    ContractEvent,
    ContractStatus,
    Delivery,
    DeliveryFile,
    JobStatus,
    Milestone,
    MilestoneStatus,
    User,
)
from marketplace.services.notifications import notify
from marketplace.submissions import check_submission

S = MilestoneStatus
MAX_DELIVERY_FILES = 10
MAX_DELIVERY_LINKS = 10
MAX_MESSAGE_LENGTH = 5000
REMINDER_DAYS_BEFORE = (7, 2)  # the first and the second reminder before automatic approval


def auto_approve_days() -> int:
    return getattr(settings, "MILESTONE_AUTO_APPROVE_DAYS", 14)


def auto_approve_at(milestone: Milestone) -> datetime.datetime | None:
    """When a submitted milestone is approved if the client does nothing."""
    if milestone.status != S.SUBMITTED or milestone.submitted_at is None:
        return None
    return milestone.submitted_at + datetime.timedelta(days=auto_approve_days())


def _contract_url(contract: Contract) -> str:
    return reverse("contract_detail", args=[contract.pk])


def _check_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise ValidationError(_("This contract is closed."), code="closed")


def _check_member(milestone: Milestone, user: User) -> None:
    if milestone.contract.member.user_id != user.pk:
        raise PermissionDenied(_("Only the member of this contract can do this."))


def _check_client(milestone: Milestone, user: User) -> None:
    if milestone.contract.client_id != user.pk:
        raise PermissionDenied(_("Only the client of this contract can do this."))


def _record(
    milestone: Milestone, kind: str, *, actor: User | None, note: str = "", fields: Iterable[str]
) -> None:
    milestone.save(update_fields=["status", *fields])
    ContractEvent.objects.create(
        contract=milestone.contract, milestone=milestone, actor=actor, kind=kind, note=note
    )


def _complete_contract_if_done(contract: Contract, *, now: datetime.datetime) -> None:
    """Once every milestone that is not cancelled is approved (or paid out), the contract and
    its job are completed. Expects the contract's lock."""
    statuses = set(contract.milestones.values_list("status", flat=True)) - {S.CANCELLED}
    if not statuses or not statuses <= milestone_states.DONE:
        return
    contract.status = ContractStatus.COMPLETED
    contract.completed_at = now
    contract.save(update_fields=["status", "completed_at"])
    job = locks.lock_job(contract.job_id)
    job_states.transition(job, JobStatus.COMPLETED)
    job.save()
    ContractEvent.objects.create(contract=contract, kind="contract_completed")
    for user in (contract.client, contract.member.user):
        notify(
            user=user,
            message=gettext_lazy("The contract for “%(title)s” is completed."),
            params={"title": contract.job.title},
            url=_contract_url(contract),
        )


def contract_close_if_settled(contract: Contract, *, by: User | None = None) -> Contract:
    """After a milestone is refunded or split (payments, disputes): once no milestone is open,
    the contract ends — completed when some work was approved, cancelled when every milestone
    was cancelled. Expects the contract's lock."""
    now = timezone.now()
    statuses = set(contract.milestones.values_list("status", flat=True))
    if contract.status != ContractStatus.ACTIVE or not statuses <= (
        milestone_states.DONE | {S.CANCELLED}
    ):
        return contract
    if statuses - {S.CANCELLED}:
        _complete_contract_if_done(contract, now=now)
        return contract
    contract.status = ContractStatus.CANCELLED
    contract.save(update_fields=["status"])
    job = locks.lock_job(contract.job_id)
    if job_states.can_transition(job, JobStatus.CANCELLED):
        job_states.transition(job, JobStatus.CANCELLED)
        job.save()
    ContractEvent.objects.create(contract=contract, actor=by, kind="contract_cancelled")
    return contract


def milestone_mark_funded(*, milestone: Milestone, by: User | None = None) -> Milestone:
    """The client's payment for this milestone is held by the cooperative: the member may start.

    Called only by payments.services.funds.payment_succeeded, inside its transaction, after the
    money is posted to the ledger (``by`` is the admin who recorded a bank transfer, if any)."""
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        _check_active(milestone.contract)
        milestone_states.transition(milestone, S.FUNDED)
        _record(milestone, "funded", actor=by, fields=[])
        notify(
            user=milestone.contract.member.user,
            message=gettext_lazy("“%(milestone)s” is paid: you can start the work."),
            params={"milestone": milestone.title},
            url=_contract_url(milestone.contract),
        )
    return milestone


def milestone_start(*, milestone: Milestone, member: User) -> Milestone:
    """The member (a User) starts work on a paid milestone."""
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        _check_member(milestone, member)
        _check_active(milestone.contract)
        if milestone.status == S.DISPUTED:  # only the dispute's end unfreezes it
            raise milestone_states.IllegalTransition(milestone, S.IN_PROGRESS)
        milestone_states.transition(milestone, S.IN_PROGRESS)
        _record(milestone, "started", actor=member, fields=["submitted_at"])
    return milestone


def _check_delivery(message: str, links: list[str], files: list[UploadedFile]) -> list:
    return check_submission(
        text_field="message",
        text=message,
        empty_message=_("Tell the client what you deliver."),
        links=links,
        files=files,
        max_text=MAX_MESSAGE_LENGTH,
        max_links=MAX_DELIVERY_LINKS,
        max_files=MAX_DELIVERY_FILES,
    )


def milestone_deliver(
    *,
    milestone: Milestone,
    member: User,
    message: str,
    links: list[str] | None = None,
    files: list[UploadedFile] | None = None,
) -> Delivery:
    """The member hands in a milestone: a message, links and files (PDF, PNG, JPEG, judged by
    content). The client is told to approve it or to ask for changes."""
    links, files = list(links or []), list(files or [])
    # Files are read and hashed before any lock is taken.
    checked = _check_delivery(message, links, files)
    stored: list[DeliveryFile] = []
    try:
        with transaction.atomic():
            milestone = lock_milestone(milestone.pk)
            _check_member(milestone, member)
            _check_active(milestone.contract)
            milestone_states.transition(milestone, S.SUBMITTED)
            delivery = Delivery.objects.create(
                milestone=milestone, message=message.strip(), links=links
            )
            for upload, info in checked:
                stored.append(DeliveryFile(delivery=delivery).store(upload, info))
            _record(milestone, "delivered", actor=member, fields=["submitted_at", "reminders_sent"])
            notify(
                user=milestone.contract.client,
                message=gettext_lazy(
                    "“%(milestone)s” is delivered. Approve it or ask for changes within "
                    "%(days)d days; after that it is approved automatically."
                ),
                params={"milestone": milestone.title, "days": auto_approve_days()},
                url=_contract_url(milestone.contract),
            )
    except Exception:
        # The rows are rolled back; the files written to storage must go too.
        for delivery_file in stored:
            delivery_file.file.delete(save=False)
        raise
    return delivery


def _approve(milestone: Milestone, *, actor: User | None, kind: str, now) -> None:
    """Expects the milestone's lock (and its contract's). Approval releases the held funds in
    the same transaction (payments.services.funds.milestone_release)."""
    from payments.services.funds import milestone_release

    milestone_states.transition(milestone, S.APPROVED, now=now)
    _record(milestone, kind, actor=actor, fields=["approved_at"])
    milestone_release(milestone=milestone, by=actor)
    message = (
        gettext_lazy("The client approved “%(milestone)s”. The cooperative pays it out.")
        if actor is not None
        else gettext_lazy(
            "“%(milestone)s” is approved automatically: the client did not answer in time."
        )
    )
    notify(
        user=milestone.contract.member.user,
        message=message,
        params={"milestone": milestone.title},
        url=_contract_url(milestone.contract),
    )
    _complete_contract_if_done(milestone.contract, now=now)


def milestone_approve(*, milestone: Milestone, client: User) -> Milestone:
    """The client approves a delivered milestone; the last approval completes the contract."""
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        _check_client(milestone, client)
        _check_active(milestone.contract)
        # The state machine lets a dispute end in approval; the client approves only a
        # delivery, never a disputed milestone (its money is frozen until the dispute ends).
        if milestone.status != S.SUBMITTED:
            raise milestone_states.IllegalTransition(milestone, S.APPROVED)
        _approve(milestone, actor=client, kind="approved", now=timezone.now())
    return milestone


def milestone_request_changes(*, milestone: Milestone, client: User, reason: str) -> Milestone:
    """The client sends a delivery back, saying why; the member works on it again."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Tell the member what to change.")}, code="reason_required"
        )
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        _check_client(milestone, client)
        _check_active(milestone.contract)
        if milestone.status == S.DISPUTED:  # only the dispute's end unfreezes it
            raise milestone_states.IllegalTransition(milestone, S.IN_PROGRESS)
        milestone_states.transition(milestone, S.IN_PROGRESS)
        _record(milestone, "changes_requested", actor=client, note=reason, fields=["submitted_at"])
        notify(
            user=milestone.contract.member.user,
            message=gettext_lazy("The client asks for changes to “%(milestone)s”: %(reason)s"),
            params={"milestone": milestone.title, "reason": reason[:300]},
            url=_contract_url(milestone.contract),
        )
    return milestone


def contract_can_be_cancelled(contract: Contract, milestones: Iterable[Milestone]) -> bool:
    """Either side may cancel freely while nothing is paid (milestones already fetched)."""
    return contract.status == ContractStatus.ACTIVE and all(
        m.status in milestone_states.BEFORE_FUNDING for m in milestones
    )


def contract_cancel(*, contract: Contract, by: User, reason: str) -> Contract:
    """The client or the member ends the contract. Only before any milestone is paid: after
    that, money is held for the member and the contract ends by mutual agreement through the
    cooperative, or through a dispute."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Tell the other side why you cancel.")}, code="reason_required"
        )
    with transaction.atomic():
        contract = lock_contract(contract.pk)
        is_client = contract.client_id == by.pk
        if not is_client and contract.member.user_id != by.pk:
            raise PermissionDenied(_("Only the client or the member can cancel this contract."))
        _check_active(contract)
        milestones = list(contract.milestones.select_for_update(of=("self",)).order_by("pk"))
        if not contract_can_be_cancelled(contract, milestones):
            raise ValidationError(
                _(
                    "A milestone is already paid, so this contract cannot simply be cancelled. "
                    "Agree on it with the other side through the cooperative, or open a dispute."
                ),
                code="funded",
            )
        for milestone in milestones:
            if milestone.status != S.CANCELLED:
                milestone_states.transition(milestone, S.CANCELLED)
                milestone.save(update_fields=["status"])
        contract.status = ContractStatus.CANCELLED
        contract.save(update_fields=["status"])
        job = locks.lock_job(contract.job_id)
        # Whether the job itself ends is job_states' decision, not this module's.
        if job_states.can_transition(job, JobStatus.CANCELLED):
            job_states.transition(job, JobStatus.CANCELLED)
            job.save()
        ContractEvent.objects.create(
            contract=contract, actor=by, kind="contract_cancelled", note=reason
        )
        notify(
            user=contract.member.user if is_client else contract.client,
            message=gettext_lazy("The contract for “%(title)s” is cancelled: %(reason)s"),
            params={"title": contract.job.title, "reason": reason[:300]},
            url=_contract_url(contract),
        )
    return contract


def milestones_auto_approve(*, now: datetime.datetime | None = None) -> int:
    """One pass of the scheduled task: remind the client 7 and 2 days before a delivered
    milestone is approved automatically, then approve it. Returns how many were approved.

    Idempotent: each milestone is re-checked under its lock, reminders_sent records the
    reminders already sent, and an approved milestone is no longer "submitted"."""
    now = now or timezone.now()
    delay = datetime.timedelta(days=auto_approve_days())
    first_reminder = datetime.timedelta(days=max(REMINDER_DAYS_BEFORE))
    due_ids = list(
        Milestone.objects.filter(
            status=S.SUBMITTED,
            contract__status=ContractStatus.ACTIVE,
            submitted_at__lte=now - delay + first_reminder,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    approved = 0
    for milestone_id in due_ids:
        with transaction.atomic():
            milestone = lock_milestone(milestone_id)
            deadline = auto_approve_at(milestone)
            if deadline is None or milestone.contract.status != ContractStatus.ACTIVE:
                continue
            if now >= deadline:
                _approve(milestone, actor=None, kind="auto_approved", now=now)
                approved += 1
                continue
            # Reminders already due (a skipped pass sends only the latest one).
            due = sum(
                1
                for days in REMINDER_DAYS_BEFORE
                if now >= deadline - datetime.timedelta(days=days)
            )
            if due > milestone.reminders_sent:
                milestone.reminders_sent = due
                _record(milestone, "approval_reminder", actor=None, fields=["reminders_sent"])
                notify(
                    user=milestone.contract.client,
                    message=gettext_lazy(
                        "Reminder: “%(milestone)s” is approved automatically on %(date)s unless "
                        "you approve it or ask for changes before."
                    ),
                    params={
                        "milestone": milestone.title,
                        "date": timezone.localtime(deadline).date().isoformat(),
                    },
                    url=_contract_url(milestone.contract),
                )
    return approved
