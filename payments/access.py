"""Access checks of the payments app, in one place (the marketplace's rules for contracts and
milestones live in marketplace.access and are reused here). Every view reaches a protected
payments object through one of these functions; anything the viewer may not see is 404."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from marketplace.access import access_milestone, is_moderator
from marketplace.models import Milestone, User
from payments.models import (
    BankStatement,
    Invoice,
    Payment,
    PayoutBatch,
    Refund,
    SolidarityUse,
)


def access_milestone_to_pay(*, viewer: User, milestone_id: int) -> Milestone:
    """A milestone its client may pay: 404 for anybody else (the member included)."""
    milestone = access_milestone(viewer=viewer, milestone_id=milestone_id)
    if milestone.contract.client_id != viewer.pk:
        raise Http404
    return milestone


def access_payment(*, viewer: User, payment_id: int) -> Payment:
    """A payment for its client and for staff; 404 for anybody else."""
    payment = get_object_or_404(
        Payment.objects.select_related("milestone__contract__job"), pk=payment_id
    )
    if payment.client_id != viewer.pk and not is_moderator(viewer):
        raise Http404
    return payment


def access_invoice(*, viewer: User, invoice_id: int) -> Invoice:
    """An invoice or credit note for its client and for staff; 404 for anybody else (the
    member does not see the client's invoice: it carries the client's details)."""
    invoice = get_object_or_404(Invoice.objects.select_related("contract__job"), pk=invoice_id)
    if invoice.client_id != viewer.pk and not is_moderator(viewer):
        raise Http404
    return invoice


def access_payout_batch(*, viewer: User, batch_id: int) -> PayoutBatch:
    """Payout batches are the cooperative's business: staff only, 404 for anybody else."""
    if not is_moderator(viewer):
        raise Http404
    return get_object_or_404(PayoutBatch, pk=batch_id)


def require_staff(viewer: User) -> None:
    """Staff pages of the payments app (reconciliation, payouts): 404 for anybody else."""
    if not is_moderator(viewer):
        raise Http404


def access_bank_statement(*, viewer: User, statement_id: int) -> BankStatement:
    """Imported bank statements are the cooperative's: staff only, 404 for anybody else."""
    require_staff(viewer)
    return get_object_or_404(BankStatement.objects.select_related("uploaded_by"), pk=statement_id)


def access_refund(*, viewer: User, refund_id: int) -> Refund:
    """Refunds are handled by the cooperative: staff only, 404 for anybody else."""
    require_staff(viewer)
    return get_object_or_404(Refund.objects.select_related("payment"), pk=refund_id)


def access_solidarity_use(*, viewer: User, use_id: int) -> SolidarityUse:
    """Uses of the solidarity fund are recorded and corrected by staff: 404 for anybody else
    (the public sees them on the transparency page, read-only)."""
    require_staff(viewer)
    return get_object_or_404(
        SolidarityUse.objects.select_related("transaction", "posted_by"), pk=use_id
    )
