"""Writes of the governance app: the member register, proposals, signatures, votes, and the
periodic opening and closing of votes (run by ``manage.py run_periodic``).

Every write is one transaction under the row locks of governance.locks (proposal, then roll
entry; the member profile for the register). Notifications leave after commit
(marketplace.services.notifications.notify). Secrecy: the ballot is written with a key derived
from the proposal's secret and the member's id, never with the member; the close wipes the
secret, so the link cannot be computed again by anyone."""

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.locks import lock_member_profile, lock_proposal, lock_roll_entry
from governance.models import (
    Ballot,
    MembershipChange,
    Proposal,
    ProposalKind,
    ProposalOption,
    ProposalOutcome,
    ProposalSignature,
    ProposalStatus,
    RollEntry,
    ShareMovement,
)
from governance.selectors import (
    governance_setting,
    local_date,
    member_shares_held,
    members_eligible_on,
    proposals_due_to_close,
    proposals_due_to_open,
)
from marketplace.access import is_moderator
from marketplace.models import MemberProfile, User
from marketplace.services.notifications import notify
from payments.models import SolidarityRate

Membership = MemberProfile.Membership
MAX_OPTIONS = 10
MAX_REASON_LENGTH = 300


# --- Register -----------------------------------------------------------------------------


def _check_date(day: datetime.date, *, field: str) -> datetime.date:
    if not isinstance(day, datetime.date):
        raise ValidationError({field: _("Enter a date.")}, code="date")
    if day > timezone.localdate():
        raise ValidationError(
            {field: _("The register records what happened: the date cannot be in the future.")},
            code="future",
        )
    return day


def membership_status_change(
    *,
    member: MemberProfile,
    status: str,
    effective_on: datetime.date,
    recorded_by: User | None,
    reason: str = "",
) -> MembershipChange:
    """Record a change of status in the register and bring the profile in step, in one
    transaction under the profile's lock. The history only grows forward: a change cannot be
    dated before the last recorded one (a mistake is corrected by a new change)."""
    if status not in Membership.values:
        raise ValidationError({"status": _("Choose a status.")}, code="status")
    _check_date(effective_on, field="effective_on")
    reason = (reason or "").strip()[:MAX_REASON_LENGTH]
    with transaction.atomic():
        profile = lock_member_profile(member.pk)
        last = (
            MembershipChange.objects.filter(member=profile).order_by("-effective_on", "-pk").first()
        )
        current = last.status if last else profile.membership_status
        if status == current:
            raise ValidationError(
                {"status": _("This is already the member's status.")}, code="unchanged"
            )
        if last and effective_on < last.effective_on:
            raise ValidationError(
                {
                    "effective_on": _(
                        "The last change is dated %(date)s: a new one cannot be dated earlier."
                    )
                    % {"date": last.effective_on.isoformat()}
                },
                code="earlier",
            )
        change = MembershipChange.objects.create(
            member=profile,
            status=status,
            effective_on=effective_on,
            reason=reason,
            recorded_by=recorded_by,
        )
        profile.membership_status = status
        profile.membership_since = effective_on
        profile.save(update_fields=["membership_status", "membership_since", "updated_at"])
        member.membership_status = status
        member.membership_since = effective_on
    return change


def member_shares_change(
    *,
    member: MemberProfile,
    shares: int,
    effective_on: datetime.date,
    recorded_by: User | None,
    reason: str = "",
) -> ShareMovement:
    """Record shares subscribed (positive) or paid back (negative). The holding never goes
    below zero (checked under the profile's lock)."""
    if not isinstance(shares, int) or isinstance(shares, bool) or shares == 0:
        raise ValidationError(
            {"shares": _("Enter a whole number of shares other than zero.")}, code="shares"
        )
    _check_date(effective_on, field="effective_on")
    reason = (reason or "").strip()[:MAX_REASON_LENGTH]
    with transaction.atomic():
        profile = lock_member_profile(member.pk)
        held = member_shares_held(profile)
        if held + shares < 0:
            raise ValidationError(
                {
                    "shares": _(
                        "The member holds %(held)d share(s): at most that can be paid back."
                    )
                    % {"held": held}
                },
                code="negative",
            )
        return ShareMovement.objects.create(
            member=profile,
            shares=shares,
            effective_on=effective_on,
            reason=reason,
            recorded_by=recorded_by,
        )


