"""'My data' pages (marketplace.views_privacy), included from marketplace.urls."""

from django.urls import path

from marketplace import views_privacy as views

urlpatterns = [
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/export/", views.my_data_export, name="my_data_export"),
    path("my-data/erase/", views.my_data_erase, name="my_data_erase"),
]
