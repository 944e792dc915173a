"""Card and Bancontact payments through Stripe PaymentIntents, and refunds sent back through them.

    stripe_payment_start    the PaymentIntent of a pending card or Bancontact payment (made once,
                            fetched again on every later call)
    stripe_intent_record    what an intent's state means for our payment (return page, webhook)
    stripe_payment_sync     ask Stripe where a payment's intent stands and record it
    stripe_refund_execute   send a pending refund of a card/Bancontact payment through Stripe

No database lock is ever held during a call to Stripe (STYLE.md rule 7): each function reads or
checks under a short transaction, commits, calls Stripe with an idempotency key derived from our
own row, then locks again and records what Stripe answered, re-checking what may have changed in
between. The return page and the webhook record the same facts through the idempotent services
of payments.services.funds, so whichever comes first wins and the other changes nothing.

Capture is automatic for both methods: Bancontact has no separate capture, and the hold that
matters is on our ledger (clearing → funds held for the contract), not a card authorisation.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.models import ContractStatus, MilestoneStatus
from payments.locks import lock_payment, lock_refund
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.services.funds import (
    STRIPE_METHODS,
    payment_failed,
    payment_succeeded,
    refund_record_sent,
)
from payments.stripe_gateway import get_stripe_client, idempotency_key, using_localstripe

CURRENCY = "eur"
# localstripe's Stripe.js stand-in cannot attach the card typed in its fake element: its
# confirmCardPayment only completes (or fails) a 3-D Secure step of an intent that already has
# a card. Offline, the intent of a browser payment is therefore created and confirmed with this
# test card, which asks for 3-D Secure; the client's click on "Complete authentication" in the
# stand-in's dialog is what pays. Real Stripe never sees this: there the page attaches the card.
LOCALSTRIPE_3DS_CARD = {
    "number": "4000002500003155",
    "exp_month": 12,
    "exp_year": 2034,
    "cvc": "123",
}
# Intent states that end a payment attempt without money.
FAILED_INTENT_STATES = frozenset({"canceled"})
# Refund states in which Stripe has accepted to send the money back.
REFUND_SENT_STATES = frozenset({"succeeded", "pending"})


class IntentMismatch(Exception):
    """A Stripe intent that does not match our payment (amount, currency, metadata): never
    recorded as money received; staff must look at it."""


@dataclass(frozen=True)
class StartedIntent:
    """What the pages need from a started intent: the card page mounts Stripe.js with the
    client secret; Bancontact sends the client to its bank at ``redirect_url``."""

    payment: Payment
    intent_id: str
    status: str
    client_secret: str
    redirect_url: str


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a Stripe object or of the plain dict a webhook carries."""
    if obj is None:
        return default
    try:
        value = obj[name]
    except (KeyError, TypeError, AttributeError):
        return default
    return default if value is None else value


def return_url_for(payment: Payment) -> str:
    # Built from SITE_URL, not from the request's host: the parameters sent with an idempotency
    # key must be the same on every retry, or Stripe refuses the retry.
    return settings.SITE_URL + reverse("stripe_return", args=[payment.pk])


def _intent_params(payment: Payment, *, payment_method: str | None) -> dict[str, Any]:
    milestone = payment.milestone
    params: dict[str, Any] = {
        "amount": payment.gross_cents,
        "currency": CURRENCY,
        "payment_method_types": [payment.method],
        "capture_method": "automatic",
        "metadata": {
            "payment_id": str(payment.pk),
            "milestone_id": str(milestone.pk),
            "contract_id": str(milestone.contract_id),
        },
    }
    if not using_localstripe():
        # localstripe has no Connect and rejects transfer_group; real Stripe groups the
        # contract's charge with the member's later Connect transfers by it.
        params["transfer_group"] = f"contract_{milestone.contract_id}"
    if payment.method == "bancontact":
        # Bancontact is confirmed at once: Stripe answers with the bank's page to send the
        # client to, and the bank sends them back to our return page.
        client = payment.client
        params.update(
            confirm=True,
            return_url=return_url_for(payment),
            payment_method_data={
                "type": "bancontact",
                # Bancontact requires the payer's name.
                "billing_details": {
                    "name": client.full_name or client.email,
                    "email": client.email,
                },
            },
        )
    elif payment_method:
        params.update(payment_method=payment_method, confirm=True)
    return params


def _check_startable(payment: Payment) -> None:
    if payment.method not in STRIPE_METHODS:
        raise ValidationError(_("This payment is not made by card or Bancontact."), code="method")
    if payment.status == PaymentStatus.SUCCEEDED:
        raise ValidationError(_("This payment is already made."), code="already_paid")
    if payment.status != PaymentStatus.PENDING:
        raise ValidationError(
            _("This payment attempt is over: start a new one."), code="not_pending"
        )
    milestone = payment.milestone
    if milestone.status != MilestoneStatus.AWAITING_FUNDING:
        raise ValidationError(_("This milestone is already paid."), code="already_paid")
    if milestone.contract.status != ContractStatus.ACTIVE:
        raise ValidationError(_("This contract is closed."), code="closed")


