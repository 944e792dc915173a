from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Ledger, payment providers, payouts, invoices and the solidarity share."""

    name = "payments"
    verbose_name = _("Payments")
