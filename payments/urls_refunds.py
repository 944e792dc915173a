from django.urls import path

from payments import views_refunds

urlpatterns = [
    path(
        "staff/contracts/<int:contract_id>/milestones/<int:milestone_id>/refund/",
        views_refunds.milestone_refund,
        name="milestone_refund",
    ),
    path("staff/payments/refunds/", views_refunds.refunds_pending, name="refunds_pending"),
    path(
        "staff/payments/refunds/<int:refund_id>/stripe/",
        views_refunds.refund_stripe_send,
        name="refund_stripe_send",
    ),
    path(
        "staff/payments/refunds/<int:refund_id>/iban/",
        views_refunds.refund_iban,
        name="refund_iban",
    ),
]
