"""Reads of disputes: who may arbitrate, the staff queue by deadline, the statistics, what the
dispute page and the contract page's dispute panel show."""

import datetime
import statistics
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, Q, When
from django.utils import timezone

from marketplace.access import is_moderator
from marketplace.models import (
    Bid,
    BidMessage,
    Contract,
    ContractEvent,
    Delivery,
    Dispute,
    DisputeDecision,
    DisputeEvent,
    DisputeEvidence,
    DisputeProposal,
    DisputeSide,
    DisputeStatus,
    Milestone,
    MilestoneStatus,
    ProposalStatus,
    User,
)

S = MilestoneStatus
# A dispute may be opened while the client's money is held and the work is not yet approved.
DISPUTABLE = frozenset({S.FUNDED, S.IN_PROGRESS, S.SUBMITTED})


def dispute_side_of(contract: Contract, user: User) -> str | None:
    """Which side of the contract this user is on, or None for anybody else."""
    if not user.is_authenticated:
        return None
    if contract.client_id == user.pk:
        return DisputeSide.CLIENT
    if contract.member.user_id == user.pk:
        return DisputeSide.MEMBER
    return None


def dispute_conflicted_user_ids(contract: Contract) -> set[int]:
    """People who took part in the job and so may not arbitrate it: its client, its member and
    every member who bid on it."""
    bidders = Bid.objects.filter(job_id=contract.job_id).values_list("member__user_id", flat=True)
    return {contract.client_id, contract.member.user_id, *bidders}


def dispute_may_arbitrate(*, dispute: Dispute, user: User) -> bool:
    return is_moderator(user) and user.pk not in dispute_conflicted_user_ids(dispute.contract)


def dispute_arbiters(dispute: Dispute) -> list[User]:
    """The admins who may decide this dispute (told when a deadline passes)."""
    return list(
        User.objects.filter(is_staff=True, is_active=True)
        .exclude(pk__in=dispute_conflicted_user_ids(dispute.contract))
        .order_by("pk")
    )


def dispute_next_deadline(dispute: Dispute) -> datetime.datetime:
    """The answer's deadline while nobody answered, then the evidence deadline."""
    if dispute.answered_at is None and dispute.answer_due_at < dispute.evidence_due_at:
        return dispute.answer_due_at
    return dispute.evidence_due_at


def disputes_queue() -> list[Dispute]:
    """Open disputes, the nearest deadline first (for admins)."""
    return list(
        Dispute.objects.filter(status=DisputeStatus.OPEN)
        .select_related("contract__job", "contract__client", "contract__member", "milestone")
        .annotate(
            next_deadline=Case(
                When(answered_at__isnull=True, then=F("answer_due_at")),
                default=F("evidence_due_at"),
            )
        )
        .order_by("next_deadline", "pk")
    )


@dataclass(frozen=True)
class DisputeStats:
    total: int
    open: int
    settled: int
    decided: int
    corrected: int
    outcomes: dict[str, int]
    median_days: float | None
    settled_share: float | None  # of the closed disputes, the share settled by agreement


