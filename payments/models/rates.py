"""The solidarity share: a rate voted by the members, in basis points (1000 = 10 %)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SolidarityRate(models.Model):
    """A rate in force from ``effective_from`` (inclusive) until the next one. Rows are only
    added (by the statutes' default, or by a closed vote of the governance issue), never edited:
    a contract keeps the rate in force on the day it was first funded."""

    rate_bp = models.PositiveSmallIntegerField(_("rate (basis points, 1000 = 10 %)"))
    effective_from = models.DateField(_("in force from"), unique=True)
    source = models.CharField(_("decided by"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("solidarity share rate")
        verbose_name_plural = _("solidarity share rates")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_bp__lte=5000), name="solidarity_rate_at_most_half"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate_bp / 100:.2f} % from {self.effective_from}"