# --- Proposals ----------------------------------------------------------------------------


@dataclass
class ProposalInput:
    kind: str
    question: str
    explanation: str
    opens_at: datetime.datetime
    closes_at: datetime.datetime
    quorum_percent: int
    # Labels for a general question; rates in basis points for a solidarity-rate proposal.
    options: list


def rate_bounds() -> tuple[int, int]:
    return governance_setting("RATE_MIN_BP"), governance_setting("RATE_MAX_BP")


def _check_dates(opens_at, closes_at, *, now) -> None:
    if closes_at <= opens_at:
        raise ValidationError(
            {"closes_at": _("The vote must close after it opens.")}, code="closes_before"
        )
    if closes_at <= now:
        raise ValidationError(
            {"closes_at": _("The closing date is already past.")}, code="closes_past"
        )


def _check_quorum(quorum_percent) -> None:
    if not isinstance(quorum_percent, int) or not 1 <= quorum_percent <= 100:
        raise ValidationError(
            {"quorum_percent": _("The quorum is a percentage between 1 and 100.")},
            code="quorum",
        )


def _clean_options(kind: str, options: list) -> list[dict]:
    if kind == ProposalKind.SOLIDARITY_RATE:
        low, high = rate_bounds()
        rates = []
        for rate in options:
            if not isinstance(rate, int) or not low <= rate <= high:
                raise ValidationError(
                    {
                        "options": _("Each rate must be between %(low)s %% and %(high)s %%.")
                        % {"low": f"{low / 100:.2f}", "high": f"{high / 100:.2f}"}
                    },
                    code="rate_bounds",
                )
            rates.append(rate)
        cleaned = [{"rate_bp": rate} for rate in rates]
        distinct = len(set(rates))
    elif kind == ProposalKind.GENERAL:
        labels = [str(label).strip()[:200] for label in options if str(label).strip()]
        cleaned = [{"label": label} for label in labels]
        distinct = len({label.casefold() for label in labels})
    else:
        raise ValidationError({"kind": _("Choose a kind of proposal.")}, code="kind")
    if distinct != len(cleaned) or len(cleaned) < 2:
        raise ValidationError(
            {"options": _("Give at least two different options.")}, code="options"
        )
    if len(cleaned) > MAX_OPTIONS:
        raise ValidationError(
            {"options": _("At most %(max)d options.") % {"max": MAX_OPTIONS}}, code="options"
        )
    return cleaned


def _check_no_overlapping_rate_vote(proposal: Proposal) -> None:
    """Two rate votes running at the same time could both decide: refuse to schedule one
    whose period overlaps another scheduled or open rate vote."""
    if proposal.kind != ProposalKind.SOLIDARITY_RATE:
        return
    overlapping = (
        Proposal.objects.filter(
            kind=ProposalKind.SOLIDARITY_RATE,
            status__in=[ProposalStatus.SCHEDULED, ProposalStatus.OPEN],
            opens_at__lt=proposal.closes_at,
            closes_at__gt=proposal.opens_at,
        )
        .exclude(pk=proposal.pk)
        .exists()
    )
    if overlapping:
        raise ValidationError(
            {
                "opens_at": _(
                    "Another vote on the solidarity rate runs during these dates: choose "
                    "dates after it closes."
                )
            },
            code="overlap",
        )


def proposal_create(*, author: User, data: ProposalInput) -> Proposal:
    """An admin's proposal is scheduled at once; a member's is a draft until enough other
    members sign it (the statutes' initiative, ``GOVERNANCE["INITIATIVE_SIGNATURES"]``)."""
    if is_moderator(author):
        status = ProposalStatus.SCHEDULED
    elif (
        author.is_authenticated
        and author.is_member
        and MemberProfile.objects.filter(user=author, membership_status=Membership.MEMBER).exists()
    ):
        status = ProposalStatus.DRAFT
    else:
        raise PermissionDenied(
            _("Only cooperative members and admins can put a question to a vote.")
        )
    question = (data.question or "").strip()
    if not question:
        raise ValidationError({"question": _("Write the question.")}, code="required")
    explanation = (data.explanation or "").strip()
    if not explanation:
        raise ValidationError({"explanation": _("Explain what is at stake.")}, code="required")
    _check_dates(data.opens_at, data.closes_at, now=timezone.now())
    _check_quorum(data.quorum_percent)
    options = _clean_options(data.kind, data.options)
    with transaction.atomic():
        proposal = Proposal(
            kind=data.kind,
            status=status,
            question=question[:300],
            explanation=explanation,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            quorum_percent=data.quorum_percent,
            created_by=author,
        )
        if status == ProposalStatus.SCHEDULED:
            _check_no_overlapping_rate_vote(proposal)
        proposal.save()
        ProposalOption.objects.bulk_create(
            ProposalOption(proposal=proposal, position=index, **option)
            for index, option in enumerate(options, start=1)
        )
    return proposal


