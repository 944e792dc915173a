"""Bank transfers: the client's transfer instructions and the cooperative's reconciliation."""

from django.urls import path

from payments import views_bank

urlpatterns = [
    path(
        "contracts/<int:contract_id>/milestones/<int:milestone_id>/pay/transfer/",
        views_bank.pay_bank_transfer,
        name="pay_bank_transfer",
    ),
    path("staff/payments/transfers/", views_bank.bank_transfers, name="bank_transfers"),
    path(
        "staff/payments/transfers/<int:payment_id>/received/",
        views_bank.bank_transfer_mark_received,
        name="bank_transfer_mark_received",
    ),
    path(
        "staff/payments/statements/import/",
        views_bank.bank_statement_import,
        name="bank_statement_import",
    ),
    path(
        "staff/payments/statements/<int:statement_id>/",
        views_bank.bank_statement_detail,
        name="bank_statement_detail",
    ),
]
