"""Writes of disputes: open, answer, add evidence, propose and accept a settlement, decide,
correct a decision, and the periodic prompt of admins.

Every step takes the row locks in one fixed order — the contract, the milestone
(marketplace.locks.lock_milestone), then the dispute — inside one transaction, writes a
DisputeEvent, and notifies after commit (marketplace.services.notifications.notify).

Money moves only through the payments services: an agreement or a decision is one
payments.services.funds.milestone_settle (one balanced ledger transaction: the member's part
released with the solidarity share on that part only, the client's part and its VAT owed back
as a pending refund with its credit note). A correction posts the *difference* between two
splits as one balanced ledger_post, plus a refund and credit note for what the client gains.

Corrections can only give the client more back (see ``dispute_correct``): the refund already
promised to a client and its credit note cannot be taken back by the app. Nothing is ever
decided automatically: when deadlines pass, admins are told (``disputes_prompt_overdue``)."""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import milestone_states
from marketplace.access import is_moderator
from marketplace.locks import lock_milestone
from marketplace.models import (
    ContractEvent,
    ContractStatus,
    DecisionOutcome,
    Dispute,
    DisputeDecision,
    DisputeEvent,
    DisputeEvidence,
    DisputeEvidenceFile,
    DisputeProposal,
    DisputeReason,
    DisputeSide,
    DisputeStatus,
    Milestone,
    MilestoneStatus,
    ProposalStatus,
    User,
)
from marketplace.selectors.disputes import (
    DISPUTABLE,
    dispute_arbiters,
    dispute_conflicted_user_ids,
    dispute_side_of,
    disputes_overdue,
)
from marketplace.services.notifications import notify
from marketplace.submissions import check_submission
from marketplace.templatetags.money import euros

S = MilestoneStatus
MAX_TEXT_LENGTH = 5000
MAX_REASONING_LENGTH = 10000
MAX_EVIDENCE_FILES = 10
MAX_EVIDENCE_LINKS = 10


def answer_days() -> int:
    return getattr(settings, "DISPUTE_ANSWER_DAYS", 7)


def evidence_days() -> int:
    return max(getattr(settings, "DISPUTE_EVIDENCE_DAYS", 14), answer_days())


def _dispute_url(dispute: Dispute) -> str:
    return reverse("dispute_detail", args=[dispute.pk])


def _date(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def _lock_dispute(dispute_id: int) -> Dispute:
    """Lock the contract, the milestone, then the dispute (the fixed order) and return the
    dispute with its milestone and contract attached."""
    milestone_id = Dispute.objects.values_list("milestone_id", flat=True).get(pk=dispute_id)
    milestone = lock_milestone(milestone_id)
    dispute = Dispute.objects.select_for_update(of=("self",)).get(pk=dispute_id)
    dispute.milestone = milestone
    dispute.contract = milestone.contract
    return dispute


def _event(dispute: Dispute, kind: str, *, actor: User | None, note: str = "", now=None):
    return DisputeEvent.objects.create(
        dispute=dispute, actor=actor, kind=kind, note=note, created_at=now or timezone.now()
    )


def _check_open(dispute: Dispute) -> None:
    if dispute.status != DisputeStatus.OPEN:
        raise ValidationError(_("This dispute has already ended."), code="closed")


def _party_side(dispute: Dispute, user: User) -> str:
    side = dispute_side_of(dispute.contract, user)
    if side is None:
        raise PermissionDenied(_("Only the client and the member of this contract can do this."))
    return side


def _user_of(dispute: Dispute, side: str) -> User:
    contract = dispute.contract
    return contract.client if side == DisputeSide.CLIENT else contract.member.user


def _other(side: str) -> str:
    return DisputeSide.MEMBER if side == DisputeSide.CLIENT else DisputeSide.CLIENT


def _check_member_amount(cents, frozen: int, *, field: str) -> int:
    if not isinstance(cents, int) or isinstance(cents, bool) or not 0 <= cents <= frozen:
        raise ValidationError(
            {
                field: _("Choose an amount between 0 € and %(frozen)s, the amount at stake.")
                % {"frozen": euros(frozen)}
            },
            code="amount",
        )
    return cents


def _check_text(text: str, *, field: str, empty_message: str, limit: int = MAX_TEXT_LENGTH):
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: empty_message}, code="required")
    if len(text) > limit:
        raise ValidationError(
            {field: _("At most %(max)d characters.") % {"max": limit}}, code="too_long"
        )
    return text


