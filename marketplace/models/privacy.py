"""The record that an account was erased at its owner's request (GDPR art. 17)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountErasure(models.Model):
    """Who was erased, when, and by whom; nothing of the erased data itself (the account row
    stays, anonymised, because invoices, ledger entries and payments point at it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="erasure",
        verbose_name=_("account"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    erased_at = models.DateTimeField(_("erased on"), auto_now_add=True)
    # What was done, in counts only ("files": 3, "messages": 12...): never the content.
    summary = models.JSONField(_("what was erased"), default=dict)

    class Meta:
        ordering = ["-erased_at", "-pk"]
        verbose_name = _("account erasure")
        verbose_name_plural = _("account erasures")

    def __str__(self) -> str:
        return f"{self.user} ({self.erased_at:%Y-%m-%d})"
