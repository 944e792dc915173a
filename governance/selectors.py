"""Reads of the governance app: the member register, eligibility, proposals and results.

Nothing here ever joins a ballot to a member: ballots are only ever counted per option."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import (
    MembershipChange,
    Proposal,
    ProposalOption,
    ProposalSignature,
    ProposalStatus,
    RollEntry,
    ShareMovement,
)
from marketplace.access import is_moderator
from marketplace.models import MemberProfile, User

Membership = MemberProfile.Membership


def governance_setting(name: str):
    return settings.GOVERNANCE[name]


def share_value_cents() -> int:
    return governance_setting("SHARE_VALUE_CENTS")


def local_date(moment: datetime.datetime) -> datetime.date:
    """The cooperative's calendar day (Europe/Brussels) of a moment."""
    return timezone.localtime(moment).date()


# --- Register -----------------------------------------------------------------------------


def _status_on(day: datetime.date):
    return Subquery(
        MembershipChange.objects.filter(member=OuterRef("pk"), effective_on__lte=day)
        .order_by("-effective_on", "-pk")
        .values("status")[:1]
    )


def members_eligible_on(day: datetime.date) -> QuerySet[MemberProfile]:
    """Profiles whose status in the register on ``day`` is "member". A profile with no
    register history yet (created after the register's data migration, never changed through
    the register) counts with its current status since ``membership_since``."""
    return (
        MemberProfile.objects.annotate(
            status_then=_status_on(day),
            in_register=Exists(MembershipChange.objects.filter(member=OuterRef("pk"))),
        )
        .filter(
            Q(status_then=Membership.MEMBER)
            | Q(
                in_register=False,
                membership_status=Membership.MEMBER,
                membership_since__lte=day,
            )
        )
        .order_by("pk")
    )


def _joining_date():
    return Subquery(
        MembershipChange.objects.filter(member=OuterRef("pk"), status=Membership.MEMBER)
        .values("member")
        .annotate(first=Min("effective_on"))
        .values("first")[:1]
    )


