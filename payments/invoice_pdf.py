"""The PDF of an invoice or a credit note, drawn from its stored snapshot in its own language.

The same invoice always gives the same bytes (reportlab's ``invariant`` fixes the creation date
and the document id), so a download today and one in ten years are the same document.

Arabic is written right to left: every text is shaped (arabic_reshaper joins the letters) and
put in visual order (python-bidi) before it is drawn, and the page is mirrored (labels on the
right, columns from right to left). Codes and numbers (IBAN, structured communication, invoice
number, amounts) are drawn as they are: they read left to right in every language. The fonts
are bundled (payments/fonts, DejaVu Sans: Latin and Arabic glyphs), not looked up on the system.
"""

import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import arabic_reshaper
import segno.helpers
from bidi import get_display
from django.utils import formats, translation
from django.utils.translation import gettext as _
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from payments.models import Invoice, InvoiceKind, VatCategory

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "SiriusSans"
FONT_BOLD = "SiriusSans-Bold"
RTL_LANGUAGES = frozenset({"ar"})
# The legal mention for reverse charge, in French and English whatever the invoice's language:
# the wording the Belgian VAT administration and the buyer's administration both recognise.
REVERSE_CHARGE_PDF_MENTION = "Autoliquidation / Reverse charge – art. 196 VAT Directive"
ARABIC_RANGES = ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD)


def format_structured_communication(digits: str) -> str:
    """12 digits as +++DDD/DDDD/DDDDD+++ (Belgian OGM/VCS); anything else as it is."""
    if len(digits) != 12 or not digits.isdigit():
        return digits
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


def format_amount(cents: int) -> str:
    """An amount in euros, in the active language's notation, always with cents."""
    value = Decimal(cents) / 100
    return f"{formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)} €"


def format_rate(basis_points: int) -> str:
    value = Decimal(basis_points) / 100
    places = 0 if basis_points % 100 == 0 else 2
    return f"{formats.number_format(value, decimal_pos=places, use_l10n=True)} %"


def format_date(day) -> str:
    return formats.date_format(day, "DATE_FORMAT", use_l10n=True)


def _has_rtl(text: str) -> bool:
    return any(start <= ord(ch) <= end for ch in text for start, end in ARABIC_RANGES)


