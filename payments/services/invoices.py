"""Issuing invoices and credit notes: numbered per year without gaps, written once.

The number is taken from the year's InvoiceSequence row under its lock, in the same database
transaction as the invoice: if that transaction rolls back, so does the number, so there is
never a gap; two concurrent issuers wait for each other, so there is never a duplicate.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    Refund,
)


def _next_number(year: int) -> tuple[int, str]:
    """Expects to run inside the issuing transaction."""
    try:
        with transaction.atomic():
            InvoiceSequence.objects.get_or_create(year=year)
    except IntegrityError:  # created by a concurrent issuer in the meantime
        pass
    sequence = InvoiceSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number, f"{year}-{sequence.last_number:06d}"


def seller_snapshot() -> dict:
    return dict(settings.COOPERATIVE)


def buyer_snapshot(client) -> dict:
    profile = getattr(client, "client_profile", None)
    if profile is None:
        return {"name": client.get_full_name(), "email": client.email, "country": "BE",
                "kind": "individual", "street": "", "postal_code": "", "city": "",
                "vat_number": ""}
    return {
        "name": profile.display_name,
        "kind": profile.kind,
        "email": client.email,
        "street": profile.street,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "country": profile.country or "BE",
        "vat_number": (profile.vat_number or "").replace(" ", "").upper(),
    }


def _issue(
    *,
    kind: str,
    payment: Payment,
    net_cents: int,
    vat_cents: int,
    description: str,
    credits: Invoice | None = None,
    paid_on: datetime.date | None = None,
) -> Invoice:
    milestone = payment.milestone
    contract = milestone.contract
    today = timezone.localdate()
    sequence_number, number = _next_number(today.year)
    invoice = Invoice.objects.create(
        number=number,
        year=today.year,
        sequence_number=sequence_number,
        kind=kind,
        credits=credits,
        client=payment.client,
        contract=contract,
        milestone=milestone,
        payment=payment,
        issue_date=today,
        due_date=today + datetime.timedelta(days=settings.INVOICE_PAYMENT_TERM_DAYS),
        language=payment.client.language or settings.LANGUAGE_CODE,
        seller=seller_snapshot(),
        buyer=buyer_snapshot(payment.client),
        buyer_reference=f"contract-{contract.pk}",
        net_cents=net_cents,
        vat_cents=vat_cents,
        gross_cents=net_cents + vat_cents,
        vat_category=payment.vat_category,
        vat_rate_bp=payment.vat_rate_bp,
        vat_exemption_reason=(
            "Reverse charge – VAT Directive 2006/112/EC, art. 196"
            if payment.vat_category == "AE"
            else ""
        ),
        structured_communication=payment.structured_communication or "",
        paid_on=paid_on,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description=description[:300],
        quantity=1,
        unit_price_cents=net_cents,
        net_cents=net_cents,
        vat_category=payment.vat_category,
        vat_rate_bp=payment.vat_rate_bp,
    )
    return invoice


def invoice_issue_for_payment(*, payment: Payment) -> Invoice:
    """The invoice of a funded milestone (paid, so it says so). Once per payment (a unique
    constraint); called inside payment_succeeded's transaction."""
    existing = Invoice.objects.filter(payment=payment, kind=InvoiceKind.INVOICE).first()
    if existing is not None:
        return existing
    milestone = payment.milestone
    return _issue(
        kind=InvoiceKind.INVOICE,
        payment=payment,
        net_cents=payment.net_cents,
        vat_cents=payment.vat_cents,
        description=f"{milestone.contract.job.title} – {milestone.title}",
        # Issued when the money has arrived: the invoice says it is paid.
        paid_on=timezone.localdate(),
    )


def credit_note_issue_for_refund(*, refund: Refund, net_cents: int, vat_cents: int) -> Invoice:
    """The credit note that corrects a milestone's invoice by the part paid back."""
    payment = refund.payment
    original = Invoice.objects.get(payment=payment, kind=InvoiceKind.INVOICE)
    return _issue(
        kind=InvoiceKind.CREDIT_NOTE,
        payment=payment,
        net_cents=net_cents,
        vat_cents=vat_cents,
        description=f"{original.number}: {refund.reason}",
        credits=original,
    )
