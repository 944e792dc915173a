"""The admin site, reached only through allauth's log-in and, for staff, a second factor."""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from marketplace.mfa import staff_mfa_status


class SiriusAdminSite(AdminSite):
    site_header = _("Sirius administration")
    site_title = _("Sirius administration")
    index_title = _("Cooperative administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return not settings.SIRIUS_STAFF_REQUIRE_MFA or staff_mfa_status(request).satisfied

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """No password form of its own: send people through allauth (rate limits, MFA stage)."""
        next_url = request.GET.get("next") or request.path
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied
        status = staff_mfa_status(request)
        if not status.enabled:
            # First visit of a staff member: set up TOTP, then come back.
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': next_url})}")
        if not status.used_this_session:
            return redirect(f"{reverse('mfa_reauthenticate')}?{urlencode({'next': next_url})}")
        return redirect(next_url)
