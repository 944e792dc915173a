"""Issuing invoices and credit notes: numbered per year without gaps, written once.

    invoice_issue_for_payment     the invoice of a funded milestone (inside payment_succeeded)
    credit_note_issue_for_refund  the credit note of money owed back (inside milestone_settle)
    credit_note_issue             a correction by the cooperative's staff

The number is taken from the year's InvoiceSequence row under its lock, in the same database
transaction as the invoice: if that transaction rolls back, so does the number, so there is
never a gap; two concurrent issuers wait for each other, so there is never a duplicate.
Invoices and credit notes share one sequence per year (Belgian practice: one continuous series).
"""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.access import is_moderator
from marketplace.locks import lock_milestone
from marketplace.models import ContractEvent, User
from payments import amounts
from payments.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    Payment,
    Refund,
    VatCategory,
)

# Stored on the invoice as issued (the PDF and the UBL show their own wording of it).
REVERSE_CHARGE_REASON = "Reverse charge – VAT Directive 2006/112/EC, art. 196"


def _next_number(year: int) -> tuple[int, str]:
    """The next number of ``year``; the sequence row stays locked until the caller's
    transaction ends. Expects to run inside the issuing transaction."""
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


def buyer_snapshot(client: User) -> dict:
    profile = getattr(client, "client_profile", None)
    if profile is None:
        return {
            "name": client.get_full_name(),
            "email": client.email,
            "country": "BE",
            "kind": "individual",
            "street": "",
            "postal_code": "",
            "city": "",
            "vat_number": "",
        }
    return {
        "name": profile.display_name,
        "kind": profile.kind,
        "email": client.email,
        "street": profile.street,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "country": (profile.country or "BE").upper(),
        # An individual's stray number is not theirs to be invoiced under.
        "vat_number": (
            (profile.vat_number or "").replace(" ", "").replace(".", "").upper()
            if profile.kind == "organisation"
            else ""
        ),
    }


def _issue(
    *,
    kind: str,
    payment: Payment | None,
    milestone,
    client: User,
    net_cents: int,
    vat_cents: int,
    vat_category: str,
    vat_rate_bp: int,
    description: str,
    credits: Invoice | None = None,
    paid_on: datetime.date | None = None,
) -> Invoice:
    """Write one document and its line. Expects to run inside the caller's transaction."""
    if net_cents < 0 or vat_cents < 0:
        raise ValueError("an invoice or a credit note carries non-negative amounts")
    contract = milestone.contract
    today = timezone.localdate()
    sequence_number, number = _next_number(today.year)
    invoice = Invoice.objects.create(
        number=number,
        year=today.year,
        sequence_number=sequence_number,
        kind=kind,
        credits=credits,
        client=client,
        contract=contract,
        milestone=milestone,
        payment=payment,
        issue_date=today,
        due_date=today + datetime.timedelta(days=settings.INVOICE_PAYMENT_TERM_DAYS),
        # A credit note speaks to the buyer of the invoice it corrects, as that invoice did.
        language=credits.language if credits else (client.language or settings.LANGUAGE_CODE),
        seller=seller_snapshot(),
        buyer=credits.buyer if credits else buyer_snapshot(client),
        buyer_reference=f"contract-{contract.pk}",
        net_cents=net_cents,
        vat_cents=vat_cents,
        gross_cents=net_cents + vat_cents,
        vat_category=vat_category,
        vat_rate_bp=vat_rate_bp,
        vat_exemption_reason=(
            REVERSE_CHARGE_REASON if vat_category == VatCategory.REVERSE_CHARGE else ""
        ),
        structured_communication=(
            credits.structured_communication
            if credits
            else (payment.structured_communication if payment else "")
        ),
        paid_on=paid_on,
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        description=description[:300],
        quantity=1,
        unit_price_cents=net_cents,
        net_cents=net_cents,
        vat_category=vat_category,
        vat_rate_bp=vat_rate_bp,
    )
    return invoice


