"""The Content-Security-Policy of every page: settings.CONTENT_SECURITY_POLICY plus Stripe.

Stripe's origins are added here, per response, rather than in settings: whether the card page
talks to real Stripe or to localstripe (and on which port) is read from the settings at request
time, so a test or the demo that points LOCALSTRIPE_URL elsewhere gets a matching policy.
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

# Stripe's documented requirements for Stripe.js and its 3-D Secure / redirect frames.
REAL_STRIPE_SOURCES = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
    # Bancontact: our form's POST answers with a redirect to Stripe's authorisation page.
    "form-action": ["https://hooks.stripe.com"],
}


def stripe_sources() -> dict[str, list[str]]:
    """The origins Stripe.js needs: Stripe's own with a real key, else localstripe's (its
    stand-in script fetches from the origin it was loaded from, and uses no frame)."""
    if settings.STRIPE_SECRET_KEY:
        return REAL_STRIPE_SOURCES
    address = urlsplit(settings.LOCALSTRIPE_URL)
    origin = f"{address.scheme}://{address.netloc}"
    return {"script-src": [origin], "connect-src": [origin]}


class SiriusCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only or parts.config is not None:
            # A view that sets its whole policy itself keeps it as it is.
            return parts
        sources = stripe_sources()
        update = {key: list(value) for key, value in (parts.update or {}).items()}
        replace = dict(parts.replace or {})
        for directive, origins in sources.items():
            if directive == "frame-src":
                # The settings say 'none', which may not stand beside an origin.
                replace[directive] = origins
            else:
                update[directive] = [*update.get(directive, []), *origins]
        parts.update = update
        parts.replace = replace
        return parts