def stripe_payment_start(*, payment: Payment, payment_method: str | None = None) -> StartedIntent:
    """The PaymentIntent of a pending card or Bancontact payment: created on the first call
    (with our idempotency key, so a retry after a crash gets Stripe's first intent back instead
    of a second one), fetched again on later calls.

    ``payment_method`` (a Stripe test id such as ``pm_card_visa``) creates a card intent already
    confirmed with that card: for server-side tests only, the page attaches the client's card.
    """
    # 1. Check under a short lock, then let go of it before the network.
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        payment = Payment.objects.select_related("milestone__contract", "client").get(pk=payment.pk)
        _check_startable(payment)
        intent_id = payment.stripe_payment_intent_id
        params = None if intent_id else _intent_params(payment, payment_method=payment_method)

    # 2. Call Stripe, no transaction open.
    client = get_stripe_client()
    if intent_id:
        intent = client.v1.payment_intents.retrieve(intent_id)
    else:
        if using_localstripe() and payment.method == "card" and payment_method is None:
            card = client.v1.payment_methods.create(
                params={"type": "card", "card": LOCALSTRIPE_3DS_CARD},
                options={"idempotency_key": idempotency_key("payment_method", payment.pk)},
            )
            params.update(payment_method=card.id, confirm=True)
        try:
            intent = client.v1.payment_intents.create(
                params=params,
                options={"idempotency_key": idempotency_key("payment_intent", payment.pk)},
            )
        except stripe.CardError as error:
            # Confirmed at creation and refused at once (a test card; a bank refusing): the
            # attempt is over. Stripe names the intent it made in the error; record it so that
            # its webhook finds this payment.
            _record_refused_at_creation(payment, error)
            raise ValidationError(
                error.user_message or _("The payment was refused."), code="refused"
            ) from error

    # 3. Lock again and record what Stripe gave.
    with transaction.atomic():
        payment = lock_payment(payment.pk)
        if payment.stripe_payment_intent_id is None:
            payment.stripe_payment_intent_id = intent.id
            payment.save(update_fields=["stripe_payment_intent_id"])
        elif payment.stripe_payment_intent_id != intent.id:
            raise IntentMismatch(
                f"payment {payment.pk} has intent {payment.stripe_payment_intent_id}, "
                f"Stripe answered {intent.id}"
            )
    next_action = _field(intent, "next_action")
    redirect = _field(_field(next_action, "redirect_to_url"), "url", "")
    return StartedIntent(
        payment=payment,
        intent_id=intent.id,
        status=intent.status,
        client_secret=_field(intent, "client_secret", ""),
        redirect_url=redirect,
    )


def _record_refused_at_creation(payment: Payment, error: stripe.CardError) -> None:
    intent = _field(error.error, "payment_intent") if error.error else None
    intent_id = _field(intent, "id")
    if intent_id:
        with transaction.atomic():
            payment = lock_payment(payment.pk)
            if payment.stripe_payment_intent_id is None:
                payment.stripe_payment_intent_id = intent_id
                payment.save(update_fields=["stripe_payment_intent_id"])
    payment_failed(payment=payment, message=error.user_message or str(error))


def _check_intent_matches(payment: Payment, intent: Mapping) -> None:
    metadata = _field(intent, "metadata", {})
    problems = []
    if _field(intent, "amount") != payment.gross_cents:
        problems.append(f"amount {_field(intent, 'amount')} != {payment.gross_cents}")
    if str(_field(intent, "currency", "")).lower() != CURRENCY:
        problems.append(f"currency {_field(intent, 'currency')}")
    if _field(metadata, "payment_id") not in (None, str(payment.pk)):
        problems.append(f"metadata payment_id {_field(metadata, 'payment_id')}")
    if problems:
        raise IntentMismatch(
            f"intent {_field(intent, 'id')} does not match payment {payment.pk}: "
            + ", ".join(problems)
        )


def stripe_intent_record(*, payment: Payment, intent: Mapping) -> Payment:
    """Record what a PaymentIntent's state (from Stripe, or a signed webhook) means for our
    payment: succeeded funds the milestone; a refused or cancelled attempt fails the payment.
    Anything else (waiting for the client or the bank) changes nothing. Idempotent; an old,
    out-of-order failure never undoes a success (payment_failed keeps a paid payment paid)."""
    if _field(intent, "id") != payment.stripe_payment_intent_id:
        raise IntentMismatch(
            f"intent {_field(intent, 'id')} is not the intent of payment {payment.pk}"
        )
    _check_intent_matches(payment, intent)
    status = _field(intent, "status")
    if status == "succeeded":
        return payment_succeeded(payment=payment)
    error = _field(intent, "last_payment_error")
    if status in FAILED_INTENT_STATES:
        return payment_failed(payment=payment, message=_("The payment was cancelled."))
    if status == "requires_payment_method" and error:
        message = _field(error, "message") or _("The payment was refused.")
        return payment_failed(payment=payment, message=str(message))
    return payment


