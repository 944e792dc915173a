from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    """Users, profiles, jobs, bids, contracts, moderation and disputes."""

    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self) -> None:
        from marketplace import (
            checks,  # noqa: F401  (registers the system checks)
            page_cache,
        )

        page_cache.connect_signals()
