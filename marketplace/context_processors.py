from django.conf import settings


def site_context(request):
    """What every page needs: the languages of the switcher, the count of unread notices."""
    context = {"SITE_LANGUAGES": settings.LANGUAGES}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from marketplace.models import Notification

        context["UNREAD_NOTIFICATIONS"] = Notification.objects.filter(
            user=user, read_at__isnull=True
        ).count()
    return context