def invoice_issue_for_payment(*, payment: Payment) -> Invoice:
    """The invoice of a funded milestone (paid, so it says so). Once per payment (a unique
    constraint); called inside payment_succeeded's transaction, which holds the payment's lock."""
    existing = Invoice.objects.filter(payment=payment, kind=InvoiceKind.INVOICE).first()
    if existing is not None:
        return existing
    milestone = payment.milestone
    return _issue(
        kind=InvoiceKind.INVOICE,
        payment=payment,
        milestone=milestone,
        client=payment.client,
        net_cents=payment.net_cents,
        vat_cents=payment.vat_cents,
        vat_category=payment.vat_category,
        vat_rate_bp=payment.vat_rate_bp,
        description=f"{milestone.contract.job.title} – {milestone.title}",
        # Issued when the money has arrived: the invoice says it is paid.
        paid_on=timezone.localdate(),
    )


def credit_note_issue_for_refund(*, refund: Refund, net_cents: int, vat_cents: int) -> Invoice:
    """The credit note that corrects a milestone's invoice by the part paid back. Called inside
    milestone_settle's transaction (the milestone's lock is held)."""
    payment = refund.payment
    original = Invoice.objects.get(payment=payment, kind=InvoiceKind.INVOICE)
    return _issue(
        kind=InvoiceKind.CREDIT_NOTE,
        payment=payment,
        milestone=original.milestone,
        client=original.client,
        net_cents=net_cents,
        vat_cents=vat_cents,
        vat_category=original.vat_category,
        vat_rate_bp=original.vat_rate_bp,
        description=f"{original.number}: {refund.reason}",
        credits=original,
    )


def invoice_remaining_cents(invoice: Invoice) -> tuple[int, int]:
    """What an invoice still amounts to, net and VAT, once its credit notes are deducted."""
    credited = invoice.credit_notes.aggregate(net=Sum("net_cents"), vat=Sum("vat_cents"))
    return (
        invoice.net_cents - (credited["net"] or 0),
        invoice.vat_cents - (credited["vat"] or 0),
    )


def credit_note_issue(*, invoice: Invoice, net_cents: int, reason: str, by: User) -> Invoice:
    """A correction of an issued invoice by the cooperative's staff: a credit note of
    ``net_cents`` (excl. VAT; the VAT follows at the invoice's rate), never more than what the
    invoice still amounts to after its earlier credit notes. Numbered in the year's sequence.

    The credit note is the document only: it moves no money. When the client is owed money
    back, refund it through funds.milestone_refund (which issues its own credit note) instead.
    Serialised with refunds by the milestone's lock, so two corrections cannot both pass the
    remaining-amount check."""
    if not is_moderator(by):
        raise PermissionDenied(_("Only the cooperative issues credit notes."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say what the credit note corrects.")}, code="reason")
    if invoice.kind != InvoiceKind.INVOICE:
        raise ValidationError(_("Only an invoice can be credited."), code="not_invoice")
    if net_cents <= 0:
        raise ValidationError(
            {"net_cents": _("A credit note is for a positive amount.")}, code="amount"
        )
    with transaction.atomic(durable=True):
        lock_milestone(invoice.milestone_id)
        remaining_net, remaining_vat = invoice_remaining_cents(invoice)
        if net_cents > remaining_net:
            raise ValidationError(
                {
                    "net_cents": _(
                        "At most %(amount)s EUR excl. VAT remains on invoice %(number)s."
                    )
                    % {"amount": amounts.format_eur(remaining_net), "number": invoice.number}
                },
                code="too_much",
            )
        # Crediting what remains credits exactly the VAT that remains, so the invoice and its
        # credit notes always add up to zero; a part takes the VAT of its own base.
        vat_cents = (
            remaining_vat
            if net_cents == remaining_net
            else min(amounts.percent_of(net_cents, invoice.vat_rate_bp), remaining_vat)
        )
        credit_note = _issue(
            kind=InvoiceKind.CREDIT_NOTE,
            payment=invoice.payment,
            milestone=invoice.milestone,
            client=invoice.client,
            net_cents=net_cents,
            vat_cents=vat_cents,
            vat_category=invoice.vat_category,
            vat_rate_bp=invoice.vat_rate_bp,
            description=f"{invoice.number}: {reason}",
            credits=invoice,
        )
        ContractEvent.objects.create(
            contract_id=invoice.contract_id,
            milestone_id=invoice.milestone_id,
            actor=by,
            kind="credit_note",
            note=f"{credit_note.number} ({invoice.number}): {reason}"[:1000],
        )
    return credit_note
