from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovernanceConfig(AppConfig):
    """One member, one vote: proposals and secret ballots, the member register, and the public
    solidarity dashboard that shows where the solidarity share goes."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "governance"
    verbose_name = _("Cooperative governance")