def _new_proposal(
    dispute: Dispute, *, by: User, side: str, member_cents: int, note: str, now
) -> DisputeProposal:
    """A side's new proposal replaces its previous open one."""
    dispute.proposals.filter(side=side, status=ProposalStatus.OPEN).update(
        status=ProposalStatus.SUPERSEDED, answered_at=now
    )
    return DisputeProposal.objects.create(
        dispute=dispute,
        proposed_by=by,
        side=side,
        member_cents=member_cents,
        note=note,
        created_at=now,
    )


def _close(dispute: Dispute, status: str, *, now) -> None:
    dispute.proposals.filter(status=ProposalStatus.OPEN).update(
        status=ProposalStatus.LAPSED, answered_at=now
    )
    dispute.status = status
    dispute.closed_at = now
    dispute.save(update_fields=["status", "closed_at"])


def _settle(dispute: Dispute, *, member_cents: int, by: User, key: str, reason: str):
    """Move the frozen money: the member's part released, the rest owed back to the client.
    The milestone ends approved (then released) when the member receives everything, else
    cancelled. Expects the dispute's locks."""
    from payments.services.funds import milestone_settle

    return milestone_settle(
        milestone=dispute.milestone,
        member_cents=member_cents,
        by=by,
        key=key,
        reason=reason,
        to_status=S.APPROVED if member_cents == dispute.frozen_cents else S.CANCELLED,
    )


def dispute_open(
    *,
    milestone: Milestone,
    by: User,
    reason: str,
    account: str,
    member_cents: int,
    now: datetime.datetime | None = None,
) -> Dispute:
    """The client or the member opens a dispute about a paid, not yet approved milestone, with
    a reason, their account and the amount they find fair for the member (their first
    proposal). The milestone becomes "disputed": its money is frozen — no release, no refund,
    no automatic approval — until the dispute ends. The other side is told, with its deadline."""
    now = now or timezone.now()
    if reason not in DisputeReason.values:
        raise ValidationError({"reason": _("Choose a reason.")}, code="reason")
    account = _check_text(
        account, field="account", empty_message=_("Tell the cooperative what happened.")
    )
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        contract = milestone.contract
        side = dispute_side_of(contract, by)
        if side is None:
            raise PermissionDenied(
                _("Only the client and the member of this contract can open a dispute.")
            )
        if contract.status != ContractStatus.ACTIVE:
            raise ValidationError(_("This contract is closed."), code="closed")
        if milestone.status == S.DISPUTED:
            raise ValidationError(
                _("A dispute about this milestone is already open."), code="already_disputed"
            )
        if milestone.status not in DISPUTABLE:
            raise ValidationError(
                _(
                    "Only a paid milestone that is not yet approved can be disputed (this one "
                    "is “%(status)s”)."
                )
                % {"status": MilestoneStatus(milestone.status).label},
                code="not_disputable",
            )
        member_cents = _check_member_amount(
            member_cents, milestone.amount_cents, field="member_amount"
        )
        status_before = milestone.status
        milestone_states.transition(milestone, S.DISPUTED, now=now)
        milestone.save(update_fields=["status"])
        dispute = Dispute.objects.create(
            contract=contract,
            milestone=milestone,
            opened_by=by,
            opened_by_side=side,
            reason=reason,
            account=account,
            opener_member_cents=member_cents,
            frozen_cents=milestone.amount_cents,
            milestone_status_before=status_before,
            opened_at=now,
            answer_due_at=now + datetime.timedelta(days=answer_days()),
            evidence_due_at=now + datetime.timedelta(days=evidence_days()),
        )
        ContractEvent.objects.create(
            contract=contract,
            milestone=milestone,
            actor=by,
            kind="disputed",
            note=str(DisputeReason(reason).label),
        )
        _new_proposal(dispute, by=by, side=side, member_cents=member_cents, note="", now=now)
        _event(dispute, "opened", actor=by, note=str(DisputeReason(reason).label), now=now)
        notify(
            user=_user_of(dispute, _other(side)),
            message=gettext_lazy(
                "A dispute was opened about “%(milestone)s”: its payment is frozen until it "
                "ends. Give your account and your proposal by %(date)s."
            ),
            params={"milestone": milestone.title, "date": _date(dispute.answer_due_at)},
            url=_dispute_url(dispute),
        )
    return dispute