def stripe_payment_sync(*, payment: Payment) -> Payment:
    """Ask Stripe where the payment's intent stands and record it, so that the client coming
    back from the card form or the bank sees the result without waiting for the webhook."""
    payment = Payment.objects.get(pk=payment.pk)
    if (
        payment.method not in STRIPE_METHODS
        or not payment.stripe_payment_intent_id
        or payment.status == PaymentStatus.SUCCEEDED
    ):
        return payment
    intent = get_stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    return stripe_intent_record(payment=payment, intent=intent)


def _stripe_refunded_cents(client: stripe.StripeClient, intent_id: str, *, but: int) -> int:
    """What Stripe has already refunded (or is refunding) of an intent, except refund ``but``
    of ours: the truth on Stripe's side, which a refund made from Stripe's dashboard or a crash
    before we recorded one may have left out of our database."""
    total = 0
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    for stripe_refund in refunds.auto_paging_iter():
        if _field(_field(stripe_refund, "metadata", {}), "refund_id") == str(but):
            continue
        if _field(stripe_refund, "status") in ("failed", "canceled"):
            continue
        total += _field(stripe_refund, "amount", 0)
    return total


def _refuse_too_large(refund: Refund, already_refunded: int) -> None:
    paid = refund.payment.gross_cents
    if already_refunded + refund.amount_cents > paid:
        raise ValidationError(
            _(
                "This refund of %(amount)s EUR would exceed what the client paid "
                "(%(paid)s EUR, of which %(refunded)s EUR already refunded)."
            )
            % {
                "amount": f"{refund.amount_cents / 100:.2f}",
                "paid": f"{paid / 100:.2f}",
                "refunded": f"{already_refunded / 100:.2f}",
            },
            code="refund_too_large",
        )


def _record_refund_failure(refund: Refund, message: str) -> Refund:
    with transaction.atomic():
        refund = lock_refund(refund.pk)
        if refund.status == RefundStatus.PENDING:
            refund.failure_message = message[:500]
            refund.save(update_fields=["failure_message"])
    return refund


def stripe_refund_execute(*, refund: Refund) -> Refund:
    """Send a pending refund of a card or Bancontact payment back through Stripe, then record
    it sent (ledger: the client's refund payable and Stripe's clearing go down).

    Refused with a ValidationError when it would exceed what the client paid, counting both our
    own records and the refunds Stripe already knows of. A Stripe error leaves the refund pending
    with its ``failure_message`` set, for staff to try again. Idempotent: the same refund is
    never sent twice (our key ``refund-<id>``, and a refund already sent is returned as it is).
    """
    # 1. Check under a short lock, then let go of it before the network.
    with transaction.atomic():
        refund = lock_refund(refund.pk)
        refund = Refund.objects.select_related("payment").get(pk=refund.pk)
        payment = refund.payment
        if refund.status == RefundStatus.SUCCEEDED:
            return refund
        if refund.status != RefundStatus.PENDING:
            raise ValidationError(_("This refund is not waiting to be paid back."), code="state")
        if payment.method not in STRIPE_METHODS or not payment.stripe_payment_intent_id:
            raise ValidationError(
                _("Only a card or Bancontact payment is paid back through Stripe."),
                code="method",
            )
        if payment.status != PaymentStatus.SUCCEEDED:
            raise ValidationError(_("This payment was never received."), code="not_paid")
        succeeded_elsewhere = (
            Refund.objects.filter(payment=payment, status=RefundStatus.SUCCEEDED)
            .exclude(pk=refund.pk)
            .aggregate(total=Sum("amount_cents"))["total"]
            or 0
        )
        _refuse_too_large(refund, max(payment.refunded_cents, succeeded_elsewhere))

    # 2. Call Stripe, no transaction open.
    client = get_stripe_client()
    try:
        # localstripe accepts refunds beyond the charge (real Stripe refuses them): check
        # what Stripe already refunded first, whatever our database says.
        _refuse_too_large(
            refund, _stripe_refunded_cents(client, payment.stripe_payment_intent_id, but=refund.pk)
        )
        sent = client.v1.refunds.create(
            params={
                "payment_intent": payment.stripe_payment_intent_id,
                "amount": refund.amount_cents,
                "metadata": {"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
            },
            options={"idempotency_key": idempotency_key("refund", refund.pk)},
        )
    except stripe.StripeError as error:
        message = error.user_message or str(error) or error.__class__.__name__
        return _record_refund_failure(refund, message)

    # 3. Record what Stripe answered.
    if _field(sent, "status") not in REFUND_SENT_STATES:
        failure = _field(sent, "failure_reason") or _field(sent, "status") or "unknown"
        return _record_refund_failure(refund, f"Stripe refund {sent.id}: {failure}")
    return refund_record_sent(refund=refund, provider_reference=sent.id)
