"""The money of a milestone, from the client's payment to the member's payable.

    payment_create        a payment to make (amounts fixed: net = the milestone, VAT by client)
    payment_succeeded     money arrived: fund the milestone, post it, issue the invoice
    payment_failed        a provider said no; the client may try again
    milestone_release     on approval: solidarity share + member payable (expects the locks)
    milestone_settle      a split (dispute decision, agreement, refund): member part released,
                          client part (with its VAT) owed back to the client
    refund_record_sent    a refund has left (Stripe refund succeeded, or bank payout sent)

Each posts one balanced ledger transaction whose idempotency key is derived from our own row
(``funding-payment-<id>``, ``release-milestone-<id>``...), inside the caller's database
transaction; the outermost money flows use ``transaction.atomic(durable=True)``.
"""

import datetime
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.be import ogm_vcs

from marketplace import milestone_states
from marketplace.access import is_moderator
from marketplace.locks import lock_milestone
from marketplace.models import ContractEvent, ContractStatus, Milestone, MilestoneStatus, User
from marketplace.services.notifications import notify
from payments import amounts
from payments.locks import lock_payment, lock_refund
from payments.models import (
    AccountKind,
    LedgerTransaction,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
    SolidarityRate,
    TransactionKind,
)
from payments.services.ledger import account_for, ledger_post

S = MilestoneStatus
# Milestone states in which the client's money is held on the contract's account.
HELD_STATES = frozenset({S.FUNDED, S.IN_PROGRESS, S.SUBMITTED, S.APPROVED, S.DISPUTED})
STRIPE_METHODS = frozenset({PaymentMethod.CARD, PaymentMethod.BANCONTACT})


def solidarity_rate_in_force(on: datetime.date | None = None) -> int:
    """The rate (basis points) in force on a day: the latest decision effective by then."""
    on = on or timezone.localdate()
    rate = SolidarityRate.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    if rate is None:
        raise LookupError("no solidarity share rate is in force: load the statutes' default")
    return rate.rate_bp


def clearing_account_kind(method: str) -> str:
    return AccountKind.STRIPE_CLEARING if method in STRIPE_METHODS else AccountKind.BANK


def new_structured_communication() -> str:
    """Ten random digits and their mod-97 check (``ogm_vcs``): 12 digits, shown as
    +++DDD/DDDD/DDDDD+++. Random rather than sequential, so that a mistyped digit never
    lands on another client's payment (the check catches it) and numbers say nothing."""
    base = f"{secrets.randbelow(10**10):010d}"
    return base + ogm_vcs.calc_check_digits(base)


def _client_profile(user: User):
    return getattr(user, "client_profile", None)


def payment_create(*, milestone: Milestone, client: User, method: str) -> Payment:
    """A payment the client is about to make for a milestone waiting for funding. A pending
    payment of the same method is reused (the transfer's communication stays the same)."""
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Choose a payment method.")}, code="method")
    with transaction.atomic():
        milestone = lock_milestone(milestone.pk)
        if milestone.contract.client_id != client.pk:
            raise PermissionDenied(_("Only the client of this contract pays its milestones."))
        if milestone.contract.status != ContractStatus.ACTIVE:
            raise ValidationError(_("This contract is closed."), code="closed")
        if milestone.status != S.AWAITING_FUNDING:
            raise ValidationError(_("This milestone is already paid."), code="already_paid")
        existing = (
            Payment.objects.filter(milestone=milestone, method=method, status=PaymentStatus.PENDING)
            .order_by("-pk")
            .first()
        )
        if existing is not None:
            return existing
        treatment = amounts.vat_treatment_for(_client_profile(client))
        gross = amounts.gross_for(milestone.amount_cents, treatment)
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return Payment.objects.create(
                        milestone=milestone,
                        client=client,
                        method=method,
                        net_cents=gross.net_cents,
                        vat_cents=gross.vat_cents,
                        gross_cents=gross.gross_cents,
                        vat_category=treatment.category,
                        vat_rate_bp=treatment.rate_bp,
                        structured_communication=new_structured_communication(),
                    )
            except IntegrityError:  # a communication already taken: draw again
                continue
        raise RuntimeError("could not draw a free structured communication")


