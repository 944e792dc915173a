"""Bank-transfer pages: the client's transfer instructions (with an EPC "SEPA QR" code), and
the cooperative's reconciliation pages (transfers waiting for their money, statement import and
its results). Staff pages answer 404 to anybody else, like every payments staff page."""

from decimal import Decimal

import segno.helpers
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from stdnum import iban as stdnum_iban

from marketplace.models import MilestoneStatus
from payments import amounts
from payments.access import (
    access_bank_statement,
    access_milestone_to_pay,
    access_payment,
    require_staff,
)
from payments.forms_bank import BankStatementUploadForm, MarkReceivedForm
from payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
    StatementLineStatus,
    VatCategory,
)
from payments.selectors import bank as selectors
from payments.services import bank_transfers as services
from payments.services.funds import payment_create
from payments.structured_communication import format_communication

# Lines that could not be read, kept in the session from the import to its results page.
PROBLEMS_SESSION_KEY = "bank-statement-{pk}-problems"
MAX_PROBLEMS_SHOWN = 200


# --- The client's page -----------------------------------------------------------------------


def _transfer_qr_svg(payment: Payment) -> str:
    """The EPC QR code ("SEPA QR", EPC069-12) that banking apps scan to fill the transfer in:
    the cooperative, its IBAN, the amount and — as the structured creditor reference, where
    Belgian banks read it as the structured communication — the 12 digits."""
    cooperative = settings.COOPERATIVE
    qr = segno.helpers.make_epc_qr(
        name=cooperative["name"][:70],
        iban=cooperative["iban"],
        bic=cooperative.get("bic") or None,
        amount=Decimal(payment.gross_cents) / 100,
        reference=payment.structured_communication,
    )
    # segno writes the SVG from our own values only (no user input): safe to inline.
    return mark_safe(qr.svg_inline(scale=4, svgclass="payment-qr"))  # noqa: S308  # nosec B308 B703


def _euros_to_the_cent(cents: int) -> str:
    """The amount to type into a transfer, always with its cents (968,00 €, not 968 €)."""
    value = number_format(Decimal(cents) / 100, decimal_pos=2, force_grouping=True)
    return f"{value} €"


@login_required
def pay_bank_transfer(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    """What the client needs to pay a milestone by bank transfer. The payment (and so its
    structured communication) is made on the first visit and the same one is shown on every
    visit after (payment_create reuses a pending transfer)."""
    milestone = access_milestone_to_pay(viewer=request.user, milestone_id=milestone_id)
    if milestone.contract_id != contract_id:
        raise Http404
    if request.method == "POST":
        # The method-choice page may post here; the page itself is the answer to a GET.
        return redirect("pay_bank_transfer", contract_id, milestone.pk)
    context = {"contract": milestone.contract, "milestone": milestone, "payment": None}
    if milestone.status != MilestoneStatus.AWAITING_FUNDING:
        context["problem"] = _("This milestone is already paid: there is nothing to transfer.")
    else:
        try:
            payment = payment_create(
                milestone=milestone, client=request.user, method=PaymentMethod.BANK_TRANSFER
            )
        except ValidationError as error:
            context["problem"] = " ".join(error.messages)
        else:
            cooperative = settings.COOPERATIVE
            context.update(
                payment=payment,
                amount_to_transfer=_euros_to_the_cent(payment.gross_cents),
                cooperative=cooperative,
                iban=stdnum_iban.format(cooperative["iban"]),
                communication=format_communication(payment.structured_communication),
                vat_percent=Decimal(payment.vat_rate_bp) / 100,
                reverse_charge=payment.vat_category == VatCategory.REVERSE_CHARGE,
                reverse_charge_mention=amounts.REVERSE_CHARGE_MENTION,
                qr_svg=_transfer_qr_svg(payment),
            )
    return TemplateResponse(request, "payments/bank/transfer.html", context)


# --- Staff: transfers waiting for their money ------------------------------------------------


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def bank_transfers(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    page = selectors.pending_bank_transfers(
        after=_cursor(request.GET.get("after")), size=selectors.PENDING_PAGE_SIZE
    )
    rows = [
        (
            payment,
            format_communication(payment.structured_communication),
            MarkReceivedForm(payment_id=payment.pk),
        )
        for payment in page.payments
    ]
    context = {
        "rows": rows,
        "next_after": page.next_after,
        "is_first_page": not request.GET.get("after"),
    }
    return TemplateResponse(request, "payments/bank/transfers.html", context)


@login_required
def bank_transfer_mark_received(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Confirm one transfer received by typing its amount. The list posts here directly; a
    refused amount comes back on this page, the error next to the field."""
    require_staff(request.user)
    payment = access_payment(viewer=request.user, payment_id=payment_id)
    if payment.method != PaymentMethod.BANK_TRANSFER:
        raise Http404
    form = MarkReceivedForm(request.POST or None, payment_id=payment.pk)
    if request.method == "POST" and form.is_valid():
        already = payment.status == PaymentStatus.SUCCEEDED
        try:
            payment = services.bank_transfer_mark_received(
                payment=payment, amount_cents=form.cleaned_data["amount"], by=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if already:
                messages.info(request, _("This transfer was already recorded: nothing changed."))
            elif payment.funded_milestone:
                messages.success(
                    request,
                    _("Transfer recorded: “%(milestone)s” is paid and the member can start.")
                    % {"milestone": payment.milestone.title},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "Transfer recorded, but “%(milestone)s” was no longer waiting for it: "
                        "the money is to be paid back to the client."
                    )
                    % {"milestone": payment.milestone.title},
                )
            return redirect("bank_transfers")
    context = {
        "payment": payment,
        "form": form,
        "communication": format_communication(payment.structured_communication),
    }
    return TemplateResponse(request, "payments/bank/transfer_received.html", context)


# --- Staff: bank statements ------------------------------------------------------------------


@login_required
def bank_statement_import(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    form = BankStatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = services.bank_statement_import(
            rows=form.cleaned_data["statement"].rows, filename=form.filename, by=request.user
        )
        problems = sorted(form.problems + result.failures, key=lambda p: p.line_number)
        request.session[PROBLEMS_SESSION_KEY.format(pk=result.statement.pk)] = [
            [problem.line_number, str(problem.message)] for problem in problems
        ][:MAX_PROBLEMS_SHOWN]
        count = len(form.cleaned_data["statement"].rows) - len(result.failures)
        messages.success(
            request,
            ngettext(
                "Statement imported: %(count)s line recorded.",
                "Statement imported: %(count)s lines recorded.",
                count,
            )
            % {"count": count},
        )
        return redirect("bank_statement_detail", result.statement.pk)
    context = {
        "form": form,
        "problems": form.problems[:MAX_PROBLEMS_SHOWN] if form.is_bound else [],
        "statements": selectors.recent_bank_statements(),
    }
    return TemplateResponse(request, "payments/bank/statement_import.html", context)


@login_required
def bank_statement_detail(request: HttpRequest, statement_id: int) -> HttpResponse:
    statement = access_bank_statement(viewer=request.user, statement_id=statement_id)
    problems = request.session.pop(PROBLEMS_SESSION_KEY.format(pk=statement.pk), [])
    groups = selectors.statement_results(statement)
    context = {
        "statement": statement,
        "groups": groups,
        "problems": problems,
        "needs_attention": {
            StatementLineStatus.WRONG_AMOUNT,
            StatementLineStatus.UNMATCHED,
            StatementLineStatus.ALREADY_PAID,
        },
    }
    return TemplateResponse(request, "payments/bank/statement_detail.html", context)