def _shares_held():
    return Coalesce(
        Subquery(
            ShareMovement.objects.filter(member=OuterRef("pk"))
            .values("member")
            .annotate(total=Sum("shares"))
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def register_members(*, status: str = "", query: str = "") -> QuerySet[MemberProfile]:
    """The register: every member profile with its joining date and the shares it holds."""
    members = (
        MemberProfile.objects.select_related("user")
        .annotate(joined_on=_joining_date(), shares_held=_shares_held())
        .order_by("display_name", "pk")
    )
    if status in Membership.values:
        members = members.filter(membership_status=status)
    if query:
        members = members.filter(
            Q(display_name__icontains=query)
            | Q(user__full_name__icontains=query)
            | Q(user__email__icontains=query)
        )
    return members


def register_shares_total(members: QuerySet[MemberProfile]) -> int:
    """The shares held by these members together (one aggregate, whatever their number)."""
    total = ShareMovement.objects.filter(member__in=members.order_by().values("pk")).aggregate(
        total=Sum("shares")
    )["total"]
    return total or 0


def register_members_with_history(**filters) -> QuerySet[MemberProfile]:
    """The register for the general assembly's export, with each status history."""
    return register_members(**filters).prefetch_related(
        Prefetch(
            "membership_changes", queryset=MembershipChange.objects.order_by("effective_on", "pk")
        )
    )


@dataclass
class RegisterEntry:
    member: MemberProfile
    joined_on: datetime.date | None
    shares_held: int
    share_value_cents: int
    changes: list
    movements: list

    @property
    def shares_value_cents(self) -> int:
        return self.shares_held * self.share_value_cents


def register_entry(member: MemberProfile) -> RegisterEntry:
    changes = list(
        MembershipChange.objects.filter(member=member)
        .select_related("recorded_by")
        .order_by("effective_on", "pk")
    )
    movements = list(
        ShareMovement.objects.filter(member=member)
        .select_related("recorded_by")
        .order_by("effective_on", "pk")
    )
    joined = [change.effective_on for change in changes if change.status == Membership.MEMBER]
    return RegisterEntry(
        member=member,
        joined_on=min(joined) if joined else None,
        shares_held=sum(movement.shares for movement in movements),
        share_value_cents=share_value_cents(),
        changes=changes,
        movements=movements,
    )


def member_shares_held(member: MemberProfile) -> int:
    return ShareMovement.objects.filter(member=member).aggregate(total=Sum("shares"))["total"] or 0


# --- Proposals ----------------------------------------------------------------------------


def _options() -> Prefetch:
    return Prefetch("options", queryset=ProposalOption.objects.order_by("position"))


def decisions() -> QuerySet[Proposal]:
    """Closed proposals, newest first, with their counts: the public record."""
    return (
        Proposal.objects.filter(status=ProposalStatus.CLOSED)
        .select_related("winning_option", "decided_rate")
        .prefetch_related(_options())
        .order_by("-closed_at", "-pk")
    )


@dataclass
class ProposalLists:
    open: list
    scheduled: list
    drafts: list
    cancelled: list


def proposals_for(viewer: User) -> ProposalLists:
    """Open, scheduled and draft proposals (and, for admins, cancelled ones), each marked
    with whether the viewer voted on it or signed it."""
    profile_id = (
        MemberProfile.objects.filter(user=viewer).values_list("pk", flat=True).first()
        if viewer.is_member
        else None
    )
    statuses = [ProposalStatus.OPEN, ProposalStatus.SCHEDULED, ProposalStatus.DRAFT]
    if is_moderator(viewer):
        statuses.append(ProposalStatus.CANCELLED)
    proposals = (
        Proposal.objects.filter(status__in=statuses)
        .prefetch_related(_options())
        .annotate(
            signature_count=Count("signatures", distinct=True),
            viewer_on_roll=Exists(
                RollEntry.objects.filter(proposal=OuterRef("pk"), member_id=profile_id)
            ),
            viewer_voted=Exists(
                RollEntry.objects.filter(
                    proposal=OuterRef("pk"), member_id=profile_id, has_voted=True
                )
            ),
            viewer_signed=Exists(
                ProposalSignature.objects.filter(proposal=OuterRef("pk"), member_id=profile_id)
            ),
        )
        .order_by("closes_at", "pk")
    )
    lists = ProposalLists(open=[], scheduled=[], drafts=[], cancelled=[])
    by_status = {
        ProposalStatus.OPEN: lists.open,
        ProposalStatus.SCHEDULED: lists.scheduled,
        ProposalStatus.DRAFT: lists.drafts,
        ProposalStatus.CANCELLED: lists.cancelled,
    }
    for proposal in proposals:
        by_status[proposal.status].append(proposal)
    return lists


@dataclass
class ProposalPage:
    proposal: Proposal
    options: list
    roll_entry: RollEntry | None
    signature_count: int
    signatures_needed: int
    viewer_signed: bool
    is_author: bool

    @property
    def voting_now(self) -> bool:
        return (
            self.proposal.status == ProposalStatus.OPEN and timezone.now() < self.proposal.closes_at
        )


def proposal_page(*, proposal: Proposal, viewer: User) -> ProposalPage:
    profile = (
        MemberProfile.objects.filter(user=viewer).first()
        if viewer.is_authenticated and viewer.is_member
        else None
    )
    roll_entry = (
        RollEntry.objects.filter(proposal=proposal, member=profile).first() if profile else None
    )
    return ProposalPage(
        proposal=proposal,
        options=list(proposal.options.order_by("position")),
        roll_entry=roll_entry,
        signature_count=proposal.signatures.count(),
        signatures_needed=governance_setting("INITIATIVE_SIGNATURES"),
        viewer_signed=bool(profile)
        and ProposalSignature.objects.filter(proposal=proposal, member=profile).exists(),
        is_author=viewer.is_authenticated and proposal.created_by_id == viewer.pk,
    )


def vote_refusal(*, proposal: Proposal, viewer: User, page: ProposalPage) -> str | None:
    """Why the viewer cannot vote on this proposal now, in plain words (None: they can).
    governance.services.ballot_cast checks it all again under the locks."""
    if not page.voting_now:
        return _("This vote is not open.")
    if not viewer.is_authenticated or not viewer.is_member:
        return _("Only cooperative members vote.")
    if page.roll_entry is None:
        return _(
            "You are not on this vote's electoral roll: only people who were members of the "
            "cooperative on its opening day (%(day)s) vote."
        ) % {"day": local_date(proposal.opens_at).isoformat()}
    return None


def proposals_due_to_open(now: datetime.datetime) -> list[int]:
    return list(
        Proposal.objects.filter(
            status=ProposalStatus.SCHEDULED, opens_at__lte=now, closes_at__gt=now
        )
        .order_by("opens_at", "pk")
        .values_list("pk", flat=True)
    )


def proposals_due_to_close(now: datetime.datetime) -> list[int]:
    return list(
        Proposal.objects.filter(status=ProposalStatus.OPEN, closes_at__lte=now)
        .order_by("closes_at", "pk")
        .values_list("pk", flat=True)
    )
