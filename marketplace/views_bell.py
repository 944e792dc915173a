"""The notification bell: a link to the notifications page with the unread count, which htmx
refreshes every 30 seconds (the link works without JavaScript)."""

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Nothing to show, and htmx leaves the page as it is on a 204.
        return HttpResponse(status=204)
    # The count comes from marketplace.context_processors.site_context (UNREAD_NOTIFICATIONS),
    # as on every page: loaded with the user, the same figure as the full page would show.
    return TemplateResponse(request, "marketplace/includes/bell.html")
