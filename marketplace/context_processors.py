from django.conf import settings


def site_context(request):
    """What every page needs: the languages offered by the switcher."""
    return {"SITE_LANGUAGES": settings.LANGUAGES}
