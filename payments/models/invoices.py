"""Invoices and credit notes of the cooperative to its clients. Written once, never edited
(a correction is a credit note); kept ten years. Numbers run per year without gaps."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from matching.models import ImmutableRecord


class InvoiceSequence(models.Model):
    """The last number given in a year; locked while the next invoice is written, so that
    numbers have no gap and no duplicate even under concurrency."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("invoice numbering")
        verbose_name_plural = _("invoice numbering")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("invoice")
    CREDIT_NOTE = "credit_note", _("credit note")


class Invoice(ImmutableRecord):
    number = models.CharField(_("number"), max_length=20, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence_number = models.PositiveIntegerField()
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices)
    credits = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("corrects invoice"),
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices"
    )
    contract = models.ForeignKey(
        "marketplace.Contract", on_delete=models.PROTECT, related_name="invoices"
    )
    milestone = models.ForeignKey(
        "marketplace.Milestone", on_delete=models.PROTECT, related_name="invoices"
    )
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    issue_date = models.DateField(_("issued on"))
    due_date = models.DateField(_("due on"))
    language = models.CharField(max_length=8)
    currency = models.CharField(max_length=3, default="EUR")
    # Snapshots: what the seller and the buyer were called, where, with which numbers, on the
    # day of issue. A later change of address does not rewrite an issued invoice.
    seller = models.JSONField()
    buyer = models.JSONField()
    buyer_reference = models.CharField(max_length=100)
    net_cents = models.BigIntegerField()
    vat_cents = models.BigIntegerField()
    gross_cents = models.BigIntegerField()
    vat_category = models.CharField(max_length=2)
    vat_rate_bp = models.PositiveSmallIntegerField()
    vat_exemption_reason = models.CharField(max_length=200, blank=True)
    structured_communication = models.CharField(max_length=12, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-sequence_number"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence_number"], name="invoice_number"),
            models.UniqueConstraint(
                fields=["payment"],
                condition=models.Q(kind="invoice"),
                name="invoice_once_per_payment",
            ),
            models.CheckConstraint(
                condition=models.Q(gross_cents=models.F("net_cents") + models.F("vat_cents")),
                name="invoice_gross_is_net_plus_vat",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(ImmutableRecord):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_code = models.CharField(max_length=3, default="C62")
    unit_price_cents = models.BigIntegerField()
    net_cents = models.BigIntegerField()
    vat_category = models.CharField(max_length=2)
    vat_rate_bp = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["invoice_id", "position"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]

    def __str__(self) -> str:
        return self.description
