"""Pages of the payments app, one module per area (each owned by its views module)."""

from django.urls import include, path

urlpatterns = [
    path("", include("payments.urls_stripe")),
    path("", include("payments.urls_bank")),
    path("", include("payments.urls_payouts")),
    path("", include("payments.urls_invoices")),
    path("", include("payments.urls_refunds")),
    path("", include("payments.urls_solidarity")),
]
