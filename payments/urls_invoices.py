from django.urls import path

from payments import views_invoices

urlpatterns = [
    path("invoices/", views_invoices.my_invoices, name="my_invoices"),
    path(
        "invoices/<int:invoice_id>/pdf/",
        views_invoices.invoice_pdf_download,
        name="invoice_pdf",
    ),
    path(
        "invoices/<int:invoice_id>/ubl/",
        views_invoices.invoice_ubl_download,
        name="invoice_ubl",
    ),
]
