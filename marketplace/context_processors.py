from django.conf import settings

from marketplace.auth_backends import UNREAD_ATTRIBUTE


def site_context(request):
    """What every page needs: the languages of the switcher, the count of unread notices."""
    context = {"SITE_LANGUAGES": settings.LANGUAGES}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Loaded with the user by marketplace.auth_backends (no query of its own); counted
        # here for a user who was not loaded that way (a test client's force_login keeps
        # the backend's user, a view may hand over another instance).
        unread = getattr(user, UNREAD_ATTRIBUTE, None)
        if unread is None:
            from marketplace.models import Notification

            unread = Notification.objects.filter(user=user, read_at__isnull=True).count()
        context["UNREAD_NOTIFICATIONS"] = unread
    return context
