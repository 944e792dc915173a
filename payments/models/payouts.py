"""Money going out to members (and bank refunds to clients): payout batches on two rails,
a SEPA credit transfer file for the cooperative's bank, or Stripe Connect transfers."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PayoutRail(models.TextChoices):
    SEPA = "sepa", _("SEPA credit transfer file")
    STRIPE_CONNECT = "stripe_connect", _("Stripe Connect transfers")


class PayoutBatchStatus(models.TextChoices):
    EXPORTED = "exported", _("file produced, not yet sent")
    SENT = "sent", _("sent")
    CANCELLED = "cancelled", _("cancelled")


class PayoutBatch(models.Model):
    rail = models.CharField(_("rail"), max_length=14, choices=PayoutRail.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PayoutBatchStatus.choices,
        default=PayoutBatchStatus.EXPORTED,
    )
    message_id = models.CharField(_("message id"), max_length=35, unique=True)
    execution_date = models.DateField(_("requested execution date"))
    total_cents = models.BigIntegerField(_("total (cents)"), default=0)
    sepa_xml = models.TextField(_("pain.001 file"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent on"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")

    def __str__(self) -> str:
        return self.message_id


class PayoutLineKind(models.TextChoices):
    MEMBER = "member", _("member's earnings")
    CLIENT_REFUND = "client_refund", _("refund to a client")


class PayoutLineStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class PayoutLine(models.Model):
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="lines")
    kind = models.CharField(max_length=14, choices=PayoutLineKind.choices)
    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_lines",
    )
    refund = models.OneToOneField(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_line",
    )
    # Stripe Connect lines are per contract (transfer_group); SEPA lines are per member.
    contract = models.ForeignKey(
        "marketplace.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payout_lines",
    )
    name = models.CharField(_("beneficiary"), max_length=140)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    end_to_end_id = models.CharField(max_length=35, unique=True)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PayoutLineStatus.choices, default=PayoutLineStatus.PENDING
    )

    class Meta:
        ordering = ["batch_id", "pk"]
        verbose_name = _("payout line")
        verbose_name_plural = _("payout lines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="payout_line_amount_positive"
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="member") & models.Q(member__isnull=False))
                | (models.Q(kind="client_refund") & models.Q(refund__isnull=False)),
                name="payout_line_has_beneficiary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.amount_cents / 100:.2f}"


class ConnectedAccount(models.Model):
    """A member's Stripe Connect account, for the optional second payout rail."""

    member = models.OneToOneField(
        "marketplace.MemberProfile", on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=255, unique=True)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Stripe Connect account")
        verbose_name_plural = _("Stripe Connect accounts")

    def __str__(self) -> str:
        return self.stripe_account_id
