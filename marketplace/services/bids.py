"""Bids: a member offers, edits, withdraws; the client shortlists, talks, and accepts one.

Accepting is the one race that matters: two accepts at the same moment (two tabs, two bids)
must give exactly one contract. The job's row lock serialises them; the unique job on
Contract makes a second contract impossible even without the lock."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import job_states, locks
from marketplace.content import find_contact_details
from marketplace.models import (
    Bid,
    BidMessage,
    BidMilestone,
    BidStatus,
    Contract,
    ContractEvent,
    Job,
    JobStatus,
    MemberProfile,
    Milestone,
    User,
)
from marketplace.services.notifications import notify

MAX_MILESTONES = 10


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    amount_cents: int
    due_date: datetime.date


@dataclass
class BidInput:
    price_cents: int
    start_date: datetime.date
    cover_message: str
    milestones: list[MilestoneInput] = field(default_factory=list)
    hourly_rate_cents: int | None = None
    estimated_hours: int | None = None


class AlreadyDecided(ValidationError):
    """The job already has a contract (the other accept won)."""


def _check(data: BidInput) -> None:
    problems = []
    if data.price_cents <= 0:
        problems.append(_("The price must be more than zero."))
    if not data.milestones:
        problems.append(_("Give at least one milestone."))
    if len(data.milestones) > MAX_MILESTONES:
        problems.append(_("At most %(max)d milestones.") % {"max": MAX_MILESTONES})
    if sum(m.amount_cents for m in data.milestones) != data.price_cents:
        problems.append(_("The milestones must add up to the total price."))
    if any(m.amount_cents <= 0 for m in data.milestones):
        problems.append(_("Every milestone needs an amount."))
    if data.start_date < timezone.localdate():
        problems.append(_("The start date is in the past."))
    if any(m.due_date < data.start_date for m in data.milestones):
        problems.append(_("A milestone is due before the start date."))
    if not data.cover_message.strip():
        problems.append(_("Write a few words to the client."))
    if problems:
        raise ValidationError(problems, code="invalid_bid")


def _write_milestones(bid: Bid, data: BidInput) -> None:
    BidMilestone.objects.filter(bid=bid).delete()
    BidMilestone.objects.bulk_create(
        BidMilestone(
            bid=bid,
            position=position,
            title=m.title.strip(),
            amount_cents=m.amount_cents,
            due_date=m.due_date,
        )
        for position, m in enumerate(data.milestones, start=1)
    )


def bid_submit(*, member: MemberProfile, job: Job, data: BidInput) -> Bid:
    """A member bids on a published job. One active bid per member and job."""
    if member.membership_status != MemberProfile.Membership.MEMBER or not member.user.is_active:
        raise PermissionDenied(_("Only members of the cooperative can bid."))
    if job.client_id == member.user_id:
        raise PermissionDenied(_("You cannot bid on your own job."))
    _check(data)
    try:
        with transaction.atomic():
            job = locks.lock_job(job.pk)
            if job.status != JobStatus.PUBLISHED or job.is_hidden:
                raise ValidationError(_("This job no longer takes bids."), code="closed")
            bid = Bid.objects.create(
                job=job,
                member=member,
                price_cents=data.price_cents,
                hourly_rate_cents=data.hourly_rate_cents,
                estimated_hours=data.estimated_hours,
                start_date=data.start_date,
                cover_message=data.cover_message.strip(),
                contact_flags=find_contact_details(data.cover_message),
            )
            _write_milestones(bid, data)
            notify(
                user=job.client,
                message=gettext_lazy("New bid from %(name)s on “%(title)s”."),
                params={"name": member.display_name, "title": job.title},
                url=reverse("job_bids", args=[job.pk]),
            )
    except IntegrityError as error:
        raise ValidationError(
            _("You already have a bid on this job: edit it instead."), code="duplicate"
        ) from error
    return bid


def _lock_own_active_bid(bid: Bid, member: MemberProfile) -> Bid:
    bid = Bid.objects.select_for_update(of=("self",)).select_related("job").get(pk=bid.pk)
    if bid.member_id != member.pk:
        raise PermissionDenied
    if bid.status != BidStatus.ACTIVE or bid.job.status != JobStatus.PUBLISHED:
        raise ValidationError(_("This bid can no longer be changed."), code="decided")
    return bid


def bid_update(*, bid: Bid, member: MemberProfile, data: BidInput) -> Bid:
    _check(data)
    with transaction.atomic():
        locks.lock_job(bid.job_id)
        bid = _lock_own_active_bid(bid, member)
        bid.price_cents = data.price_cents
        bid.hourly_rate_cents = data.hourly_rate_cents
        bid.estimated_hours = data.estimated_hours
        bid.start_date = data.start_date
        bid.cover_message = data.cover_message.strip()
        bid.contact_flags = find_contact_details(data.cover_message)
        bid.save()
        _write_milestones(bid, data)
    return bid


def bid_withdraw(*, bid: Bid, member: MemberProfile) -> Bid:
    with transaction.atomic():
        locks.lock_job(bid.job_id)
        bid = _lock_own_active_bid(bid, member)
        bid.status = BidStatus.WITHDRAWN
        bid.save(update_fields=["status", "updated_at"])
    return bid


def bid_shortlist(*, bid: Bid, client: User, shortlisted: bool) -> Bid:
    if bid.job.client_id != client.pk:
        raise PermissionDenied
    Bid.objects.filter(pk=bid.pk).update(shortlisted=shortlisted)
    bid.shortlisted = shortlisted
    return bid


def bid_message_send(*, bid: Bid, sender: User, body: str) -> BidMessage:
    """A message in the thread of a bid, between its member and the job's client."""
    if sender.pk not in (bid.member.user_id, bid.job.client_id):
        raise PermissionDenied
    if not body.strip():
        raise ValidationError(_("Write a message."), code="empty")
    with transaction.atomic():
        message = BidMessage.objects.create(
            bid=bid, sender=sender, body=body.strip(), contact_flags=find_contact_details(body)
        )
        other = bid.job.client if sender.pk == bid.member.user_id else bid.member.user
        notify(
            user=other,
            message=gettext_lazy("New message about “%(title)s”."),
            params={"title": bid.job.title},
            url=reverse("bid_detail", args=[bid.pk]),
            email=False,
        )
    return message