def payment_succeeded(*, payment: Payment, by: User | None = None) -> Payment:
    """The provider (or an admin, for a bank transfer) says the money arrived. Idempotent.

    Funds the milestone when it still waits for it: posts provider clearing → funds held
    for the contract (net) + VAT payable, fixes the contract's solidarity rate on its first
    funding, and issues the invoice. Money for a milestone that no longer waits for it (paid
    twice, contract cancelled meanwhile) is never lost: it becomes a refund owed to the client."""
    from payments.services.invoices import invoice_issue_for_payment

    if by is not None and not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative records payments."))
    with transaction.atomic():
        milestone = lock_milestone(payment.milestone_id)
        payment = lock_payment(payment.pk)
        if payment.status == PaymentStatus.SUCCEEDED:
            return payment
        # A success after a failure is possible (events out of order, a retried charge):
        # the money is there, so the success wins.
        now = timezone.now()
        payment.status = PaymentStatus.SUCCEEDED
        payment.succeeded_at = now
        payment.failure_message = ""
        payment.recorded_by = by
        contract = milestone.contract
        clearing = account_for(clearing_account_kind(payment.method))
        funds = milestone.status == S.AWAITING_FUNDING and contract.status == ContractStatus.ACTIVE
        payment.funded_milestone = funds
        payment.save(
            update_fields=[
                "status",
                "succeeded_at",
                "failure_message",
                "recorded_by",
                "funded_milestone",
            ]
        )
        if not funds:
            ledger_post(
                key=f"funding-payment-{payment.pk}",
                kind=TransactionKind.FUNDING,
                lines=[
                    (clearing, -payment.gross_cents),
                    (
                        account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=payment.client),
                        payment.gross_cents,
                    ),
                ],
                memo=f"payment {payment.pk} received for a milestone no longer awaiting it",
                contract=contract,
                milestone=milestone,
                by=by,
            )
            Refund.objects.create(
                payment=payment,
                amount_cents=payment.gross_cents,
                reason=_("This milestone was already paid or is no longer due."),
            )
            ContractEvent.objects.create(
                contract=contract, milestone=milestone, actor=by, kind="payment_to_refund"
            )
            notify(
                user=payment.client,
                message=gettext_lazy(
                    "We received a payment for “%(milestone)s”, which was no longer due. "
                    "It will be paid back to you."
                ),
                params={"milestone": milestone.title},
            )
            return payment
        if contract.solidarity_rate_bp is None:
            contract.solidarity_rate_bp = solidarity_rate_in_force(timezone.localdate())
            contract.save(update_fields=["solidarity_rate_bp"])
        ledger_post(
            key=f"funding-payment-{payment.pk}",
            kind=TransactionKind.FUNDING,
            lines=[
                (clearing, -payment.gross_cents),
                (account_for(AccountKind.CLIENT_FUNDS_HELD, contract=contract), payment.net_cents),
                (account_for(AccountKind.VAT_PAYABLE), payment.vat_cents),
            ],
            memo=f"payment {payment.pk} ({payment.method}) for milestone {milestone.pk}",
            contract=contract,
            milestone=milestone,
            by=by,
        )
        from marketplace.services.milestones import milestone_mark_funded

        milestone_mark_funded(milestone=milestone, by=by)
        invoice_issue_for_payment(payment=payment)
    return payment


def payment_failed(*, payment: Payment, message: str) -> Payment:
    """The provider refused the payment. A payment that already succeeded stays paid (a late,
    out-of-order failure event changes nothing)."""
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        payment.status = PaymentStatus.FAILED
        payment.failure_message = message[:500]
        payment.save(update_fields=["status", "failure_message"])
    return payment


def milestone_release(*, milestone: Milestone, by: User | None = None) -> LedgerTransaction:
    """Release an approved milestone's funds: the solidarity share (the contract's rate) to the
    solidarity fund, the rest payable to the member; the milestone becomes "released".
    Expects the contract's and the milestone's locks (marketplace.locks.lock_milestone)."""
    contract = milestone.contract
    if milestone.status != S.APPROVED:
        raise ValidationError(_("Only an approved milestone is paid out."), code="not_approved")
    split = amounts.release_split(milestone.amount_cents, contract.solidarity_rate_bp or 0)
    posted = ledger_post(
        key=f"release-milestone-{milestone.pk}",
        kind=TransactionKind.RELEASE,
        lines=[
            (
                account_for(AccountKind.CLIENT_FUNDS_HELD, contract=contract),
                -milestone.amount_cents,
            ),
            (account_for(AccountKind.SOLIDARITY_FUND), split.solidarity_cents),
            (account_for(AccountKind.MEMBER_PAYABLE, member=contract.member), split.member_cents),
        ],
        memo=f"release of milestone {milestone.pk}",
        contract=contract,
        milestone=milestone,
        by=by,
    )
    milestone_states.transition(milestone, S.RELEASED)
    milestone.save(update_fields=["status"])
    ContractEvent.objects.create(contract=contract, milestone=milestone, actor=by, kind="released")
    return posted


def funding_payment(milestone: Milestone) -> Payment:
    return Payment.objects.get(milestone=milestone, funded_milestone=True)


