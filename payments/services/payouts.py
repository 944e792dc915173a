"""Paying members (and bank refunds to clients) in batches, on two rails.

    payout_batch_create           what is payable → a batch of lines; the money is in transit
    payout_batch_mark_sent        SEPA: the file was uploaded to the bank, the money has left
    payout_batch_cancel           SEPA: the file will not be used, the money is payable again
    payout_batch_execute_connect  Stripe Connect: one transfer per line (member and contract)

What each line posts to the ledger, with keys derived from the line's pk so that every step
can be retried without posting twice:

    exported    member payable (or client refund payable) -x, payouts in transit +x
    sent        payouts in transit -x, bank +x                          (SEPA)
    transfer    payouts in transit -x, Stripe clearing +x               (Connect)
    cancelled   payouts in transit -x, back to where it came from +x    (cancel, failed transfer)

A bank refund paid through a batch is marked paid back (and counted on its payment) when the
batch is sent; ``funds.refund_record_sent`` is not used for it because the money leaves the
bank from "payouts in transit", not from the refund payable.

Locks, in the project's order: refunds, then the payout batch, then payout lines, then ledger
accounts by pk (every account a batch touches is locked up front, so a batch never waits on an
account while holding another that a release or settlement holds). No lock is held while
Stripe is called.
"""

import datetime
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import stripe
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from sepaxml import SepaTransfer

from marketplace.access import is_moderator
from marketplace.models import MemberProfile, User
from payments.locks import lock_payment, lock_payout_batch
from payments.models import (
    AccountKind,
    ConnectedAccount,
    LedgerAccount,
    Payment,
    PaymentMethod,
    PayoutBatch,
    PayoutBatchStatus,
    PayoutLine,
    PayoutLineKind,
    PayoutLineStatus,
    PayoutRail,
    Refund,
    RefundStatus,
    TransactionKind,
)
from payments.selectors import payouts as selectors
from payments.services.ledger import account_for, ledger_post
from payments.stripe_gateway import get_stripe_client, idempotency_key

logger = logging.getLogger(__name__)

# The 2019 version of the ISO 20022 credit transfer message, the one the EPC rulebook (and
# Belgian banks since November 2025) expect; sepaxml checks the file against its schema.
SEPA_SCHEMA = "pain.001.001.09"
# Stripe answers these for a request it refused outright: nothing was transferred.
DEFINITIVE_STRIPE_ERRORS = (
    stripe.InvalidRequestError,
    stripe.PermissionError,
    stripe.AuthenticationError,
    stripe.CardError,
)


@dataclass(frozen=True)
class SkippedPayee:
    name: str
    reason: str


@dataclass
class PayoutBatchCreated:
    """The batch made, and who was left out of it and why (to tell the staff member)."""

    batch: PayoutBatch
    skipped: list[SkippedPayee] = field(default_factory=list)


@dataclass(frozen=True)
class _PlannedLine:
    kind: str
    amount_cents: int
    name: str
    source: LedgerAccount
    member: MemberProfile | None = None
    refund: Refund | None = None
    contract_id: int | None = None
    iban: str = ""
    bic: str = ""


def _require_staff(user: User) -> None:
    if not is_moderator(user):
        raise PermissionDenied(_("Only the cooperative's staff pays members."))


def _lock_accounts(accounts: Iterable[LedgerAccount]) -> dict[int, LedgerAccount]:
    """Lock accounts by pk and return them fresh (the balance read after the lock is the one
    that counts: a concurrent batch that committed meanwhile is seen)."""
    ids = sorted({account.pk for account in accounts})
    return {
        account.pk: account
        for account in LedgerAccount.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("member__user", "member__connected_account")
        .order_by("pk")
    }


