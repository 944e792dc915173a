from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", include("matching.api_urls")),
    path("api/", include("marketplace.api_urls")),
    path("api/", include("marketplace.api_urls_contracts")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("payments.urls")),
    path("", include("matching.urls")),
    path("", include("marketplace.urls")),
]
