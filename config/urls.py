from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from marketplace.apis_schema import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", include("matching.api_urls")),
    path("api/", include("marketplace.api_urls")),
    path("api/", include("marketplace.api_urls_contracts")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Any other address under api/ answers in JSON, like the API, not with the site's HTML page.
    re_path(r"^api/", api_not_found),
    path("health/live/", health.health_live, name="health-live"),
    path("health/", health.health, name="health"),
    path("", include("governance.urls")),
    path("", include("payments.urls")),
    path("", include("matching.urls")),
    path("", include("marketplace.urls")),
]
