"""Paying a milestone by card or Bancontact (Stripe), and Stripe's webhook.

    pay_milestone     the milestone, its amounts with VAT, and the ways to pay it (client only)
    pay_card          Stripe.js's card form for one card payment
    stripe_return     where the card form and the bank send the client back: the payment's result
    stripe_webhook    Stripe's events (signed; no log-in, no CSRF)

Milestones and payments are reached through payments.access only (404 for anybody else); every
change goes through payments.services. No page holds a database transaction while Stripe is
called: the services commit before and after each call.
"""

import logging

import stripe
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.models import ContractStatus, Milestone, MilestoneStatus
from payments import amounts
from payments.access import access_milestone_to_pay, access_payment
from payments.models import Payment, PaymentMethod, PaymentStatus
from payments.services import funds, stripe_payments, webhooks
from payments.stripe_gateway import using_localstripe

logger = logging.getLogger(__name__)

# localstripe's Stripe.js stand-in accepts any key of the form pk_...
LOCALSTRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
# Stripe requires Stripe.js to be loaded from its own domain (never bundled or self-hosted, for
# PCI compliance): the only script of the site not served from our static files.
STRIPE_JS_URL = "https://js.stripe.com/v3/"
STRIPE_ERROR = gettext_lazy(
    "The payment service did not answer. Nothing was charged: please try again in a moment."
)


class PaymentMethodForm(forms.Form):
    method = forms.ChoiceField(
        label=gettext_lazy("Pay by"),
        choices=[
            (PaymentMethod.CARD, gettext_lazy("Card (Visa, Mastercard…)")),
            (PaymentMethod.BANCONTACT, gettext_lazy("Bancontact")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose how you want to pay."),
            "invalid_choice": gettext_lazy("Choose card or Bancontact."),
        },
    )


def stripe_js_url() -> str:
    if using_localstripe():
        return f"{settings.LOCALSTRIPE_URL}/js.stripe.com/v3/"
    return STRIPE_JS_URL


def publishable_key() -> str:
    if using_localstripe():
        return LOCALSTRIPE_PUBLISHABLE_KEY
    return settings.STRIPE_PUBLISHABLE_KEY


def _milestone_to_pay(request: HttpRequest, contract_id: int, milestone_id: int) -> Milestone:
    milestone = access_milestone_to_pay(viewer=request.user, milestone_id=milestone_id)
    if milestone.contract_id != contract_id:
        raise Http404
    return milestone


def _render_pay_page(
    request: HttpRequest, milestone: Milestone, form: PaymentMethodForm, *, status: int = 200
) -> TemplateResponse:
    contract = milestone.contract
    treatment = amounts.vat_treatment_for(getattr(request.user, "client_profile", None))
    gross = amounts.gross_for(milestone.amount_cents, treatment)
    last_attempt = (
        Payment.objects.filter(milestone=milestone, client=request.user)
        .order_by("-created_at", "-pk")
        .first()
    )
    context = {
        "contract": contract,
        "milestone": milestone,
        "gross": gross,
        "vat_rate_percent": treatment.rate_bp / 100,
        "reverse_charge": treatment.category == "AE",
        "reverse_charge_mention": treatment.exemption_reason,
        "payable": (
            milestone.status == MilestoneStatus.AWAITING_FUNDING
            and contract.status == ContractStatus.ACTIVE
        ),
        "already_paid": milestone.status != MilestoneStatus.AWAITING_FUNDING,
        "last_attempt": last_attempt,
        "form": form,
    }
    return TemplateResponse(request, "payments/stripe/pay_milestone.html", context, status=status)


@login_required
def pay_milestone(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    milestone = _milestone_to_pay(request, contract_id, milestone_id)
    if request.method != "POST":
        return _render_pay_page(request, milestone, PaymentMethodForm())
    form = PaymentMethodForm(request.POST)
    if not form.is_valid():
        return _render_pay_page(request, milestone, form, status=400)
    try:
        payment = funds.payment_create(
            milestone=milestone, client=request.user, method=form.cleaned_data["method"]
        )
        started = stripe_payments.stripe_payment_start(payment=payment)
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        form.add_error(None, text)
        milestone.refresh_from_db()
        return _render_pay_page(request, milestone, form, status=400)
    except stripe.StripeError:
        logger.exception("starting a Stripe payment for milestone %s failed", milestone.pk)
        form.add_error(None, STRIPE_ERROR)
        return _render_pay_page(request, milestone, form, status=502)
    if payment.method == PaymentMethod.BANCONTACT:
        if started.redirect_url.startswith("https://"):
            return HttpResponseRedirect(started.redirect_url)
        # No bank page to go to (already confirmed, or refused): the return page says which.
        return redirect("stripe_return", payment_id=payment.pk)
    return redirect("pay_card", payment_id=payment.pk)


def _client_payment(request: HttpRequest, payment_id: int) -> Payment:
    payment = access_payment(viewer=request.user, payment_id=payment_id)
    if payment.client_id != request.user.pk:  # staff may look at it, only the client pays
        raise Http404
    return payment


@login_required
def pay_card(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = _client_payment(request, payment_id)
    if payment.method != PaymentMethod.CARD:
        raise Http404
    if payment.status != PaymentStatus.PENDING:
        return redirect("stripe_return", payment_id=payment.pk)
    try:
        started = stripe_payments.stripe_payment_start(payment=payment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("stripe_return", payment_id=payment.pk)
    except stripe.StripeError:
        logger.exception("fetching the PaymentIntent of payment %s failed", payment.pk)
        messages.error(request, STRIPE_ERROR)
        return redirect("stripe_return", payment_id=payment.pk)
    if started.status in ("succeeded", "processing", "canceled"):
        return redirect("stripe_return", payment_id=payment.pk)
    context = {
        "payment": payment,
        "milestone": payment.milestone,
        "contract": payment.milestone.contract,
        "client_secret": started.client_secret,
        "publishable_key": publishable_key(),
        "stripe_js_url": stripe_js_url(),
        "return_url": reverse("stripe_return", args=[payment.pk]),
    }
    return TemplateResponse(request, "payments/stripe/pay_card.html", context)


@login_required
def stripe_return(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = access_payment(viewer=request.user, payment_id=payment_id)
    checked = True
    try:
        payment = stripe_payments.stripe_payment_sync(payment=payment)
    except stripe.StripeError:
        logger.exception("checking the PaymentIntent of payment %s failed", payment.pk)
        checked = False
    except stripe_payments.IntentMismatch:
        logger.exception("the PaymentIntent of payment %s does not match it", payment.pk)
        checked = False
    milestone = payment.milestone
    milestone.refresh_from_db(fields=["status"])
    context = {
        "payment": payment,
        "milestone": milestone,
        "contract": milestone.contract,
        "checked": checked,
        "paid": payment.status == PaymentStatus.SUCCEEDED and payment.funded_milestone,
        "paid_twice": payment.status == PaymentStatus.SUCCEEDED and not payment.funded_milestone,
        "failed": payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED),
        "can_retry": milestone.status == MilestoneStatus.AWAITING_FUNDING
        and payment.client_id == request.user.pk,
    }
    return TemplateResponse(request, "payments/stripe/return.html", context)


@csrf_exempt  # Stripe cannot send our CSRF token; the signature authenticates the request
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhooks.stripe_webhook_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except webhooks.WebhookRejected as error:
        logger.warning("Stripe webhook refused: %s", error)
        return HttpResponse(status=400)
    except webhooks.WebhookProcessingFailed:
        return HttpResponse(status=500)
    return HttpResponse(event.status, content_type="text/plain")
