"""Staff: record what the solidarity fund paid for, and correct a mistake by a reversal.

404 for everybody but staff, before anything else (payments.access.require_staff); every
change goes through payments.services.solidarity, a refusal lands next to its field."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from payments.access import access_solidarity_use, require_staff
from payments.forms_solidarity import SolidarityUseCorrectForm, SolidarityUseForm
from payments.selectors.solidarity import PAGE_SIZE, solidarity_fund_balance, solidarity_uses
from payments.services.solidarity import solidarity_use_correct, solidarity_use_record


def _before(request: HttpRequest) -> int | None:
    try:
        return int(request.GET["before"])
    except (KeyError, ValueError):
        return None


def solidarity_fund(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    form = SolidarityUseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            solidarity_use_record(
                by=request.user,
                spent_on=form.cleaned_data["spent_on"],
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
                amount_cents=form.amount_cents,
                request_key=str(form.cleaned_data["request_key"]),
            )
        except ValidationError as error:
            # Keyed by field ("amount" when the fund is short): shown next to it.
            form.add_error(None, error)
        else:
            messages.success(request, _("The use of the solidarity fund is recorded."))
            return redirect("solidarity_fund")
    uses = list(solidarity_uses(before=_before(request)))
    return TemplateResponse(
        request,
        "payments/solidarity/fund.html",
        {
            "form": form,
            "uses": uses,
            "balance_cents": solidarity_fund_balance(),
            "older": uses[-1].pk if len(uses) == PAGE_SIZE else None,
        },
    )


def solidarity_use_correct_page(request: HttpRequest, use_id: int) -> HttpResponse:
    use = access_solidarity_use(viewer=request.user, use_id=use_id)
    form = SolidarityUseCorrectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            solidarity_use_correct(use=use, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The use is cancelled; its amount is back in the fund."))
            return redirect("solidarity_fund")
    return TemplateResponse(
        request,
        "payments/solidarity/correct.html",
        {"use": use, "form": form},
    )