def dispute_stats() -> DisputeStats:
    """How many disputes, how they ended, how long they took (for admins). Disputes never
    feed reviews or matching: being in one costs nobody reputation."""
    counts = dict(
        Dispute.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    outcomes = dict(
        DisputeDecision.objects.filter(corrected_by__isnull=True)
        .values("outcome")
        .annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    corrected = DisputeDecision.objects.filter(corrects__isnull=False).count()
    durations = [
        (closed - opened).total_seconds() / 86400
        for opened, closed in Dispute.objects.filter(closed_at__isnull=False).values_list(
            "opened_at", "closed_at"
        )
    ]
    settled = counts.get(DisputeStatus.SETTLED, 0)
    decided = counts.get(DisputeStatus.DECIDED, 0)
    return DisputeStats(
        total=sum(counts.values()),
        open=counts.get(DisputeStatus.OPEN, 0),
        settled=settled,
        decided=decided,
        corrected=corrected,
        outcomes=outcomes,
        median_days=round(statistics.median(durations), 1) if durations else None,
        settled_share=round(settled / (settled + decided), 3) if settled + decided else None,
    )


@dataclass
class DisputePage:
    """Everything the dispute page shows, fetched in a fixed number of queries."""

    dispute: Dispute
    side: str | None
    is_staff_viewer: bool
    may_arbitrate: bool
    events: list[DisputeEvent]
    evidence: list[DisputeEvidence]
    proposals: list[DisputeProposal]
    open_proposals: dict[str, DisputeProposal]
    decisions: list[DisputeDecision]
    deliveries: list[Delivery]
    messages: list[BidMessage]
    contract_events: list[ContractEvent]
    now: datetime.datetime
    flags: dict[str, bool] = field(default_factory=dict)

    @property
    def acceptable_proposal(self) -> DisputeProposal | None:
        """The other side's open proposal, which this viewer may accept."""
        if not self.dispute.is_open or self.side is None:
            return None
        other = DisputeSide.MEMBER if self.side == DisputeSide.CLIENT else DisputeSide.CLIENT
        return self.open_proposals.get(other)

    @property
    def latest_decision(self) -> DisputeDecision | None:
        return self.decisions[-1] if self.decisions else None


def dispute_page(*, dispute: Dispute, viewer: User, now: datetime.datetime | None = None):
    """The dispute as the viewer (a side or an admin, already checked by access_dispute)
    sees it: the history, the evidence, both proposals, the decisions, and the contract's
    own record (its messages, the deliveries of the milestone, the contract's timeline)."""
    now = now or timezone.now()
    contract = dispute.contract
    side = dispute_side_of(contract, viewer)
    staff = is_moderator(viewer)
    proposals = list(dispute.proposals.select_related("proposed_by"))
    for proposal in proposals:
        proposal.client_cents = dispute.frozen_cents - proposal.member_cents
    decisions = list(dispute.decisions.select_related("decided_by", "corrects"))
    page = DisputePage(
        dispute=dispute,
        side=side,
        is_staff_viewer=staff,
        may_arbitrate=staff and viewer.pk not in dispute_conflicted_user_ids(contract),
        events=list(dispute.events.select_related("actor")),
        evidence=list(dispute.evidence.select_related("author").prefetch_related("files")),
        proposals=proposals,
        open_proposals={p.side: p for p in proposals if p.status == ProposalStatus.OPEN},
        decisions=decisions,
        deliveries=list(
            Delivery.objects.filter(milestone_id=dispute.milestone_id).prefetch_related("files")
        ),
        messages=list(BidMessage.objects.filter(bid_id=contract.bid_id).select_related("sender")),
        contract_events=list(contract.events.select_related("actor", "milestone")),
        now=now,
    )
    is_open = dispute.is_open
    page.flags = {
        "can_answer": is_open
        and side == dispute.respondent_side
        and dispute.answered_at is None
        and now <= dispute.answer_due_at,
        "can_add_evidence": is_open and side is not None and now <= dispute.evidence_due_at,
        "can_propose": is_open and side is not None,
        "can_decide": is_open
        and page.may_arbitrate
        and (dispute.answered_at is not None or now >= dispute.answer_due_at),
        "waits_for_answer": is_open and dispute.answered_at is None and now < dispute.answer_due_at,
    }
    latest = page.latest_decision
    deciders = {d.decided_by_id for d in decisions}
    page.flags["can_correct"] = (
        latest is not None and page.may_arbitrate and viewer.pk not in deciders
    )
    return page


@dataclass
class DisputePanel:
    """The contract page's dispute section: the contract's disputes and, for its two sides,
    the milestones they may dispute."""

    disputes: list[Dispute]
    disputable: list[Milestone]


def dispute_panel_for(*, contract: Contract, viewer: User, milestones: list[Milestone]):
    """Milestones come from the contract page (already fetched): one query for the disputes."""
    disputes = list(
        Dispute.objects.filter(contract=contract)
        .select_related("milestone")
        .order_by("-opened_at", "-pk")
    )
    side = dispute_side_of(contract, viewer)
    disputable = (
        [m for m in milestones if m.status in DISPUTABLE]
        if side is not None and contract.status == "active"
        else []
    )
    return DisputePanel(disputes=disputes, disputable=disputable)


def dispute_open_for_milestone(milestone: Milestone) -> Dispute | None:
    return Dispute.objects.filter(milestone=milestone, status=DisputeStatus.OPEN).first()


def disputes_overdue(now: datetime.datetime) -> tuple[list[int], list[int]]:
    """Ids of open disputes whose answer deadline passed unanswered, and of those whose
    evidence deadline passed, that admins were not yet told about."""
    open_disputes = Dispute.objects.filter(status=DisputeStatus.OPEN).order_by("pk")
    unanswered = open_disputes.filter(
        Q(answered_at__isnull=True),
        answer_due_at__lte=now,
        answer_overdue_prompted_at__isnull=True,
    )
    evidence_over = open_disputes.filter(
        evidence_due_at__lte=now, evidence_closed_prompted_at__isnull=True
    )
    return (
        list(unanswered.values_list("pk", flat=True)),
        list(evidence_over.values_list("pk", flat=True)),
    )
