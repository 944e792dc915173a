"""The public solidarity dashboard (included at the site root inside the ``governance``
namespace: ``governance:transparency``)."""

from django.urls import path

from governance import views_transparency

urlpatterns = [
    path("solidarity/", views_transparency.transparency, name="transparency"),
]