def bid_accept(*, bid: Bid, client: User) -> Contract:
    """The client accepts a bid: a contract with its milestones, the job in progress, the
    other bids declined with a notice. Safe under concurrency (see the module docstring)."""
    try:
        with transaction.atomic(durable=True):
            job = locks.lock_job(bid.job_id)
            if job.client_id != client.pk:
                raise PermissionDenied
            if Contract.objects.filter(job=job).exists() or job.status != JobStatus.PUBLISHED:
                raise AlreadyDecided(
                    _("This job already has a contract, or no longer takes bids."),
                    code="decided",
                )
            bid = (
                Bid.objects.select_for_update(of=("self",))
                .select_related("member__user")
                .get(pk=bid.pk)
            )
            if bid.status != BidStatus.ACTIVE:
                raise AlreadyDecided(_("This bid was withdrawn."), code="withdrawn")
            contract = Contract.objects.create(
                job=job, bid=bid, client=client, member=bid.member, total_cents=bid.price_cents
            )
            Milestone.objects.bulk_create(
                Milestone(
                    contract=contract,
                    position=m.position,
                    title=m.title,
                    amount_cents=m.amount_cents,
                    due_date=m.due_date,
                )
                for m in bid.milestones.all()
            )
            bid.status = BidStatus.ACCEPTED
            bid.save(update_fields=["status", "updated_at"])
            job_states.transition(job, JobStatus.IN_PROGRESS)
            job.save()
            ContractEvent.objects.create(contract=contract, actor=client, kind="contract_created")
            notify(
                user=bid.member.user,
                message=gettext_lazy(
                    "Your bid on “%(title)s” is accepted. Wait until the client has paid the "
                    "first milestone before you start."
                ),
                params={"title": job.title},
                url=reverse("contract_detail", args=[contract.pk]),
            )
            for other in Bid.objects.filter(job=job, status=BidStatus.ACTIVE).select_related(
                "member__user"
            ):
                other.status = BidStatus.DECLINED
                other.save(update_fields=["status", "updated_at"])
                notify(
                    user=other.member.user,
                    message=gettext_lazy(
                        "The client of “%(title)s” chose another offer. Thank you for bidding."
                    ),
                    params={"title": job.title},
                    url=reverse("job_detail", args=[job.pk]),
                )
    except IntegrityError as error:  # the database's unique job on Contract
        raise AlreadyDecided(
            _("This job already has a contract, or no longer takes bids."), code="decided"
        ) from error
    return contract
