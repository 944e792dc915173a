"""System checks of our own, run by `manage.py check` (and `check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key_is_not_the_development_key(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.INSECURE_DEV_SECRET_KEY:
        return [
            Error(
                "SECRET_KEY is the public development key.",
                hint="Set the SECRET_KEY environment variable to a long random value.",
                id="sirius.E001",
            )
        ]
    return []
