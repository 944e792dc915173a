from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", include("matching.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("matching.urls")),
    path("", include("marketplace.urls")),
]
