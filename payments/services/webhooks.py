"""Stripe webhooks: verified, stored once, processed once, in any order.

    stripe_webhook_receive    verify a delivery, store its event, process it (or not)

1. The signature is checked first (``Stripe-Signature``, our endpoint secret, 300 s tolerance):
   a forged, stale or unreadable delivery is refused and nothing is written.
2. The event is inserted in its own short transaction; ``StripeEvent.event_id`` is UNIQUE, so a
   redelivery (Stripe retries for three days, and sends some events twice) finds the row there.
   Types we do not handle are stored as ``ignored``.
3. Processing happens under the event row's lock, inside one durable transaction: a processed
   event is answered as a duplicate without effect; a handler that raises rolls back everything
   it did, the event is marked ``failed`` with the error in a separate transaction, and the
   caller answers 500 so that Stripe delivers it again — and the next delivery processes it
   again (``attempts`` counts the tries).

Handlers tolerate out-of-order delivery: they record the state of the object the event carries
through the idempotent services of payments.services.funds (a late failure never undoes a
success), and an event about an intent or refund we do not know is ignored with the reason.
"""

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import stripe
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from marketplace.locks import lock_milestone
from payments.locks import lock_payment, lock_refund, lock_stripe_event
from payments.models import Payment, Refund, RefundStatus, StripeEvent, StripeEventStatus
from payments.services.funds import STRIPE_METHODS, refund_record_sent
from payments.services.stripe_payments import (
    REFUND_SENT_STATES,
    IntentMismatch,
    stripe_intent_record,
)

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The delivery is not a genuine, fresh, readable Stripe event: answer 400."""


class WebhookProcessingFailed(Exception):
    """The handler raised; its effects were rolled back and the event marked failed: answer
    500 so that Stripe delivers it again."""


class Ignored(Exception):
    """A handler's way of saying the event concerns nothing of ours (stored with the reason)."""


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if not isinstance(obj, Mapping):
        return default
    value = obj.get(name)
    return default if value is None else value


# --- Handlers -------------------------------------------------------------------------------


def _payment_for_intent(intent: Mapping) -> Payment:
    """Our payment of an intent: by the intent's id, or — when we crashed between creating the
    intent and recording its id — by the payment id we put in its metadata."""
    intent_id = _field(intent, "id")
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        raise Ignored("the event carries no PaymentIntent id")
    payment = Payment.objects.filter(stripe_payment_intent_id=intent_id).first()
    if payment is not None:
        return payment
    payment_id = str(_field(_field(intent, "metadata", {}), "payment_id", ""))
    if not payment_id.isdigit():
        raise Ignored(f"unknown PaymentIntent {intent_id} (no payment_id in its metadata)")
    payment = Payment.objects.filter(pk=int(payment_id)).first()
    if payment is None or payment.method not in STRIPE_METHODS:
        raise Ignored(f"unknown PaymentIntent {intent_id} (no card payment #{payment_id})")
    # The project's lock order: contract and milestone first, then the payment.
    lock_milestone(payment.milestone_id)
    payment = lock_payment(payment.pk)
    if payment.stripe_payment_intent_id not in (None, intent_id):
        raise Ignored(
            f"PaymentIntent {intent_id} names payment #{payment_id}, which has another "
            f"intent ({payment.stripe_payment_intent_id}): look at it by hand"
        )
    payment.stripe_payment_intent_id = intent_id
    payment.save(update_fields=["stripe_payment_intent_id"])
    return payment


def _on_payment_intent(event: Mapping) -> None:
    intent = _field(_field(event, "data", {}), "object", {})
    payment = _payment_for_intent(intent)
    stripe_intent_record(payment=payment, intent=intent)


def _refund_for(stripe_refund: Mapping) -> Refund:
    refund_id = _field(stripe_refund, "id")
    if not isinstance(refund_id, str) or not refund_id.startswith("re_"):
        raise Ignored("the event carries no Refund id")
    refund = Refund.objects.select_related("payment").filter(stripe_refund_id=refund_id).first()
    if refund is None:
        ours = str(_field(_field(stripe_refund, "metadata", {}), "refund_id", ""))
        if ours.isdigit():
            refund = Refund.objects.select_related("payment").filter(pk=int(ours)).first()
    if refund is None:
        raise Ignored(f"unknown refund {refund_id}: made outside Sirius? reconcile it by hand")
    payment = refund.payment
    if (
        _field(stripe_refund, "payment_intent") != payment.stripe_payment_intent_id
        or _field(stripe_refund, "amount") != refund.amount_cents
    ):
        raise IntentMismatch(
            f"Stripe refund {refund_id} does not match refund #{refund.pk} "
            f"(intent {payment.stripe_payment_intent_id}, {refund.amount_cents} cents)"
        )
    return refund


