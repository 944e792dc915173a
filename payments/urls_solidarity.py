from django.urls import path

from payments import views_solidarity

urlpatterns = [
    path("staff/solidarity/", views_solidarity.solidarity_fund, name="solidarity_fund"),
    path(
        "staff/solidarity/<int:use_id>/correct/",
        views_solidarity.solidarity_use_correct_page,
        name="solidarity_use_correct",
    ),
]
