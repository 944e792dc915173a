"""Invoices and credit notes: the list (a client's own; staff see all) and the downloads (PDF
for everybody, Peppol UBL for clients with a Belgian VAT number), drawn on demand from the
stored document: the same bytes every time."""

import re
from dataclasses import dataclass

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from marketplace.access import is_moderator
from marketplace.models import User
from payments.access import access_invoice
from payments.invoice_pdf import invoice_pdf
from payments.models import Invoice, InvoiceKind
from payments.peppol import invoice_ubl, peppol_required

PAGE_SIZE = 25
NUMBER_PATTERN = re.compile(r"^(\d{4})-(\d{6,9})$")


class InvoiceFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", _("Invoices and credit notes")), *InvoiceKind.choices],
        required=False,
    )
    # Staff only: an invoice number or (part of) a client's e-mail address.
    q = forms.CharField(label=_("Number or client e-mail"), max_length=100, required=False)
    # Keyset pagination: the page starts after this number (newest first).
    after = forms.RegexField(regex=NUMBER_PATTERN, max_length=20, required=False)


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    peppol: bool


def invoices_visible_to(viewer: User) -> QuerySet[Invoice]:
    """A client's own invoices and credit notes; every one of them for staff. Newest first."""
    invoices = Invoice.objects.select_related("contract__job", "credits").order_by(
        "-year", "-sequence_number"
    )
    if is_moderator(viewer):
        return invoices.select_related("client")
    return invoices.filter(client=viewer)


def _page(invoices: QuerySet[Invoice], after: str) -> tuple[list[Invoice], str]:
    if after:
        year, number = (int(part) for part in NUMBER_PATTERN.match(after).groups())
        invoices = invoices.filter(Q(year__lt=year) | Q(year=year, sequence_number__lt=number))
    page = list(invoices[: PAGE_SIZE + 1])
    next_after = page[PAGE_SIZE - 1].number if len(page) > PAGE_SIZE else ""
    return page[:PAGE_SIZE], next_after


@require_GET
@login_required
def my_invoices(request: HttpRequest) -> HttpResponse:
    staff = is_moderator(request.user)
    form = InvoiceFilterForm(request.GET)
    invoices = invoices_visible_to(request.user)
    after = ""
    if form.is_valid():
        if form.cleaned_data["kind"]:
            invoices = invoices.filter(kind=form.cleaned_data["kind"])
        query = form.cleaned_data["q"].strip()
        if staff and query:
            invoices = invoices.filter(
                Q(number__startswith=query) | Q(client__email__icontains=query)
            )
        after = form.cleaned_data["after"]
    page, next_after = _page(invoices, after)
    params = request.GET.copy()
    params.pop("after", None)
    first_query = params.urlencode()
    next_query = ""
    if next_after:
        params["after"] = next_after
        next_query = params.urlencode()
    return TemplateResponse(
        request,
        "payments/invoices/my_invoices.html",
        {
            "form": form,
            "staff": staff,
            "rows": [InvoiceRow(invoice, peppol_required(invoice)) for invoice in page],
            "next_query": next_query,
            "first_query": first_query,
            "first_page": not after,
        },
    )


def _filename(invoice: Invoice, extension: str) -> str:
    stem = "credit-note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice"
    return f"{stem}-{invoice.number}.{extension}"


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The client's details: kept out of shared caches.
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
@login_required
def invoice_pdf_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = access_invoice(viewer=request.user, invoice_id=invoice_id)
    return _download(invoice_pdf(invoice), "application/pdf", _filename(invoice, "pdf"))


@require_GET
@login_required
def invoice_ubl_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = access_invoice(viewer=request.user, invoice_id=invoice_id)
    if not peppol_required(invoice):
        raise Http404
    return _download(
        invoice_ubl(invoice), "application/xml; charset=utf-8", _filename(invoice, "xml")
    )
