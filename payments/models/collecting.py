"""Money coming in: payments of milestones (Stripe or bank transfer), Stripe webhook events,
bank statements, and refunds going back through the provider that took the money."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentMethod(models.TextChoices):
    CARD = "card", _("card")
    BANCONTACT = "bancontact", _("Bancontact")
    BANK_TRANSFER = "bank_transfer", _("bank transfer")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the payment")
    SUCCEEDED = "succeeded", _("paid")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class VatCategory(models.TextChoices):
    """UNCL 5305 codes, as Peppol BIS 3.0 uses them."""

    STANDARD = "S", _("standard rate")
    REVERSE_CHARGE = "AE", _("reverse charge")


class Payment(models.Model):
    """One attempt by the client to pay one milestone. Amounts are fixed at creation: the
    net is the milestone's amount (what the member bid, excl. VAT), VAT follows the client.

    Every payment has its own structured communication (+++DDD/DDDD/DDDDD+++), shown for bank
    transfers and printed on the invoice."""

    milestone = models.ForeignKey(
        "marketplace.Milestone", on_delete=models.PROTECT, related_name="payments"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(_("method"), max_length=14, choices=PaymentMethod.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    net_cents = models.PositiveIntegerField(_("amount excl. VAT (cents)"))
    vat_cents = models.PositiveIntegerField(_("VAT (cents)"))
    gross_cents = models.PositiveIntegerField(_("amount to pay (cents)"))
    vat_category = models.CharField(max_length=2, choices=VatCategory.choices)
    vat_rate_bp = models.PositiveSmallIntegerField(_("VAT rate (basis points)"))
    structured_communication = models.CharField(
        _("structured communication"), max_length=12, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # True for the payment that funded its milestone. A second payment that also succeeds (the
    # client paid by card and by transfer) is money received, not a funding: it is refunded.
    funded_milestone = models.BooleanField(default=False)
    failure_message = models.CharField(max_length=500, blank=True)
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The admin who marked a bank transfer received."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("paid on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            # A milestone is funded once: the second success of a race ends here.
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(funded_milestone=True),
                name="payment_one_success_per_milestone",
            ),
            models.CheckConstraint(
                condition=models.Q(gross_cents=models.F("net_cents") + models.F("vat_cents")),
                name="payment_gross_is_net_plus_vat",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_cents__lte=models.F("gross_cents")),
                name="payment_refund_at_most_paid",
            ),
        ]
        indexes = [models.Index(fields=["milestone", "status"], name="payment_milestone_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.method} {self.gross_cents / 100:.2f} EUR"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("to be paid back")
    SUCCEEDED = "succeeded", _("paid back")
    FAILED = "failed", _("failed")


class Refund(models.Model):
    """Money going back to the client, through the provider that took it: a Stripe refund, or
    a line of a bank payout batch to the client's IBAN."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    iban = models.CharField(_("client's IBAN (bank transfers)"), max_length=34, blank=True)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("paid back on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="refund_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"refund #{self.pk} of payment #{self.payment_id}"


class StripeEventStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    PROCESSED = "processed", _("processed")
    IGNORED = "ignored", _("ignored")
    FAILED = "failed", _("failed")


class StripeEvent(models.Model):
    """Each Stripe event stored once (its id is unique), with what we did with it."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=StripeEventStatus.choices, default=StripeEventStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class BankStatement(models.Model):
    """A CSV statement of the cooperative's bank account, imported by an admin."""

    filename = models.CharField(_("file"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("imported on"), auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")

    def __str__(self) -> str:
        return self.filename


class StatementLineStatus(models.TextChoices):
    MATCHED = "matched", _("matched: milestone funded")
    UNMATCHED = "unmatched", _("no payment with this communication")
    WRONG_AMOUNT = "wrong_amount", _("amount differs from the payment")
    ALREADY_PAID = "already_paid", _("payment already received")
    DUPLICATE = "duplicate", _("line already imported")
    OUTGOING = "outgoing", _("outgoing (not a client payment)")


class BankStatementLine(models.Model):
    """One line of a statement and what reconciliation made of it. Never guessed: only an
    exact structured communication with the exact amount funds a milestone."""

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    booked_on = models.DateField(_("booked on"))
    amount_cents = models.BigIntegerField(_("amount (cents)"))
    communication = models.CharField(_("communication"), max_length=200, blank=True)
    counterparty_name = models.CharField(_("from"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("from IBAN"), max_length=34, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    # sha256 of the line's identifying fields: the same line imported twice is seen as such.
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(_("result"), max_length=12, choices=StatementLineStatus.choices)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_lines"
    )

    class Meta:
        ordering = ["statement_id", "line_number"]
        verbose_name = _("bank statement line")
        verbose_name_plural = _("bank statement lines")
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~models.Q(status="duplicate"),
                name="statement_line_imported_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount_cents / 100:.2f} {self.communication}"