def proposal_sign(*, proposal: Proposal, signer: User) -> ProposalSignature:
    """A member supports a draft; with enough signatures it is scheduled to open at its
    dates (or at the next periodic pass if its opening is already past)."""
    with transaction.atomic():
        proposal = lock_proposal(proposal.pk)
        if proposal.status != ProposalStatus.DRAFT:
            raise ValidationError(_("This proposal no longer collects signatures."), code="state")
        profile = MemberProfile.objects.filter(
            user=signer, membership_status=Membership.MEMBER
        ).first()
        if profile is None or not signer.is_member:
            raise PermissionDenied(_("Only cooperative members can sign a proposal."))
        if proposal.created_by_id == signer.pk:
            raise ValidationError(
                _("Other members must sign your proposal; your own signature does not count."),
                code="author",
            )
        try:
            with transaction.atomic():
                signature = ProposalSignature.objects.create(proposal=proposal, member=profile)
        except IntegrityError:
            raise ValidationError(_("You already signed this proposal."), code="signed") from None
        needed = governance_setting("INITIATIVE_SIGNATURES")
        signed = proposal.signatures.count()
        if signed >= needed and proposal.closes_at > timezone.now():
            try:
                _check_no_overlapping_rate_vote(proposal)
            except ValidationError:
                # Stays a draft with its signatures: an admin gives it other dates.
                if signed == needed:
                    _tell_admins(
                        proposal,
                        gettext_lazy(
                            "The members' proposal “%(question)s” has its %(count)s signatures "
                            "but overlaps another vote on the solidarity rate: give it new dates."
                        ),
                        count=signed,
                    )
            else:
                proposal.status = ProposalStatus.SCHEDULED
                proposal.save(update_fields=["status"])
                _tell_admins(
                    proposal,
                    gettext_lazy(
                        "The members' proposal “%(question)s” has its %(count)s signatures: it "
                        "is scheduled to open on %(opens)s."
                    ),
                    count=signed,
                )
        elif signed == needed:
            # Its closing time passed while it collected them.
            _tell_admins(
                proposal,
                gettext_lazy(
                    "The members' proposal “%(question)s” has its %(count)s signatures but its "
                    "voting period is over: give it new dates."
                ),
                count=signed,
            )
    return signature


def _tell_admins(proposal: Proposal, message, *, count: int) -> None:
    """Every active admin is told (in the app and by e-mail, in their own language)."""
    params = {"question": proposal.question, "count": count, "opens": _when(proposal.opens_at)}
    for admin in User.objects.filter(is_staff=True, is_active=True).order_by("pk"):
        notify(
            user=admin,
            message=message,
            params=params,
            url=_proposal_url(proposal),
            kind="governance",
        )