def milestone_settle(
    *,
    milestone: Milestone,
    member_cents: int,
    by: User | None,
    key: str,
    reason: str,
    to_status: str,
) -> Refund | None:
    """Split a held milestone: ``member_cents`` of its net amount are released to the member
    (solidarity share on that part only), the rest — with the VAT that belongs to it — is owed
    back to the client and becomes a pending Refund through the provider that took it.
    ``to_status`` is where the milestone goes (approved→released when the member gets it all,
    else cancelled). Expects the contract's and the milestone's locks. Returns the refund."""
    contract = milestone.contract
    net = milestone.amount_cents
    if not 0 <= member_cents <= net:
        raise ValidationError(
            _("The member's part must lie between 0 and %(net)s EUR.")
            % {"net": f"{net / 100:.2f}"},
            code="split",
        )
    if milestone.status not in HELD_STATES - {S.APPROVED}:
        raise ValidationError(_("No money is held for this milestone."), code="not_held")
    payment = funding_payment(milestone)
    client_net = net - member_cents
    # The credit note's VAT is its own base times the rate (EN 16931 BR-CO-17), which never
    # exceeds the invoice's VAT since the rounding is monotonic.
    client_vat = amounts.percent_of(client_net, payment.vat_rate_bp)
    split = amounts.release_split(member_cents, contract.solidarity_rate_bp or 0)
    held = account_for(AccountKind.CLIENT_FUNDS_HELD, contract=contract)
    lines = [
        (held, -net),
        (account_for(AccountKind.SOLIDARITY_FUND), split.solidarity_cents),
        (account_for(AccountKind.MEMBER_PAYABLE, member=contract.member), split.member_cents),
        (account_for(AccountKind.VAT_PAYABLE), -client_vat),
        (
            account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=payment.client),
            client_net + client_vat,
        ),
    ]
    ledger_post(
        key=key,
        kind=TransactionKind.SETTLEMENT,
        lines=lines,
        memo=f"milestone {milestone.pk}: {member_cents} to the member, {client_net} back",
        contract=contract,
        milestone=milestone,
        by=by,
    )
    milestone_states.transition(milestone, to_status)
    if to_status == S.APPROVED:
        milestone_states.transition(milestone, S.RELEASED)
    milestone.save(update_fields=["status", "approved_at"])
    ContractEvent.objects.create(
        contract=contract, milestone=milestone, actor=by, kind="settled", note=reason[:1000]
    )
    from marketplace.services.milestones import contract_close_if_settled

    contract_close_if_settled(contract, by=by)
    refund = None
    if client_net + client_vat > 0:
        refund = Refund.objects.create(
            payment=payment,
            amount_cents=client_net + client_vat,
            reason=reason[:500],
            created_by=by,
        )
        from payments.services.invoices import credit_note_issue_for_refund

        credit_note_issue_for_refund(refund=refund, net_cents=client_net, vat_cents=client_vat)
    return refund


def milestone_refund(*, milestone: Milestone, by: User, reason: str) -> Refund:
    """The cooperative cancels a paid milestone by agreement of both sides (or before work
    started) and owes the client everything back. Staff only."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative refunds a paid milestone."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the milestone is refunded.")}, code="reason")
    with transaction.atomic(durable=True):
        milestone = lock_milestone(milestone.pk)
        if milestone.status == S.DISPUTED:
            # Frozen: only the dispute's settlement or decision moves this money.
            raise ValidationError(
                _("This milestone is in dispute: its money moves only when the dispute ends."),
                code="disputed",
            )
        refund = milestone_settle(
            milestone=milestone,
            member_cents=0,
            by=by,
            key=f"refund-milestone-{milestone.pk}",
            reason=reason,
            to_status=S.CANCELLED,
        )
        notify(
            user=milestone.contract.client,
            message=gettext_lazy("“%(milestone)s” is cancelled and paid back to you."),
            params={"milestone": milestone.title},
        )
    return refund


def refund_record_sent(*, refund: Refund, provider_reference: str = "") -> Refund:
    """A refund has left: the client's refund payable goes down, and so does the money the
    provider held for us. Idempotent. The refund never exceeds what the payment brought in."""
    with transaction.atomic():
        # The fixed order: payment, then refund (payments.locks).
        payment = lock_payment(refund.payment_id)
        refund = lock_refund(refund.pk)
        if refund.status == RefundStatus.SUCCEEDED:
            return refund
        if payment.refunded_cents + refund.amount_cents > payment.gross_cents:
            raise ValidationError(
                _("A refund cannot exceed what the client paid."), code="refund_too_large"
            )
        ledger_post(
            key=f"refund-sent-{refund.pk}",
            kind=TransactionKind.REFUND_SENT,
            lines=[
                (
                    account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=payment.client),
                    -refund.amount_cents,
                ),
                (account_for(clearing_account_kind(payment.method)), refund.amount_cents),
            ],
            memo=f"refund {refund.pk} of payment {payment.pk}",
            contract=payment.milestone.contract,
            milestone=payment.milestone,
        )
        payment.refunded_cents += refund.amount_cents
        payment.save(update_fields=["refunded_cents"])
        refund.status = RefundStatus.SUCCEEDED
        refund.completed_at = timezone.now()
        if provider_reference and not refund.stripe_refund_id and payment.method in STRIPE_METHODS:
            refund.stripe_refund_id = provider_reference
        refund.save(update_fields=["status", "completed_at", "stripe_refund_id"])
    return refund