def dispute_answer(
    *,
    dispute: Dispute,
    by: User,
    answer: str,
    member_cents: int,
    now: datetime.datetime | None = None,
) -> Dispute:
    """The other side answers with its account and the amount it finds fair (its proposal),
    within DISPUTE_ANSWER_DAYS. After that it can still add evidence and make proposals."""
    now = now or timezone.now()
    answer = _check_text(
        answer, field="answer", empty_message=_("Give your account of what happened.")
    )
    with transaction.atomic():
        dispute = _lock_dispute(dispute.pk)
        _check_open(dispute)
        side = _party_side(dispute, by)
        if side != dispute.respondent_side:
            raise PermissionDenied(_("The side that opened the dispute does not answer it."))
        if dispute.answered_at is not None:
            raise ValidationError(_("This dispute is already answered."), code="answered")
        if now > dispute.answer_due_at:
            raise ValidationError(
                _(
                    "The time to answer ended on %(date)s. You can still add evidence until "
                    "%(evidence)s and propose a settlement."
                )
                % {
                    "date": _date(dispute.answer_due_at),
                    "evidence": _date(dispute.evidence_due_at),
                },
                code="answer_late",
            )
        member_cents = _check_member_amount(
            member_cents, dispute.frozen_cents, field="member_amount"
        )
        dispute.answer = answer
        dispute.answered_by = by
        dispute.answered_at = now
        dispute.respondent_member_cents = member_cents
        dispute.save(
            update_fields=["answer", "answered_by", "answered_at", "respondent_member_cents"]
        )
        _new_proposal(dispute, by=by, side=side, member_cents=member_cents, note="", now=now)
        _event(dispute, "answered", actor=by, now=now)
        notify(
            user=dispute.opened_by,
            message=gettext_lazy("The other side answered the dispute about “%(milestone)s”."),
            params={"milestone": dispute.milestone.title},
            url=_dispute_url(dispute),
        )
    return dispute


def _check_evidence(text: str, links: list[str], files: list[UploadedFile]) -> list:
    return check_submission(
        text_field="text",
        text=text,
        empty_message=_("Explain what this evidence shows."),
        links=links,
        files=files,
        max_text=MAX_TEXT_LENGTH,
        max_links=MAX_EVIDENCE_LINKS,
        max_files=MAX_EVIDENCE_FILES,
    )


def dispute_add_evidence(
    *,
    dispute: Dispute,
    by: User,
    text: str,
    links: list[str] | None = None,
    files: list[UploadedFile] | None = None,
    now: datetime.datetime | None = None,
) -> DisputeEvidence:
    """Either side adds an explanation with links and files (PDF, PNG, JPEG judged by content,
    5 MB each) until the evidence deadline."""
    now = now or timezone.now()
    links, files = list(links or []), list(files or [])
    # Files are read and hashed before any lock is taken.
    checked = _check_evidence(text, links, files)
    stored: list[DisputeEvidenceFile] = []
    try:
        with transaction.atomic():
            dispute = _lock_dispute(dispute.pk)
            _check_open(dispute)
            side = _party_side(dispute, by)
            if now > dispute.evidence_due_at:
                raise ValidationError(
                    _("Evidence was accepted until %(date)s.")
                    % {"date": _date(dispute.evidence_due_at)},
                    code="evidence_late",
                )
            item = DisputeEvidence.objects.create(
                dispute=dispute,
                author=by,
                side=side,
                text=text.strip(),
                links=links,
                created_at=now,
            )
            for upload, info in checked:
                stored.append(DisputeEvidenceFile(evidence=item).store(upload, info))
            _event(dispute, "evidence_added", actor=by, now=now)
            notify(
                user=_user_of(dispute, _other(side)),
                message=gettext_lazy(
                    "New evidence was added to the dispute about “%(milestone)s”."
                ),
                params={"milestone": dispute.milestone.title},
                url=_dispute_url(dispute),
            )
    except Exception:
        # The rows are rolled back; the files written to storage must go too.
        for stored_file in stored:
            stored_file.file.delete(save=False)
        raise
    return item