def _plan_member_lines(
    *, rail: str, accounts: list[LedgerAccount], skipped: list[SkippedPayee]
) -> list[_PlannedLine]:
    planned: list[_PlannedLine] = []
    payable = []
    for account in accounts:
        if account.balance_cents <= 0:
            continue
        member = account.member
        name = selectors.beneficiary_name(member)
        if rail == PayoutRail.SEPA:
            iban = selectors.sepa_iban(member.iban)
            if iban is None:
                skipped.append(
                    SkippedPayee(
                        name=member.display_name,
                        reason=_("no valid IBAN in the SEPA zone on the member's profile"),
                    )
                )
                continue
            planned.append(
                _PlannedLine(
                    kind=PayoutLineKind.MEMBER,
                    amount_cents=account.balance_cents,
                    name=name,
                    source=account,
                    member=member,
                    iban=iban.compact,
                    bic=str(iban.bic) if iban.bic else "",
                )
            )
        else:
            connected: ConnectedAccount | None = getattr(member, "connected_account", None)
            if connected is None or not connected.payouts_enabled:
                skipped.append(
                    SkippedPayee(
                        name=member.display_name,
                        reason=_("no Stripe Connect account able to receive payouts"),
                    )
                )
                continue
            payable.append(account)
    if payable:
        per_contract = selectors.connect_unpaid_by_contract(
            member_ids=[account.member_id for account in payable],
            balances={account.member_id: account.balance_cents for account in payable},
        )
        for account in payable:
            for contract_id, cents in per_contract[account.member_id]:
                planned.append(
                    _PlannedLine(
                        kind=PayoutLineKind.MEMBER,
                        amount_cents=cents,
                        name=selectors.beneficiary_name(account.member),
                        source=account,
                        member=account.member,
                        contract_id=contract_id,
                    )
                )
    return planned


def _lock_refunds() -> list[Refund]:
    """Pending bank refunds not yet in a payout line, locked. The line check runs after the
    lock, as its own statement: it sees a line that a concurrent batch committed meanwhile."""
    refunds = list(
        Refund.objects.select_for_update(of=("self",))
        .filter(status=RefundStatus.PENDING, payment__method=PaymentMethod.BANK_TRANSFER)
        .select_related("payment__client__client_profile")
        .order_by("pk")
    )
    taken = set(PayoutLine.objects.filter(refund__in=refunds).values_list("refund_id", flat=True))
    return [refund for refund in refunds if refund.pk not in taken]


def _plan_refund_lines(
    refunds: list[Refund], skipped: list[SkippedPayee]
) -> list[tuple[Refund, str, str]]:
    usable = []
    for refund in refunds:
        name = selectors.client_name(refund.payment.client)
        iban = selectors.sepa_iban(refund.iban)
        if iban is None:
            skipped.append(
                SkippedPayee(
                    name=name,
                    reason=_("refund #%(refund)s: no valid IBAN to pay it back to")
                    % {"refund": refund.pk},
                )
            )
            continue
        usable.append((refund, iban.compact, str(iban.bic) if iban.bic else ""))
    return usable


def _new_message_id(rail: str) -> str:
    # ISO 20022 MsgId: at most 35 characters, unique per debtor.
    prefix = "SIRIUS" if rail == PayoutRail.SEPA else "CONNECT"
    return f"{prefix}-{timezone.now():%Y%m%d%H%M%S}-{secrets.token_hex(5).upper()}"


def _remittance(batch: PayoutBatch, line: PayoutLine) -> str:
    if line.kind == PayoutLineKind.CLIENT_REFUND:
        return f"Sirius refund {batch.message_id} refund {line.refund_id}"
    return f"Sirius payout {batch.message_id} member {line.member_id}"


class _BatchTransfer(SepaTransfer):
    """sepaxml's transfer file with our batch's message id (it draws a random one), so that
    the bank's reports point back at the batch."""

    def __init__(self, config: dict, *, message_id: str):
        self._message_id = message_id
        super().__init__(config, schema=SEPA_SCHEMA)

    def _create_header(self):
        self.msg_id = self._message_id
        super()._create_header()