def _on_refund(event: Mapping) -> None:
    stripe_refund = _field(_field(event, "data", {}), "object", {})
    refund = _refund_for(stripe_refund)
    status = _field(stripe_refund, "status")
    if status in REFUND_SENT_STATES:
        refund_record_sent(refund=refund, provider_reference=stripe_refund["id"])
        return
    if status in ("failed", "canceled"):
        reason = _field(stripe_refund, "failure_reason", status)
        refund = lock_refund(refund.pk)
        if refund.status == RefundStatus.SUCCEEDED:
            # Recorded as sent, then failed at the bank: the money came back to our Stripe
            # balance. Undoing the ledger entry is staff's decision; say it loudly.
            logger.error(
                "Stripe refund %s of refund #%s failed after sending",
                stripe_refund["id"],
                refund.pk,
            )
        refund.failure_message = f"Stripe: {reason}"[:500]
        refund.save(update_fields=["failure_message"])


HANDLERS: dict[str, Callable[[Mapping], None]] = {
    "payment_intent.succeeded": _on_payment_intent,
    "payment_intent.payment_failed": _on_payment_intent,
    "payment_intent.canceled": _on_payment_intent,
    "refund.created": _on_refund,
    "refund.updated": _on_refund,
    "refund.failed": _on_refund,
    "charge.refund.updated": _on_refund,
}


# --- Receiving ------------------------------------------------------------------------------


def _verified_event(payload: bytes, signature: str) -> dict:
    # Parsed first only to refuse what construct_event cannot read (it expects an object);
    # nothing is trusted or written before the signature is verified.
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookRejected(f"unreadable payload: {error}") from error
    if not isinstance(event, dict):
        raise WebhookRejected("the payload is not an event")
    try:
        stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise WebhookRejected(str(error)) from error
    event_id, event_type = event.get("id"), event.get("type")
    if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and event_type):
        raise WebhookRejected("the event has no id or type")
    if len(event_id) > 255 or len(event_type) > 100:
        raise WebhookRejected("the event's id or type is too long")
    return event


def _store(event: dict) -> None:
    handled = event["type"] in HANDLERS
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event["id"],
                event_type=event["type"],
                payload=event,
                status=StripeEventStatus.RECEIVED if handled else StripeEventStatus.IGNORED,
                error="" if handled else "event type not handled",
                processed_at=None if handled else timezone.now(),
            )
    except IntegrityError:
        pass  # delivered before: the row is there, its status says what to do


def stripe_webhook_receive(*, payload: bytes, signature: str) -> StripeEvent:
    """Verify, store and process one webhook delivery; return the stored event.

    Raises WebhookRejected (answer 400, nothing written) or WebhookProcessingFailed (answer
    500: effects rolled back, event marked failed, Stripe will deliver it again)."""
    event = _verified_event(payload, signature)
    _store(event)
    try:
        with transaction.atomic(durable=True):
            # The event row's lock makes concurrent deliveries of one event take turns; the
            # second one finds it processed. Taken before any lock of the money flow.
            stored = lock_stripe_event(event["id"])
            if stored.status in (StripeEventStatus.PROCESSED, StripeEventStatus.IGNORED):
                return stored
            stored.attempts += 1
            try:
                HANDLERS[stored.event_type](stored.payload)
            except Ignored as reason:
                stored.status = StripeEventStatus.IGNORED
                stored.error = str(reason)[:2000]
            else:
                stored.status = StripeEventStatus.PROCESSED
                stored.error = ""
            stored.processed_at = timezone.now()
            stored.save(update_fields=["status", "error", "attempts", "processed_at"])
            return stored
    except Exception as error:
        logger.exception("Stripe event %s (%s) failed", event["id"], event["type"])
        if not connection.is_usable():
            # The database connection was lost mid-processing (its transaction rolled back
            # with it): record the failure on a fresh one rather than fail to answer 500.
            connection.close()
        try:
            StripeEvent.objects.filter(event_id=event["id"]).update(
                status=StripeEventStatus.FAILED,
                error=f"{error.__class__.__name__}: {error}"[:2000],
                attempts=F("attempts") + 1,
            )
        except DatabaseError:
            logger.exception("could not record the failure of Stripe event %s", event["id"])
        raise WebhookProcessingFailed(str(error)) from error