def dispute_propose(
    *,
    dispute: Dispute,
    by: User,
    member_cents: int,
    note: str = "",
    now: datetime.datetime | None = None,
) -> DisputeProposal:
    """Either side proposes a settlement at any time while the dispute is open: this much to
    the member, the rest back to the client. It replaces that side's previous proposal."""
    now = now or timezone.now()
    note = (note or "").strip()[:2000]
    with transaction.atomic():
        dispute = _lock_dispute(dispute.pk)
        _check_open(dispute)
        side = _party_side(dispute, by)
        member_cents = _check_member_amount(
            member_cents, dispute.frozen_cents, field="member_amount"
        )
        proposal = _new_proposal(
            dispute, by=by, side=side, member_cents=member_cents, note=note, now=now
        )
        _event(
            dispute,
            "proposed",
            actor=by,
            note=f"{euros(member_cents)} / {euros(dispute.frozen_cents - member_cents)}",
            now=now,
        )
        notify(
            user=_user_of(dispute, _other(side)),
            message=gettext_lazy(
                "New settlement proposal for “%(milestone)s”: %(member)s to the member, "
                "%(client)s back to the client."
            ),
            params={
                "milestone": dispute.milestone.title,
                "member": euros(member_cents),
                "client": euros(dispute.frozen_cents - member_cents),
            },
            url=_dispute_url(dispute),
        )
    return proposal


