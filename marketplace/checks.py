"""System checks of our own, run by `manage.py check` (and `check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


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


@register(Tags.security, deploy=True)
def check_payments_do_not_go_to_localstripe(app_configs, **kwargs):
    # Without a key the app talks to localstripe, the demo's fake Stripe: fine offline, never
    # in production, where card payments would silently go nowhere.
    if not settings.STRIPE_SECRET_KEY:
        return [
            Warning(
                "STRIPE_SECRET_KEY is not set: payments go to localstripe, the offline fake.",
                hint="Set STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET.",
                id="sirius.W002",
            )
        ]
    return []
