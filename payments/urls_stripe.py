"""Card and Bancontact payments (Stripe) and Stripe's webhook: payments.views_stripe."""

from django.urls import path

from payments import views_stripe

urlpatterns = [
    path(
        "contracts/<int:contract_id>/milestones/<int:milestone_id>/pay/",
        views_stripe.pay_milestone,
        name="pay_milestone",
    ),
    path("payments/stripe/card/<int:payment_id>/", views_stripe.pay_card, name="pay_card"),
    path(
        "payments/stripe/return/<int:payment_id>/", views_stripe.stripe_return, name="stripe_return"
    ),
    path("payments/stripe/webhook/", views_stripe.stripe_webhook, name="stripe_webhook"),
]
