"""Bank transfers: an admin records one received, or imports the bank's statement.

    bank_transfer_mark_received   an admin saw the money arrive: fund the milestone
    bank_statement_import         reconcile each line of a statement, one transaction per line

Reconciliation never guesses: only a line whose structured communication is a pending bank
transfer's, with exactly its amount, funds a milestone. Everything else is stored with what it
is (unmatched, wrong amount, already paid, outgoing, duplicate) for a person to look at.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from marketplace.access import is_moderator
from marketplace.locks import lock_milestone
from marketplace.models import User
from marketplace.templatetags.money import euros
from payments.bank_csv import LineProblem, StatementRow
from payments.locks import lock_payment
from payments.models import (
    BankStatement,
    BankStatementLine,
    Payment,
    PaymentMethod,
    PaymentStatus,
    StatementLineStatus,
)
from payments.services.funds import payment_succeeded

logger = logging.getLogger(__name__)
L = StatementLineStatus


def bank_transfer_mark_received(*, payment: Payment, amount_cents: int, by: User) -> Payment:
    """An admin records that a bank transfer arrived, typing the amount they see on the
    account: only exactly the amount to pay is accepted (a different amount is for a person to
    sort out with the client, never a funding). Idempotent: a payment already received stays
    as it is and funds nothing twice."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative records payments."))
    if payment.method != PaymentMethod.BANK_TRANSFER:
        raise ValidationError(_("This payment is not a bank transfer."), code="not_transfer")
    if amount_cents != payment.gross_cents:
        raise ValidationError(
            {
                "amount": _(
                    "The amount to receive is %(expected)s; you typed %(typed)s. A transfer "
                    "of another amount cannot fund the milestone: contact the client."
                )
                % {"expected": euros(payment.gross_cents), "typed": euros(amount_cents)}
            },
            code="wrong_amount",
        )
    with transaction.atomic(durable=True):
        return payment_succeeded(payment=payment, by=by)


@dataclass
class StatementImport:
    """What an import made: the statement (its lines carry each result) and the lines that
    failed for an unexpected reason — not stored, so importing the file again retries them."""

    statement: BankStatement
    failures: list[LineProblem] = field(default_factory=list)


def bank_statement_import(
    *, rows: Iterable[StatementRow], filename: str, by: User
) -> StatementImport:
    """Store a statement and reconcile each of its lines, each in its own transaction (a line
    that fails does not undo the others). Idempotent: a line imported before (same fingerprint)
    is stored as a duplicate and changes nothing."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative imports bank statements."))
    statement = BankStatement.objects.create(filename=filename[:255], uploaded_by=by)
    result = StatementImport(statement=statement)
    for row in rows:
        try:
            _import_line(statement=statement, row=row, by=by)
        except Exception:  # one bad line must not stop the statement
            logger.exception("bank statement %s, line %s failed", statement.pk, row.line_number)
            result.failures.append(
                LineProblem(
                    row.line_number,
                    _("This line could not be recorded; import the file again to retry it."),
                )
            )
    return result


def _import_line(*, statement: BankStatement, row: StatementRow, by: User) -> str:
    fingerprint = row.fingerprint
    try:
        with transaction.atomic(durable=True):
            return _reconcile_line(statement=statement, row=row, fingerprint=fingerprint, by=by)
    except IntegrityError:
        # Another import stored the same line between our check and our insert: the unique
        # constraint on the fingerprint refused ours and rolled back its funding, if any.
        if not _already_imported(fingerprint):
            raise
        with transaction.atomic(durable=True):
            _store_line(statement, row, fingerprint, L.DUPLICATE)
        return L.DUPLICATE


def _already_imported(fingerprint: str) -> bool:
    return (
        BankStatementLine.objects.filter(fingerprint=fingerprint)
        .exclude(status=L.DUPLICATE)
        .exists()
    )


def _store_line(
    statement: BankStatement,
    row: StatementRow,
    fingerprint: str,
    status: str,
    payment: Payment | None = None,
) -> BankStatementLine:
    return BankStatementLine.objects.create(
        statement=statement,
        line_number=row.line_number,
        booked_on=row.booked_on,
        amount_cents=row.amount_cents,
        communication=row.communication,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        bank_reference=row.bank_reference,
        fingerprint=fingerprint,
        status=status,
        payment=payment,
    )


def _reconcile_line(
    *, statement: BankStatement, row: StatementRow, fingerprint: str, by: User
) -> str:
    """Decide what one line is and act on it. Runs in the line's own transaction; takes the
    milestone's then the payment's lock (the project's order) before deciding."""
    if _already_imported(fingerprint):
        _store_line(statement, row, fingerprint, L.DUPLICATE)
        return L.DUPLICATE
    if row.amount_cents < 0:
        _store_line(statement, row, fingerprint, L.OUTGOING)
        return L.OUTGOING
    digits = row.structured_communication
    payment = Payment.objects.filter(structured_communication=digits).first() if digits else None
    if payment is None:
        _store_line(statement, row, fingerprint, L.UNMATCHED)
        return L.UNMATCHED
    lock_milestone(payment.milestone_id)
    payment = lock_payment(payment.pk)
    if payment.status == PaymentStatus.SUCCEEDED:
        # Money for something already paid (twice by transfer, or by card and by transfer):
        # a person arranges the refund.
        status = L.ALREADY_PAID
    elif payment.method != PaymentMethod.BANK_TRANSFER:
        status, payment = L.UNMATCHED, None
    elif row.amount_cents != payment.gross_cents:
        status = L.WRONG_AMOUNT
    else:
        status = L.MATCHED
    # The line is stored before the funding: its fingerprint is claimed first, so that a
    # concurrent import of the same line fails here and funds nothing.
    _store_line(statement, row, fingerprint, status, payment)
    if status == L.MATCHED:
        payment_succeeded(payment=payment, by=by)
    return status
