"""Row locks of the payments app. Fixed order across the project: contract, milestone
(marketplace.locks.lock_milestone), then payment, refund, payout batch; ledger accounts last,
by pk (payments.services.ledger). Never held across a call to Stripe."""

from payments.models import Payment, PayoutBatch, Refund, StripeEvent


def lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def lock_refund(refund_id: int) -> Refund:
    return Refund.objects.select_for_update(of=("self",)).get(pk=refund_id)


def lock_payout_batch(batch_id: int) -> PayoutBatch:
    return PayoutBatch.objects.select_for_update(of=("self",)).get(pk=batch_id)


def lock_stripe_event(event_id: str) -> StripeEvent:
    """A stored webhook event, locked while it is processed: two deliveries of one event
    process it once."""
    return StripeEvent.objects.select_for_update(of=("self",)).get(event_id=event_id)