class _Writer:
    """Texts and layout for one document, left to right or right to left."""

    def __init__(self, rtl: bool):
        self.rtl = rtl
        align = TA_RIGHT if rtl else TA_LEFT
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, alignment=align)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8, leading=10)
        self.bold = ParagraphStyle("bold", parent=self.body, fontName=FONT_BOLD)
        self.title = ParagraphStyle(
            "title", parent=self.body, fontName=FONT_BOLD, fontSize=16, leading=20
        )
        self.number = ParagraphStyle("number", parent=self.body, alignment=TA_RIGHT)
        self.number_bold = ParagraphStyle("number_bold", parent=self.number, fontName=FONT_BOLD)

    def visual(self, text: str) -> str:
        """Text in the order it is drawn: shaped and reordered when it holds Arabic (in a
        right-to-left paragraph on an Arabic page); text without any (a Latin address, a
        name) is left as it is written, on any page."""
        text = str(text)
        if not _has_rtl(text):
            return text
        return get_display(arabic_reshaper.reshape(text), base_dir="R" if self.rtl else "L")

    def para(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(escape(self.visual(text)), style or self.body)

    def lines(self, texts: list[str], style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(
            "<br/>".join(escape(self.visual(t)) for t in texts if t), style or self.body
        )

    def code(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        """A code or an amount: never reordered (it reads left to right in Arabic too)."""
        return Paragraph(escape(str(text)), style or self.number)

    def row(self, cells: list) -> list:
        return list(reversed(cells)) if self.rtl else cells

    def widths(self, widths: list[float]) -> list[float]:
        return list(reversed(widths)) if self.rtl else widths

    def table(self, rows: list[list], widths: list[float], *, header: bool = True) -> Table:
        table = Table([self.row(r) for r in rows], colWidths=self.widths(widths))
        style = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
        if header:
            style += [
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")),
            ]
        table.setStyle(TableStyle(style))
        return table


def _address(party: dict) -> list[str]:
    city = " ".join(p for p in (party.get("postal_code", ""), party.get("city", "")) if p)
    return [party.get("street", ""), city, party.get("country", "")]


def epc_qr_fields(invoice: Invoice, amount_cents: int) -> dict:
    """What the EPC payment QR code carries: the cooperative's account, the amount in euros and
    the structured communication (Belgian banking apps read it from the free-text field)."""
    seller = invoice.seller
    return {
        "name": seller["name"][:70],
        "iban": seller["iban"],
        "bic": seller.get("bic") or None,
        "amount": Decimal(amount_cents) / 100,
        "text": format_structured_communication(invoice.structured_communication) or invoice.number,
    }


def _qr_drawing(invoice: Invoice, amount_cents: int, size: float) -> Drawing:
    """The EPC ("SEPA") payment QR code for ``amount_cents`` to the cooperative's account, drawn
    as vector squares (no image library, same bytes every time)."""
    qr = segno.helpers.make_epc_qr(**epc_qr_fields(invoice, amount_cents))
    rows = list(qr.matrix_iter(scale=1, border=2))
    module = size / len(rows)
    drawing = Drawing(size, size)
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(
                    Rect(
                        x * module,
                        size - (y + 1) * module,
                        module,
                        module,
                        fillColor=colors.black,
                        strokeColor=None,
                    )
                )
    return drawing


def _communication(w: _Writer, communication: str) -> list:
    """The structured communication under its label; the code itself is never reordered."""
    if not communication:
        return []
    return [
        w.para(_("Structured communication"), w.bold),
        w.code(communication, w.body if not w.rtl else w.number),
    ]


def amount_due_cents(invoice: Invoice) -> int:
    """What the client still has to pay on this document: nothing on a paid invoice or on a
    credit note (there the cooperative owes the client)."""
    if invoice.kind != InvoiceKind.INVOICE or invoice.paid_on is not None:
        return 0
    return invoice.gross_cents


def invoice_pdf(invoice: Invoice, *, compress: bool = True) -> bytes:
    """The PDF of an invoice or a credit note. Queries: its lines, and the invoice a credit
    note corrects."""
    _register_fonts()
    with translation.override(invoice.language or "fr"):
        return _build(invoice, compress=compress)


def _build(invoice: Invoice, *, compress: bool) -> bytes:
    w = _Writer(rtl=translation.get_language() in RTL_LANGUAGES)
    seller, buyer = invoice.seller, invoice.buyer
    is_credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
    title = _("Credit note") if is_credit_note else _("Invoice")
    page_width = A4[0] - 36 * mm
    columns = [page_width * share for share in (0.5, 0.12, 0.19, 0.19)]
    story: list = []

    # Seller and title.
    seller_lines = [
        seller["name"],
        *_address(seller),
        _("VAT number: %(number)s") % {"number": seller.get("vat_number", "")},
        _("IBAN: %(iban)s – BIC: %(bic)s")
        % {"iban": seller.get("iban", ""), "bic": seller.get("bic", "")},
        seller.get("email", ""),
    ]
    heading = [
        w.lines(seller_lines),
        Paragraph(
            f"{escape(w.visual(title))}<br/>{escape(invoice.number)}",
            ParagraphStyle("heading", parent=w.title, alignment=TA_LEFT if w.rtl else TA_RIGHT),
        ),
    ]
    story.append(w.table([heading], [page_width * 0.55, page_width * 0.45], header=False))
    story.append(Spacer(1, 8 * mm))

    # Buyer and document facts.
    buyer_lines = [buyer.get("name", ""), *_address(buyer)]
    if buyer.get("vat_number"):
        buyer_lines.append(_("VAT number: %(number)s") % {"number": buyer["vat_number"]})
    buyer_block = [w.para(_("Bill to"), w.bold), w.lines(buyer_lines)]
    facts = [
        (_("Number"), invoice.number),
        (_("Issue date"), format_date(invoice.issue_date)),
    ]
    if is_credit_note:
        original = invoice.credits
        facts.append(
            (
                _("Corrects invoice"),
                _("%(number)s of %(date)s")
                % {"number": original.number, "date": format_date(original.issue_date)},
            )
        )
    else:
        facts.append((_("Due date"), format_date(invoice.due_date)))
    facts.append((_("Your reference"), invoice.buyer_reference))
    facts_table = w.table(
        [[w.para(label, w.bold), w.para(value)] for label, value in facts],
        [page_width * 0.2, page_width * 0.3],
        header=False,
    )
    story.append(
        w.table(
            [[buyer_block, facts_table]],
            [page_width * 0.5, page_width * 0.5],
            header=False,
        )
    )
    story.append(Spacer(1, 8 * mm))

    # Lines.
    rows = [
        [
            w.para(_("Description"), w.bold),
            w.para(_("Quantity"), w.number_bold),
            w.para(_("Unit price"), w.number_bold),
            w.para(_("Net amount"), w.number_bold),
        ]
    ]
    for line in invoice.lines.all():
        rows.append(
            [
                w.para(line.description),
                w.code(str(line.quantity)),
                w.code(format_amount(line.unit_price_cents)),
                w.code(format_amount(line.net_cents)),
            ]
        )
    story.append(
        w.table(
            rows,
            columns,
        )
    )
    story.append(Spacer(1, 6 * mm))

    # VAT breakdown (one row per category: this project issues one category per document).
    reverse_charge = invoice.vat_category == VatCategory.REVERSE_CHARGE
    category_label = _("Reverse charge") if reverse_charge else _("Standard rate")
    story.append(
        w.table(
            [
                [
                    w.para(_("VAT category"), w.bold),
                    w.para(_("Rate"), w.number_bold),
                    w.para(_("Taxable amount"), w.number_bold),
                    w.para(_("VAT"), w.number_bold),
                ],
                [
                    w.para(f"{category_label} ({invoice.vat_category})"),
                    w.code(format_rate(invoice.vat_rate_bp)),
                    w.code(format_amount(invoice.net_cents)),
                    w.code(format_amount(invoice.vat_cents)),
                ],
            ],
            columns,
        )
    )
    if reverse_charge:
        story.append(Spacer(1, 2 * mm))
        story.append(w.para(REVERSE_CHARGE_PDF_MENTION, w.bold))
    story.append(Spacer(1, 6 * mm))

    # Totals.
    totals = [
        (_("Total excl. VAT"), invoice.net_cents, w.body),
        (_("VAT"), invoice.vat_cents, w.body),
        (
            _("Total credited incl. VAT") if is_credit_note else _("Total incl. VAT"),
            invoice.gross_cents,
            w.bold,
        ),
    ]
    due = amount_due_cents(invoice)
    if not is_credit_note:
        totals.append((_("Amount due"), due, w.bold))
    total_rows = [
        [
            w.para(label, style),
            w.code(format_amount(cents), w.number_bold if style is w.bold else None),
        ]
        for label, cents, style in totals
    ]
    story.append(
        w.table(
            [["", *r] if not w.rtl else [*r, ""] for r in total_rows],
            [page_width * 0.45, page_width * 0.35, page_width * 0.2],
            header=False,
        )
    )
    story.append(Spacer(1, 6 * mm))

    # Payment.
    communication = format_structured_communication(invoice.structured_communication)
    if invoice.paid_on is not None:
        story.append(
            w.para(_("Paid on %(date)s.") % {"date": format_date(invoice.paid_on)}, w.bold)
        )
    if is_credit_note:
        story.append(
            w.para(
                _(
                    "This credit note corrects invoice %(number)s. The amount credited is paid "
                    "back to you the way you paid, or deducted from what you owe."
                )
                % {"number": invoice.credits.number}
            )
        )
    elif due > 0:
        payment = [
            w.para(
                _("Please pay %(amount)s by %(date)s to %(iban)s (BIC %(bic)s).")
                % {
                    "amount": format_amount(due),
                    "date": format_date(invoice.due_date),
                    "iban": seller.get("iban", ""),
                    "bic": seller.get("bic", ""),
                }
            ),
            *_communication(w, communication),
        ]
        story.append(
            w.table(
                [[payment, _qr_drawing(invoice, due, 30 * mm)]],
                [page_width - 35 * mm, 35 * mm],
                header=False,
            )
        )
    else:
        story.extend(_communication(w, communication))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{title} {invoice.number}",
        author=seller["name"],
        subject=invoice.number,
        creator=seller["name"],
        lang=translation.get_language(),
        invariant=1,
        pageCompression=1 if compress else 0,
    )
    document.build(story)
    return buffer.getvalue()
