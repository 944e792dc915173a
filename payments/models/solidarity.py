"""What the solidarity fund paid for: one row per use, posted by an admin with its ledger
transaction (solidarity fund → solidarity fund spending, an external account).

A use is never edited or deleted: a mistake is corrected by a reversing ledger transaction
(``ledger_reverse``) whose memo carries the reason; the use then shows as corrected, reachable
as ``use.transaction.reversed_by``."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SolidarityUseCategory(models.TextChoices):
    TRAINING = "training", _("training")
    EQUIPMENT = "equipment", _("equipment")
    PAYMENT_GUARANTEE = "guarantee", _("payment guarantee")
    HARDSHIP = "hardship", _("hardship support")
    OTHER = "other", _("other")


class SolidarityUse(models.Model):
    spent_on = models.DateField(_("date"))
    category = models.CharField(_("category"), max_length=12, choices=SolidarityUseCategory.choices)
    description = models.CharField(_("description"), max_length=500)
    amount_cents = models.PositiveBigIntegerField(_("amount (cents)"))
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("posted by"),
    )
    transaction = models.OneToOneField(
        "payments.LedgerTransaction",
        on_delete=models.PROTECT,
        related_name="solidarity_use",
        verbose_name=_("ledger transaction"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-spent_on", "-pk"]
        verbose_name = _("use of the solidarity fund")
        verbose_name_plural = _("uses of the solidarity fund")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="solidarity_use_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["spent_on"], name="solidarity_use_date")]

    def __str__(self) -> str:
        return f"{self.spent_on} {self.category} {self.amount_cents}"

    @property
    def correction(self):
        """The reversing ledger transaction (memo = the reason), or None."""
        # A missing reverse one-to-one raises a subclass of AttributeError.
        return getattr(self.transaction, "reversed_by", None)
