from django.urls import path

from payments import views_payouts as views

urlpatterns = [
    path("staff/payouts/", views.payouts, name="payouts"),
    path("staff/payouts/<int:batch_id>/", views.payout_batch, name="payout_batch"),
    path("staff/payouts/<int:batch_id>/file/", views.payout_batch_file, name="payout_batch_file"),
    path(
        "staff/payouts/<int:batch_id>/sent/",
        views.payout_batch_mark_sent,
        name="payout_batch_mark_sent",
    ),
    path(
        "staff/payouts/<int:batch_id>/cancel/",
        views.payout_batch_cancel,
        name="payout_batch_cancel",
    ),
    path(
        "staff/payouts/<int:batch_id>/execute/",
        views.payout_batch_execute,
        name="payout_batch_execute",
    ),
    path("member/earnings/", views.member_earnings, name="member_earnings"),
]