def proposal_schedule(
    *,
    proposal: Proposal,
    by: User,
    opens_at: datetime.datetime,
    closes_at: datetime.datetime,
    quorum_percent: int,
) -> Proposal:
    """An admin sets (or moves) the dates and quorum of a draft or scheduled proposal and
    schedules it."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only admins schedule votes."))
    _check_dates(opens_at, closes_at, now=timezone.now())
    _check_quorum(quorum_percent)
    with transaction.atomic():
        proposal = lock_proposal(proposal.pk)
        if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SCHEDULED):
            raise ValidationError(
                _("Only a proposal that has not opened yet can be scheduled."), code="state"
            )
        proposal.opens_at = opens_at
        proposal.closes_at = closes_at
        proposal.quorum_percent = quorum_percent
        _check_no_overlapping_rate_vote(proposal)
        proposal.status = ProposalStatus.SCHEDULED
        proposal.save(update_fields=["opens_at", "closes_at", "quorum_percent", "status"])
    return proposal


def proposal_cancel(*, proposal: Proposal, by: User) -> Proposal:
    if not is_moderator(by):
        raise PermissionDenied(_("Only admins cancel proposals."))
    with transaction.atomic():
        proposal = lock_proposal(proposal.pk)
        if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SCHEDULED):
            raise ValidationError(
                _("A vote that has opened cannot be cancelled: it runs to its close."),
                code="state",
            )
        proposal.status = ProposalStatus.CANCELLED
        proposal.save(update_fields=["status"])
    return proposal


def _proposal_url(proposal: Proposal) -> str:
    return reverse("governance:proposal_detail", args=[proposal.pk])


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def proposal_open(*, proposal_id: int, now: datetime.datetime | None = None) -> bool:
    """Open a scheduled proposal whose time has come: draw its secret and freeze the
    electoral roll (members on the opening's local date). Idempotent: False if it was not
    scheduled any more."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal_id)
        if proposal.status != ProposalStatus.SCHEDULED or proposal.opens_at > now:
            return False
        if proposal.closes_at <= now:
            return False  # missed its whole period: an admin reschedules or cancels it
        opening_day = local_date(proposal.opens_at)
        members = list(members_eligible_on(opening_day).select_related("user"))
        RollEntry.objects.bulk_create(
            RollEntry(proposal=proposal, member=member) for member in members
        )
        proposal.ballot_secret = secrets.token_hex(32)
        proposal.status = ProposalStatus.OPEN
        proposal.opened_at = now
        proposal.eligible_count = len(members)
        proposal.save(update_fields=["ballot_secret", "status", "opened_at", "eligible_count"])
        for member in members:
            notify(
                user=member.user,
                message=gettext_lazy(
                    "A vote is open: “%(question)s”. You can vote until %(closes)s."
                ),
                params={"question": proposal.question, "closes": _when(proposal.closes_at)},
                url=_proposal_url(proposal),
                kind="governance",
            )
    return True


def voter_key(proposal: Proposal, member_id: int) -> str:
    """HMAC of the member's id under the proposal's secret: the same member always gets the
    same key while the vote is open, and nobody can compute it once the secret is wiped."""
    if not proposal.ballot_secret:
        raise ValidationError(_("This vote is closed."), code="closed")
    message = f"{proposal.pk}:{member_id}".encode()
    return hmac.new(bytes.fromhex(proposal.ballot_secret), message, hashlib.sha256).hexdigest()


def ballot_cast(
    *, proposal: Proposal, voter: User, option_id: int, now: datetime.datetime | None = None
) -> RollEntry:
    """Cast or change a member's vote: under the proposal's and the roll entry's locks,
    write (or replace) the one ballot of this voter and mark the roll entry voted. Returns the
    roll entry, never the ballot: the caller has no business with the choice."""
    if not voter.is_authenticated or not voter.is_member:
        raise PermissionDenied(_("Only cooperative members vote."))
    profile_id = MemberProfile.objects.filter(user=voter).values_list("pk", flat=True).first()
    if profile_id is None:
        raise PermissionDenied(_("Only cooperative members vote."))
    with transaction.atomic():
        proposal = lock_proposal(proposal.pk)
        if proposal.status != ProposalStatus.OPEN or (now or timezone.now()) >= proposal.closes_at:
            raise ValidationError(_("This vote is not open."), code="not_open")
        try:
            entry = lock_roll_entry(proposal_id=proposal.pk, member_id=profile_id)
        except RollEntry.DoesNotExist:
            raise PermissionDenied(
                _(
                    "You are not on this vote's electoral roll: only people who were members "
                    "of the cooperative on its opening day (%(day)s) vote."
                )
                % {"day": local_date(proposal.opens_at).isoformat()}
            ) from None
        option = ProposalOption.objects.filter(proposal=proposal, pk=option_id).first()
        if option is None:
            raise ValidationError({"option": _("Choose one of the options.")}, code="option")
        key = voter_key(proposal, profile_id)
        updated = Ballot.objects.filter(proposal=proposal, voter_key=key).update(option=option)
        if not updated:
            Ballot.objects.create(proposal=proposal, voter_key=key, option=option)
        if not entry.has_voted:
            entry.has_voted = True
            entry.save(update_fields=["has_voted"])
    return entry


def quorum_votes_needed(*, eligible: int, quorum_percent: int) -> int:
    """Votes needed: the quorum percentage of the eligible members, rounded up, and at least
    one vote."""
    return max(1, -(-eligible * quorum_percent // 100))


def _decided_rate(proposal: Proposal, option: ProposalOption, now) -> SolidarityRate:
    """The decided rate, in force from the day after the close (Brussels), never earlier: a
    contract keeps the rate of its first funding, so only contracts first funded from then on
    get it. Should that day already carry a rate, the next free day is taken."""
    effective = local_date(now) + datetime.timedelta(days=1)
    taken = set(
        SolidarityRate.objects.filter(effective_from__gte=effective).values_list(
            "effective_from", flat=True
        )
    )
    while effective in taken:
        effective += datetime.timedelta(days=1)
    return SolidarityRate.objects.create(
        rate_bp=option.rate_bp,
        effective_from=effective,
        source=f"Vote #{proposal.pk}: {proposal.question}"[:200],
    )


def proposal_close(*, proposal_id: int, now: datetime.datetime | None = None) -> bool:
    """Close an open proposal past its closing time: count the ballots per option, record
    eligible members, turnout, quorum and outcome as the permanent record, wipe the secret,
    put a decided rate in force from the next day, tell the members. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = lock_proposal(proposal_id)
        if proposal.status != ProposalStatus.OPEN or proposal.closes_at > now:
            return False
        options = list(proposal.options.order_by("position"))
        counts = dict(
            Ballot.objects.filter(proposal=proposal)
            .values("option")
            .annotate(n=Count("pk"))
            .values_list("option", "n")
        )
        for option in options:
            option.vote_count = counts.get(option.pk, 0)
        ProposalOption.objects.bulk_update(options, ["vote_count"])
        roll = RollEntry.objects.filter(proposal=proposal).aggregate(
            eligible=Count("pk"), voted=Count("pk", filter=Q(has_voted=True))
        )
        turnout = sum(counts.values())
        needed = quorum_votes_needed(
            eligible=roll["eligible"], quorum_percent=proposal.quorum_percent
        )
        proposal.eligible_count = roll["eligible"]
        proposal.turnout_count = turnout
        proposal.quorum_votes = needed
        proposal.quorum_reached = turnout >= needed
        top = max((option.vote_count for option in options), default=0)
        leaders = [option for option in options if option.vote_count == top]
        if not proposal.quorum_reached:
            proposal.outcome = ProposalOutcome.NO_QUORUM
        elif len(leaders) != 1:
            proposal.outcome = ProposalOutcome.TIE
        else:
            proposal.outcome = ProposalOutcome.DECIDED
            proposal.winning_option = leaders[0]
            if proposal.is_rate:
                proposal.decided_rate = _decided_rate(proposal, leaders[0], now)
        proposal.ballot_secret = ""
        proposal.status = ProposalStatus.CLOSED
        proposal.closed_at = now
        proposal.save()
        members = (
            MemberProfile.objects.filter(
                pk__in=RollEntry.objects.filter(proposal=proposal).values("member")
            )
            .select_related("user")
            .order_by("pk")
        )
        for member in members:
            notify(
                user=member.user,
                message=gettext_lazy("The result of the vote “%(question)s” is published."),
                params={"question": proposal.question},
                url=_proposal_url(proposal),
                kind="governance",
            )
    return True


def proposals_open_due(now: datetime.datetime | None = None) -> int:
    """One periodic pass: open every scheduled proposal whose opening time has come."""
    now = now or timezone.now()
    return sum(proposal_open(proposal_id=pk, now=now) for pk in proposals_due_to_open(now))


def proposals_close_due(now: datetime.datetime | None = None) -> int:
    """One periodic pass: close every open proposal whose closing time has passed."""
    now = now or timezone.now()
    return sum(proposal_close(proposal_id=pk, now=now) for pk in proposals_due_to_close(now))
