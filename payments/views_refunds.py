"""Staff: pay a milestone back to the client (a cancelled contract agreed by both sides).

The refund is posted at once (funds held → refund owed to the client, with a credit note);
the money then leaves through the provider that took it (a Stripe refund, or a line of the
next SEPA payout batch)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.access import access_milestone
from payments.access import access_refund, require_staff
from payments.forms_refunds import MilestoneRefundForm, RefundIbanForm
from payments.models import Payment, PaymentMethod
from payments.selectors.refunds import pending_refunds
from payments.services import funds
from payments.services.refunds import refund_set_iban, refund_source_iban
from payments.services.stripe_payments import stripe_refund_execute


@login_required
def milestone_refund(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    require_staff(request.user)
    milestone = access_milestone(viewer=request.user, milestone_id=milestone_id)
    if milestone.contract_id != contract_id:
        raise Http404
    payment = Payment.objects.filter(milestone=milestone, funded_milestone=True).first()
    form = MilestoneRefundForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            funds.milestone_refund(
                milestone=milestone, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            # A refusal by field ("reason", "iban") lands next to that field.
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("The milestone is cancelled; the refund to the client is on its way."),
            )
            return redirect("contract_detail", contract_id=contract_id)
    return TemplateResponse(
        request,
        "payments/refunds/milestone_refund.html",
        {"milestone": milestone, "contract": milestone.contract, "payment": payment, "form": form},
    )


@login_required
def refunds_pending(request: HttpRequest) -> HttpResponse:
    """Staff: every refund still owed, with what each needs (a Stripe refund to send, or the
    client's IBAN for the next payout batch)."""
    require_staff(request.user)
    before = request.GET.get("before")
    refunds = list(pending_refunds(before=int(before) if before and before.isdigit() else None))
    return TemplateResponse(
        request,
        "payments/refunds/pending.html",
        {"refunds": refunds, "iban_form": RefundIbanForm()},
    )


@require_POST
@login_required
def refund_stripe_send(request: HttpRequest, refund_id: int) -> HttpResponse:
    refund = access_refund(viewer=request.user, refund_id=refund_id)
    if refund.payment.method == PaymentMethod.BANK_TRANSFER:
        raise Http404
    try:
        refund = stripe_refund_execute(refund=refund)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if refund.failure_message:
            messages.error(request, refund.failure_message)
        else:
            messages.success(request, _("The refund is sent through Stripe."))
    return redirect("refunds_pending")


@login_required
def refund_iban(request: HttpRequest, refund_id: int) -> HttpResponse:
    refund = access_refund(viewer=request.user, refund_id=refund_id)
    if refund.payment.method != PaymentMethod.BANK_TRANSFER:
        raise Http404
    form = RefundIbanForm(
        request.POST or None, initial={"iban": refund.iban or refund_source_iban(refund)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            refund_set_iban(refund=refund, iban=form.cleaned_data["iban"], by=request.user)
        except ValidationError as error:
            # A refusal by field ("reason", "iban") lands next to that field.
            form.add_error(None, error)
        else:
            messages.success(request, _("The refund will be paid in the next payout batch."))
            return redirect("refunds_pending")
    return TemplateResponse(request, "payments/refunds/iban.html", {"refund": refund, "form": form})
