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

from marketplace.access import access_milestone
from payments.access import require_staff
from payments.forms_refunds import MilestoneRefundForm
from payments.models import Payment
from payments.services import funds


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
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    for item in errors:
                        form.add_error(field if field in form.fields else None, item)
            else:
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