def _sepa_file(batch: PayoutBatch, lines: list[PayoutLine]) -> str:
    """The pain.001 file, checked against the schema that sepaxml bundles (an invalid file
    raises, and the whole batch is rolled back)."""
    cooperative = settings.COOPERATIVE
    config = {
        "name": cooperative["name"],
        "IBAN": cooperative["iban"].replace(" ", ""),
        "batch": True,
        "currency": "EUR",
    }
    if cooperative.get("bic"):
        config["BIC"] = cooperative["bic"]
    transfer = _BatchTransfer(config, message_id=batch.message_id)
    for line in lines:
        payment = {
            "name": line.name,
            "IBAN": line.iban,
            "amount": line.amount_cents,
            "execution_date": batch.execution_date,
            "description": _remittance(batch, line),
            "endtoend_id": line.end_to_end_id,
        }
        if line.bic:
            payment["BIC"] = line.bic
        transfer.add_payment(payment)
    return transfer.export(validate=True).decode("utf-8")


def payout_batch_create(
    *,
    rail: str,
    by: User,
    execution_date: datetime.date,
    member_ids: Iterable[int] | None = None,
    include_refunds: bool = True,
) -> PayoutBatchCreated:
    """Pay what is payable now to the members chosen (``member_ids=None``: every member with
    something payable), plus, on the SEPA rail, the pending refunds of bank transfers.

    SEPA: one line per member (their whole payable balance, if their IBAN is valid) and the
    pain.001 file stored on the batch. Connect: one line per member and contract (members
    with a connected account that can receive payouts). Raises ``ValidationError`` when
    nothing can be paid; a second batch right after the first finds nothing."""
    _require_staff(by)
    if rail not in PayoutRail.values:
        raise ValidationError({"rail": _("Choose how to pay.")}, code="rail")
    if execution_date < timezone.localdate():
        raise ValidationError(
            {"execution_date": _("The execution date cannot be in the past.")}, code="past"
        )
    skipped: list[SkippedPayee] = []
    with transaction.atomic(durable=True):
        refunds: list[tuple[Refund, str, str]] = []
        if rail == PayoutRail.SEPA and include_refunds:
            refunds = _plan_refund_lines(_lock_refunds(), skipped)
        candidates = LedgerAccount.objects.filter(
            kind=AccountKind.MEMBER_PAYABLE, balance_cents__gt=0
        )
        if member_ids is not None:
            candidates = candidates.filter(member_id__in=list(member_ids))
        in_transit = account_for(AccountKind.PAYOUTS_IN_TRANSIT)
        refund_accounts = {
            refund.pk: account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=refund.payment.client)
            for refund, _iban, _bic in refunds
        }
        locked = _lock_accounts([*candidates, in_transit, *refund_accounts.values()])
        member_accounts = sorted(
            (a for a in locked.values() if a.kind == AccountKind.MEMBER_PAYABLE),
            key=lambda a: (a.member.display_name, a.pk),
        )
        planned = _plan_member_lines(rail=rail, accounts=member_accounts, skipped=skipped)
        owed = {a.pk: locked[a.pk].balance_cents for a in refund_accounts.values()}
        for refund, iban, bic in refunds:
            source = locked[refund_accounts[refund.pk].pk]
            if owed[source.pk] < refund.amount_cents:
                # The ledger owes this client less than the refund says: a person must look.
                skipped.append(
                    SkippedPayee(
                        name=selectors.client_name(refund.payment.client),
                        reason=_("refund #%(refund)s: more than the ledger owes the client")
                        % {"refund": refund.pk},
                    )
                )
                continue
            owed[source.pk] -= refund.amount_cents
            planned.append(
                _PlannedLine(
                    kind=PayoutLineKind.CLIENT_REFUND,
                    amount_cents=refund.amount_cents,
                    name=selectors.client_name(refund.payment.client),
                    source=source,
                    refund=refund,
                    iban=iban,
                    bic=bic,
                )
            )
        if not planned:
            raise ValidationError(
                _("Nothing can be paid to the members selected right now."),
                code="nothing_payable",
            )
        batch = PayoutBatch.objects.create(
            rail=rail,
            message_id=_new_message_id(rail),
            execution_date=execution_date,
            total_cents=sum(plan.amount_cents for plan in planned),
            created_by=by,
        )
        lines = []
        for number, plan in enumerate(planned, start=1):
            line = PayoutLine.objects.create(
                batch=batch,
                kind=plan.kind,
                member=plan.member,
                refund=plan.refund,
                contract_id=plan.contract_id,
                name=plan.name,
                iban=plan.iban,
                bic=plan.bic,
                amount_cents=plan.amount_cents,
                end_to_end_id=f"SIRIUS-{batch.pk}-{number}",
            )
            ledger_post(
                key=f"payout-exported-line-{line.pk}",
                kind=TransactionKind.PAYOUT_EXPORTED,
                lines=[(plan.source, -plan.amount_cents), (in_transit, plan.amount_cents)],
                memo=f"payout batch {batch.message_id}, line {line.end_to_end_id}",
                contract=line.contract,
                by=by,
            )
            lines.append(line)
        if rail == PayoutRail.SEPA:
            batch.sepa_xml = _sepa_file(batch, lines)
            batch.save(update_fields=["sepa_xml"])
    return PayoutBatchCreated(batch=batch, skipped=skipped)


