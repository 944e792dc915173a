"""Staff steps of a pending refund: where a bank refund goes, and sending a card refund.

A refund of a bank transfer needs the client's IBAN before a payout batch can carry it; by
default it is the account the transfer came from (the matched bank statement line), which
staff confirm or correct here."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from marketplace.access import is_moderator
from marketplace.models import User
from payments.locks import lock_payment, lock_refund
from payments.models import BankStatementLine, PaymentMethod, Refund, RefundStatus


def refund_source_iban(refund: Refund) -> str:
    """The IBAN the refunded transfer came from, when a bank statement told us."""
    return (
        BankStatementLine.objects.filter(payment_id=refund.payment_id)
        .exclude(counterparty_iban="")
        .values_list("counterparty_iban", flat=True)
        .first()
        or ""
    )


def refund_set_iban(*, refund: Refund, iban: str, by: User) -> Refund:
    """Record the client's IBAN on a pending bank refund (staff only)."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative handles refunds."))
    try:
        checked = IBAN(iban)
    except SchwiftyException:
        raise ValidationError({"iban": _("This is not a valid IBAN.")}, code="iban") from None
    with transaction.atomic():
        lock_payment(refund.payment_id)
        refund = lock_refund(refund.pk)
        if refund.payment.method != PaymentMethod.BANK_TRANSFER:
            raise ValidationError(
                _("A card or Bancontact refund goes back through Stripe, not by transfer."),
                code="not_bank",
            )
        if refund.status != RefundStatus.PENDING:
            raise ValidationError(_("This refund is no longer pending."), code="not_pending")
        if hasattr(refund, "payout_line"):
            raise ValidationError(_("This refund is already in a payout batch."), code="in_batch")
        refund.iban = checked.compact
        refund.save(update_fields=["iban"])
    return refund