def dispute_accept_proposal(
    *, proposal: DisputeProposal, by: User, now: datetime.datetime | None = None
) -> Dispute:
    """The other side accepts an open proposal: the dispute is settled with that split, and
    the money moves in the same transaction."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        dispute = _lock_dispute(proposal.dispute_id)
        _check_open(dispute)
        proposal = DisputeProposal.objects.select_for_update(of=("self",)).get(pk=proposal.pk)
        side = _party_side(dispute, by)
        if proposal.status != ProposalStatus.OPEN:
            raise ValidationError(
                _("This proposal is no longer on the table."), code="proposal_closed"
            )
        if proposal.side == side:
            raise PermissionDenied(_("The other side accepts a proposal, not its author."))
        proposal.status = ProposalStatus.ACCEPTED
        proposal.answered_at = now
        proposal.save(update_fields=["status", "answered_at"])
        _close(dispute, DisputeStatus.SETTLED, now=now)
        _settle(
            dispute,
            member_cents=proposal.member_cents,
            by=by,
            key=f"dispute-{dispute.pk}-agreement-{proposal.pk}",
            reason=_("Dispute #%(number)s settled by agreement") % {"number": dispute.pk},
        )
        _event(
            dispute,
            "settled",
            actor=by,
            note=f"{euros(proposal.member_cents)} / "
            f"{euros(dispute.frozen_cents - proposal.member_cents)}",
            now=now,
        )
        for user in (dispute.contract.client, dispute.contract.member.user):
            notify(
                user=user,
                message=gettext_lazy(
                    "The dispute about “%(milestone)s” is settled by agreement: %(member)s to "
                    "the member, %(client)s back to the client."
                ),
                params={
                    "milestone": dispute.milestone.title,
                    "member": euros(proposal.member_cents),
                    "client": euros(dispute.frozen_cents - proposal.member_cents),
                },
                url=_dispute_url(dispute),
            )
    return dispute


def _check_arbiter(dispute: Dispute, admin: User) -> None:
    if not is_moderator(admin):
        raise PermissionDenied(_("Only the cooperative's admins decide disputes."))
    if admin.pk in dispute_conflicted_user_ids(dispute.contract):
        raise PermissionDenied(
            _("You took part in this job (as a side or a bidder): another admin must decide.")
        )


def decision_split(
    *, outcome: str, member_cents: int | None, client_cents: int | None, frozen_cents: int
) -> tuple[int, int]:
    """The member's and the client's parts of a decision. A split must add up to exactly the
    amount at stake, with something for each side."""
    if outcome == DecisionOutcome.RELEASE:
        return frozen_cents, 0
    if outcome == DecisionOutcome.REFUND:
        return 0, frozen_cents
    if outcome != DecisionOutcome.SPLIT:
        raise ValidationError({"outcome": _("Choose an outcome.")}, code="outcome")
    if member_cents is None or client_cents is None:
        raise ValidationError(
            _("A split needs the member's part and the client's part."), code="split_missing"
        )
    if member_cents < 0 or client_cents < 0:
        raise ValidationError(_("A part cannot be negative."), code="split_negative")
    if member_cents + client_cents != frozen_cents:
        raise ValidationError(
            _(
                "The two parts add up to %(total)s, but %(frozen)s are at stake: the member's "
                "part and the client's part must add up to exactly %(frozen)s."
            )
            % {"total": euros(member_cents + client_cents), "frozen": euros(frozen_cents)},
            code="split_mismatch",
        )
    if member_cents == 0 or client_cents == 0:
        raise ValidationError(
            _("A split gives something to each side; otherwise choose “everything to one side”."),
            code="split_one_sided",
        )
    return member_cents, client_cents


def dispute_decide(
    *,
    dispute: Dispute,
    admin: User,
    outcome: str,
    reasoning: str,
    member_cents: int | None = None,
    client_cents: int | None = None,
    now: datetime.datetime | None = None,
) -> DisputeDecision:
    """An admin who took no part in the job decides: everything to the member, everything back
    to the client, or a split adding up to exactly the frozen amount, with a reasoning both
    sides see. Only once the other side has answered or its time to answer is over: nobody is
    decided against without having had the chance to be heard. The decision posts one balanced
    ledger transaction through payments and is final in the app (see dispute_correct)."""
    now = now or timezone.now()
    if not is_moderator(admin):
        raise PermissionDenied(_("Only the cooperative's admins decide disputes."))
    reasoning = _check_text(
        reasoning,
        field="reasoning",
        empty_message=_("Explain the decision: both sides read it."),
        limit=MAX_REASONING_LENGTH,
    )
    with transaction.atomic(durable=True):
        dispute = _lock_dispute(dispute.pk)
        _check_open(dispute)
        _check_arbiter(dispute, admin)
        if dispute.answered_at is None and now < dispute.answer_due_at:
            raise ValidationError(
                _(
                    "The other side has until %(date)s to answer: decide once it has answered "
                    "or its time is over."
                )
                % {"date": _date(dispute.answer_due_at)},
                code="not_heard",
            )
        member_part, client_part = decision_split(
            outcome=outcome,
            member_cents=member_cents,
            client_cents=client_cents,
            frozen_cents=dispute.frozen_cents,
        )
        key = f"dispute-{dispute.pk}-decision"
        decision = DisputeDecision.objects.create(
            dispute=dispute,
            decided_by=admin,
            outcome=outcome,
            member_cents=member_part,
            client_cents=client_part,
            reasoning=reasoning,
            ledger_key=key,
            decided_at=now,
        )
        _close(dispute, DisputeStatus.DECIDED, now=now)
        _settle(
            dispute,
            member_cents=member_part,
            by=admin,
            key=key,
            reason=_("Dispute #%(number)s decided by the cooperative") % {"number": dispute.pk},
        )
        _event(
            dispute,
            "decided",
            actor=admin,
            note=f"{euros(member_part)} / {euros(client_part)}",
            now=now,
        )
        _notify_split(
            dispute,
            gettext_lazy(
                "The cooperative decided the dispute about “%(milestone)s”: %(member)s to "
                "the member, %(client)s back to the client. Read the reasoning on the "
                "dispute's page."
            ),
            member_cents=member_part,
            client_cents=client_part,
        )
    return decision


def _notify_split(dispute: Dispute, message, *, member_cents: int, client_cents: int) -> None:
    """Tell both sides how the frozen amount is split (after commit, like every notice)."""
    for user in (dispute.contract.client, dispute.contract.member.user):
        notify(
            user=user,
            message=message,
            params={
                "milestone": dispute.milestone.title,
                "member": euros(member_cents),
                "client": euros(client_cents),
            },
            url=_dispute_url(dispute),
        )


def _correction_lines(dispute: Dispute, payment, *, old_member: int, new_member: int):
    """The difference between two settlements of the milestone, as ledger lines: what the
    member side gives back (member payable, solidarity share) goes to the client's refund
    payable, with the VAT that belongs to the client's extra part. The held account is not
    touched: both settlements emptied it. Sums to zero."""
    from payments import amounts
    from payments.models import AccountKind
    from payments.services.ledger import account_for

    contract = dispute.contract
    net = dispute.frozen_cents
    rate = contract.solidarity_rate_bp or 0
    old, new = amounts.release_split(old_member, rate), amounts.release_split(new_member, rate)
    # The VAT of a credit note is its own base times the payment's rate, as milestone_settle
    # computes it: the difference of the two is the VAT of the client's extra part.
    old_vat = amounts.percent_of(net - old_member, payment.vat_rate_bp)
    new_vat = amounts.percent_of(net - new_member, payment.vat_rate_bp)
    client_net, client_vat = old_member - new_member, new_vat - old_vat
    lines = [
        (account_for(AccountKind.SOLIDARITY_FUND), new.solidarity_cents - old.solidarity_cents),
        (
            account_for(AccountKind.MEMBER_PAYABLE, member=contract.member),
            new.member_cents - old.member_cents,
        ),
        (account_for(AccountKind.VAT_PAYABLE), -client_vat),
        (
            account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=payment.client),
            client_net + client_vat,
        ),
    ]
    return lines, client_net, client_vat


def dispute_correct(
    *,
    decision: DisputeDecision,
    admin: User,
    outcome: str,
    reasoning: str,
    member_cents: int | None = None,
    client_cents: int | None = None,
    now: datetime.datetime | None = None,
) -> DisputeDecision:
    """Another admin (who took no part in the job nor decided this dispute before) corrects
    the latest decision with a new, linked one; the first stays on record.

    The first decision already moved the money, so the correction posts the difference as one
    balanced ledger transaction and a refund (with its credit note) for what the client gains.
    Only corrections that give the client more back are possible: lowering a refund already
    promised to the client would need its credit note taken back, which the cooperative does
    outside the app. And the member's share taken back must still be on their balance (not
    yet paid out): the ledger refuses otherwise and nothing is recorded."""
    from payments.models import Refund, TransactionKind
    from payments.services.funds import funding_payment
    from payments.services.invoices import credit_note_issue_for_refund
    from payments.services.ledger import LedgerError, ledger_post

    now = now or timezone.now()
    if not is_moderator(admin):
        raise PermissionDenied(_("Only the cooperative's admins decide disputes."))
    reasoning = _check_text(
        reasoning,
        field="reasoning",
        empty_message=_("Explain the correction: both sides read it."),
        limit=MAX_REASONING_LENGTH,
    )
    with transaction.atomic(durable=True):
        dispute = _lock_dispute(decision.dispute_id)
        _check_arbiter(dispute, admin)
        decisions = list(dispute.decisions.order_by("decided_at", "pk"))
        if admin.pk in {d.decided_by_id for d in decisions}:
            raise PermissionDenied(
                _("A decision is corrected by another admin than the one who made it.")
            )
        latest = decisions[-1]
        if latest.pk != decision.pk:
            raise ValidationError(
                _("This decision was already corrected: correct the latest one."),
                code="not_latest",
            )
        new_member, new_client = decision_split(
            outcome=outcome,
            member_cents=member_cents,
            client_cents=client_cents,
            frozen_cents=dispute.frozen_cents,
        )
        if new_member == latest.member_cents:
            raise ValidationError(
                _("This correction changes nothing: the split is the same."), code="unchanged"
            )
        if new_member > latest.member_cents:
            raise ValidationError(
                _(
                    "A correction can only give the client more back. The refund already "
                    "promised to the client and its credit note cannot be taken back in the "
                    "app: the treasurer settles such a change outside it."
                ),
                code="correction_direction",
            )
        payment = funding_payment(dispute.milestone)
        lines, client_net, client_vat = _correction_lines(
            dispute, payment, old_member=latest.member_cents, new_member=new_member
        )
        key = f"dispute-{dispute.pk}-correction-{latest.pk}"
        try:
            ledger_post(
                key=key,
                kind=TransactionKind.SETTLEMENT,
                lines=lines,
                memo=f"dispute {dispute.pk}: correction of decision {latest.pk}",
                contract=dispute.contract,
                milestone=dispute.milestone,
                by=admin,
            )
        except LedgerError as error:
            raise ValidationError(
                _(
                    "The money this correction takes back has already left the member's "
                    "balance (%(detail)s). Nothing is recorded: the treasurer settles it "
                    "outside the app."
                )
                % {"detail": error},
                code="correction_funds",
            ) from error
        correction = DisputeDecision.objects.create(
            dispute=dispute,
            decided_by=admin,
            outcome=outcome,
            member_cents=new_member,
            client_cents=new_client,
            reasoning=reasoning,
            corrects=latest,
            ledger_key=key,
            decided_at=now,
        )
        reason = _("Dispute #%(number)s: decision corrected by the cooperative") % {
            "number": dispute.pk
        }
        refund = Refund.objects.create(
            payment=payment,
            amount_cents=client_net + client_vat,
            reason=reason,
            created_by=admin,
        )
        credit_note_issue_for_refund(refund=refund, net_cents=client_net, vat_cents=client_vat)
        ContractEvent.objects.create(
            contract=dispute.contract,
            milestone=dispute.milestone,
            actor=admin,
            kind="settled",
            note=reason,
        )
        _event(
            dispute,
            "corrected",
            actor=admin,
            note=f"{euros(new_member)} / {euros(new_client)}",
            now=now,
        )
        _notify_split(
            dispute,
            gettext_lazy(
                "The cooperative corrected its decision on “%(milestone)s”: now %(member)s "
                "to the member, %(client)s back to the client."
            ),
            member_cents=new_member,
            client_cents=new_client,
        )
    return correction


def disputes_prompt_overdue(*, now: datetime.datetime | None = None) -> int:
    """One pass of the periodic work: tell the admins who may arbitrate about disputes whose
    answer deadline passed with no answer, and about those whose evidence deadline passed
    (ready for a decision). Nothing is decided here. Idempotent: each prompt is sent once,
    recorded on the dispute under its lock. Returns how many prompts were sent."""
    now = now or timezone.now()
    unanswered, evidence_over = disputes_overdue(now)
    prompts = (
        (
            unanswered,
            "answer_overdue_prompted_at",
            "answer_overdue",
            gettext_lazy(
                "Dispute #%(number)s (“%(milestone)s”) was not answered in time: please look "
                "at it. Nothing is decided automatically."
            ),
        ),
        (
            evidence_over,
            "evidence_closed_prompted_at",
            "evidence_closed",
            gettext_lazy(
                "The evidence time of dispute #%(number)s (“%(milestone)s”) is over: it waits "
                "for a decision."
            ),
        ),
    )
    sent = 0
    for ids, flag, kind, message in prompts:
        for dispute_id in ids:
            with transaction.atomic():
                dispute = _lock_dispute(dispute_id)
                if dispute.status != DisputeStatus.OPEN or getattr(dispute, flag) is not None:
                    continue
                if flag == "answer_overdue_prompted_at" and dispute.answered_at is not None:
                    continue
                setattr(dispute, flag, now)
                dispute.save(update_fields=[flag])
                _event(dispute, kind, actor=None, now=now)
                for admin in dispute_arbiters(dispute):
                    notify(
                        user=admin,
                        message=message,
                        params={"number": dispute.pk, "milestone": dispute.milestone.title},
                        url=_dispute_url(dispute),
                    )
                sent += 1
    return sent