def _locked_lines(batch: PayoutBatch) -> list[PayoutLine]:
    return list(
        PayoutLine.objects.select_for_update(of=("self",))
        .filter(batch=batch)
        .select_related("member", "refund__payment__client")
        .order_by("pk")
    )


def _lock_batch_refunds(batch: PayoutBatch, *, with_payments: bool) -> dict[int, Refund]:
    """The refunds paid by a batch's lines, locked (their payments first, when they will
    change: the project's order is payment, refund, payout batch)."""
    refund_ids = list(
        PayoutLine.objects.filter(batch_id=batch.pk, refund__isnull=False)
        .order_by("refund_id")
        .values_list("refund_id", flat=True)
    )
    if not refund_ids:
        return {}
    if with_payments:
        list(
            Payment.objects.select_for_update(of=("self",))
            .filter(refunds__in=refund_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return {
        refund.pk: refund
        for refund in Refund.objects.select_for_update(of=("self",))
        .filter(pk__in=refund_ids)
        .order_by("pk")
    }


def _source_account(line: PayoutLine) -> LedgerAccount:
    if line.kind == PayoutLineKind.CLIENT_REFUND:
        return account_for(AccountKind.CLIENT_REFUND_PAYABLE, client=line.refund.payment.client)
    return account_for(AccountKind.MEMBER_PAYABLE, member=line.member)


def _lock_batch_accounts(lines: list[PayoutLine], *extra: LedgerAccount) -> None:
    _lock_accounts([*(_source_account(line) for line in lines), *extra])


def payout_batch_mark_sent(*, batch: PayoutBatch, by: User) -> PayoutBatch:
    """The SEPA file was uploaded to the bank: every line has left the bank account. Bank
    refunds in the batch are paid back. Idempotent: a sent batch is returned as it is."""
    _require_staff(by)
    with transaction.atomic(durable=True):
        refunds = _lock_batch_refunds(batch, with_payments=True)
        batch = lock_payout_batch(batch.pk)
        if batch.status == PayoutBatchStatus.SENT:
            return batch
        if batch.rail != PayoutRail.SEPA:
            raise ValidationError(
                _("Stripe Connect batches are sent by executing their transfers."), code="rail"
            )
        if batch.status != PayoutBatchStatus.EXPORTED:
            raise ValidationError(_("A cancelled batch cannot be sent."), code="cancelled")
        lines = _locked_lines(batch)
        in_transit = account_for(AccountKind.PAYOUTS_IN_TRANSIT)
        bank = account_for(AccountKind.BANK)
        _lock_batch_accounts(lines, in_transit, bank)
        now = timezone.now()
        for line in lines:
            if line.status != PayoutLineStatus.PENDING:
                continue
            ledger_post(
                key=f"payout-sent-line-{line.pk}",
                kind=TransactionKind.PAYOUT_SENT,
                lines=[(in_transit, -line.amount_cents), (bank, line.amount_cents)],
                memo=f"payout batch {batch.message_id} sent, line {line.end_to_end_id}",
                contract=line.contract,
                by=by,
            )
            if line.refund_id is not None:
                _refund_paid_back(refunds[line.refund_id], now=now)
            line.status = PayoutLineStatus.SENT
            line.save(update_fields=["status"])
        batch.status = PayoutBatchStatus.SENT
        batch.sent_by = by
        batch.sent_at = now
        batch.save(update_fields=["status", "sent_by", "sent_at"])
    return batch


def _refund_paid_back(refund: Refund, *, now: datetime.datetime) -> None:
    """Expects the refund's lock; takes its payment's. A refund never exceeds what the
    client paid (the database says so too)."""
    if refund.status == RefundStatus.SUCCEEDED:
        return
    payment = lock_payment(refund.payment_id)
    if payment.refunded_cents + refund.amount_cents > payment.gross_cents:
        raise ValidationError(
            _("Refund #%(refund)s would exceed what the client paid.") % {"refund": refund.pk},
            code="refund_too_large",
        )
    payment.refunded_cents += refund.amount_cents
    payment.save(update_fields=["refunded_cents"])
    refund.status = RefundStatus.SUCCEEDED
    refund.completed_at = now
    refund.save(update_fields=["status", "completed_at"])


def payout_batch_cancel(*, batch: PayoutBatch, by: User, reason: str) -> PayoutBatch:
    """The SEPA file will not be sent: every line's money goes back to what is payable (to the
    member, or to the client for a refund). Idempotent.

    Stripe Connect batches are not cancelled as a whole: a transfer may be in flight, and
    a failed transfer already gives its money back to the member."""
    _require_staff(by)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the batch is cancelled.")}, code="reason")
    with transaction.atomic(durable=True):
        refunds = _lock_batch_refunds(batch, with_payments=False)
        batch = lock_payout_batch(batch.pk)
        if batch.status == PayoutBatchStatus.CANCELLED:
            return batch
        if batch.rail != PayoutRail.SEPA:
            raise ValidationError(
                _("A Stripe Connect batch cannot be cancelled; failed transfers are."),
                code="rail",
            )
        if batch.status != PayoutBatchStatus.EXPORTED:
            raise ValidationError(
                _("This batch was sent: it can no longer be cancelled."), code="sent"
            )
        lines = _locked_lines(batch)
        in_transit = account_for(AccountKind.PAYOUTS_IN_TRANSIT)
        _lock_batch_accounts(lines, in_transit)
        for line in lines:
            if line.status != PayoutLineStatus.PENDING:
                continue
            ledger_post(
                key=f"payout-cancelled-line-{line.pk}",
                kind=TransactionKind.PAYOUT_CANCELLED,
                lines=[
                    (in_transit, -line.amount_cents),
                    (_source_account(line), line.amount_cents),
                ],
                memo=f"payout batch {batch.message_id} cancelled: {reason}",
                contract=line.contract,
                by=by,
            )
            line.status = PayoutLineStatus.CANCELLED
            line.save(update_fields=["status"])
            if line.refund_id is not None:
                _refund_requeue(refunds[line.refund_id], by=by, reason=reason)
        batch.status = PayoutBatchStatus.CANCELLED
        batch.save(update_fields=["status"])
    return batch


def _refund_requeue(refund: Refund, *, by: User, reason: str) -> Refund:
    """A payout line holds its refund for good (one line per refund), so a refund whose line
    was cancelled is closed as failed and a new pending refund of the same amount takes its
    place: the next batch pays that one. The refund payable is unchanged (the cancelled line
    already gave the money back to it)."""
    refund.status = RefundStatus.FAILED
    refund.failure_message = (_("Payout batch cancelled: %(reason)s") % {"reason": reason})[:500]
    refund.save(update_fields=["status", "failure_message"])
    return Refund.objects.create(
        payment_id=refund.payment_id,
        amount_cents=refund.amount_cents,
        reason=refund.reason,
        iban=refund.iban,
        created_by=by,
    )


# --- Stripe Connect -----------------------------------------------------------------------


@dataclass(frozen=True)
class _ClaimedLine:
    pk: int
    amount_cents: int
    contract_id: int | None
    batch_message_id: str
    destination: str | None


def _connect_line_claim(line_id: int) -> _ClaimedLine | None:
    """Read what the transfer needs, under the batch's and the line's locks, and let go of
    them before Stripe is called. None when the line is no longer pending."""
    with transaction.atomic(durable=True):
        batch_id = PayoutLine.objects.values_list("batch_id", flat=True).get(pk=line_id)
        batch = lock_payout_batch(batch_id)
        if batch.rail != PayoutRail.STRIPE_CONNECT:
            raise ValidationError(_("Only Stripe Connect batches make transfers."), code="rail")
        if batch.status != PayoutBatchStatus.EXPORTED:
            return None
        line = (
            PayoutLine.objects.select_for_update(of=("self",))
            .select_related("member__connected_account")
            .get(pk=line_id)
        )
        if line.status != PayoutLineStatus.PENDING:
            return None
        connected = getattr(line.member, "connected_account", None)
        destination = (
            connected.stripe_account_id
            if connected is not None and connected.payouts_enabled
            else None
        )
        return _ClaimedLine(
            pk=line.pk,
            amount_cents=line.amount_cents,
            contract_id=line.contract_id,
            batch_message_id=batch.message_id,
            destination=destination,
        )


def connect_line_record_transfer(*, line_id: int, transfer_id: str, by: User | None) -> PayoutLine:
    """Stripe made the transfer: the line is sent, the money moves from "in transit" to what
    Stripe holds for us. Idempotent (a retry that got the same transfer changes nothing)."""
    with transaction.atomic(durable=True):
        line = (
            PayoutLine.objects.select_for_update(of=("self",))
            .select_related("batch")
            .get(pk=line_id)
        )
        if line.status == PayoutLineStatus.SENT:
            return line
        if line.status != PayoutLineStatus.PENDING:
            # Money left although we had given up on the line: never hide it.
            logger.error(
                "Stripe transfer %s made for payout line %s, which is %s",
                transfer_id,
                line.pk,
                line.status,
            )
            raise ValidationError(
                _("Payout line %(line)s is %(status)s but Stripe made transfer %(transfer)s.")
                % {"line": line.pk, "status": line.status, "transfer": transfer_id},
                code="transfer_on_closed_line",
            )
        in_transit = account_for(AccountKind.PAYOUTS_IN_TRANSIT)
        clearing = account_for(AccountKind.STRIPE_CLEARING)
        _lock_accounts([in_transit, clearing])
        ledger_post(
            key=f"payout-connect-line-{line.pk}",
            kind=TransactionKind.CONNECT_TRANSFER,
            lines=[(in_transit, -line.amount_cents), (clearing, line.amount_cents)],
            memo=f"Stripe transfer {transfer_id} for line {line.end_to_end_id}",
            contract=line.contract,
            by=by,
        )
        line.stripe_transfer_id = transfer_id
        line.status = PayoutLineStatus.SENT
        line.save(update_fields=["stripe_transfer_id", "status"])
    return line


def connect_line_record_failure(*, line_id: int, message: str, by: User | None) -> PayoutLine:
    """Stripe refused the transfer (nothing left): the line failed and its money is payable to
    the member again. Idempotent."""
    with transaction.atomic(durable=True):
        line = (
            PayoutLine.objects.select_for_update(of=("self",))
            .select_related("batch", "member")
            .get(pk=line_id)
        )
        if line.status != PayoutLineStatus.PENDING:
            return line
        in_transit = account_for(AccountKind.PAYOUTS_IN_TRANSIT)
        payable = account_for(AccountKind.MEMBER_PAYABLE, member=line.member)
        _lock_accounts([in_transit, payable])
        ledger_post(
            key=f"payout-failed-line-{line.pk}",
            kind=TransactionKind.PAYOUT_CANCELLED,
            lines=[(in_transit, -line.amount_cents), (payable, line.amount_cents)],
            memo=f"Stripe transfer refused for line {line.end_to_end_id}: {message}",
            contract=line.contract,
            by=by,
        )
        line.status = PayoutLineStatus.FAILED
        line.save(update_fields=["status"])
    return line


def _connect_line_execute(line_id: int, *, client: stripe.StripeClient, by: User | None) -> None:
    claimed = _connect_line_claim(line_id)
    if claimed is None:
        return
    if claimed.destination is None:
        connect_line_record_failure(
            line_id=line_id, message="no connected account able to receive payouts", by=by
        )
        return
    try:
        transfer = client.v1.transfers.create(
            params={
                "amount": claimed.amount_cents,
                "currency": "eur",
                "destination": claimed.destination,
                "transfer_group": f"contract_{claimed.contract_id}",
                "metadata": {
                    "payout_line": str(claimed.pk),
                    "payout_batch": claimed.batch_message_id,
                },
            },
            options={"idempotency_key": idempotency_key("payout_line", claimed.pk)},
        )
    except DEFINITIVE_STRIPE_ERRORS as error:
        connect_line_record_failure(line_id=line_id, message=str(error)[:200], by=by)
        return
    except stripe.StripeError as error:
        # No answer, or a server error: the transfer may exist. The line stays pending and
        # the next attempt sends the same idempotency key, so Stripe returns that transfer.
        logger.warning("Stripe transfer for payout line %s not confirmed: %s", line_id, error)
        return
    connect_line_record_transfer(line_id=line_id, transfer_id=transfer.id, by=by)


def payout_batch_execute_connect(
    *, batch: PayoutBatch, by: User, client: stripe.StripeClient | None = None
) -> PayoutBatch:
    """Make the Stripe Connect transfer of every pending line, one at a time, each with the
    idempotency key of its line (a retry after a crash or a timeout gets the same transfer).
    Lines Stripe refuses fail and their money is payable again; lines without an answer stay
    pending for the next attempt. The batch is sent once no line is pending."""
    _require_staff(by)
    if batch.rail != PayoutRail.STRIPE_CONNECT:
        raise ValidationError(_("Only Stripe Connect batches make transfers."), code="rail")
    client = client or get_stripe_client()
    pending = list(
        PayoutLine.objects.filter(batch_id=batch.pk, status=PayoutLineStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for line_id in pending:
        _connect_line_execute(line_id, client=client, by=by)
    with transaction.atomic(durable=True):
        batch = lock_payout_batch(batch.pk)
        statuses = set(batch.lines.values_list("status", flat=True))
        if batch.status == PayoutBatchStatus.EXPORTED and PayoutLineStatus.PENDING not in statuses:
            batch.status = (
                PayoutBatchStatus.SENT
                if PayoutLineStatus.SENT in statuses
                else PayoutBatchStatus.CANCELLED
            )
            batch.sent_by = by
            batch.sent_at = timezone.now()
            batch.save(update_fields=["status", "sent_by", "sent_at"])
    return batch
