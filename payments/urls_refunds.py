from django.urls import path

from payments import views_refunds

urlpatterns = [
    path(
        "staff/contracts/<int:contract_id>/milestones/<int:milestone_id>/refund/",
        views_refunds.milestone_refund,
        name="milestone_refund",
    ),
]
