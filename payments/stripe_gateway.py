"""The one place that builds a Stripe client: real Stripe with a key, localstripe without.

Without ``STRIPE_SECRET_KEY`` every call goes to ``LOCALSTRIPE_URL`` (see
``payments.localstripe_server``), so development and tests never reach the network.
"""

import re

import stripe
from django.conf import settings

# localstripe accepts any key of the form sk_...; this one says where the calls go.
LOCALSTRIPE_API_KEY = "sk_test_localstripe"
IDEMPOTENCY_KEY_PREFIX = "sirius"
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


def using_localstripe() -> bool:
    return not settings.STRIPE_SECRET_KEY


def get_stripe_client(*, http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A client for Stripe, or for localstripe when no secret key is configured.

    ``http_client`` replaces the transport (tests that record or replay HTTP traffic).
    Retries are set explicitly: a ``StripeClient`` left at ``None`` makes no retry at all,
    while the module-level ``stripe.*`` API retries twice by default.
    """
    if using_localstripe():
        return stripe.StripeClient(
            LOCALSTRIPE_API_KEY,
            base_addresses={"api": settings.LOCALSTRIPE_URL},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            http_client=http_client,
        )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=http_client,
    )


def idempotency_key(kind: str, obj_id: int | str, attempt: int = 0) -> str:
    """Our own Idempotency-Key for a Stripe call made on behalf of one of our rows.

    Derived from the row, not random, so that a retried request (ours, after a crash or a
    timeout) returns Stripe's first result instead of creating a second object. Bump
    ``attempt`` only for a deliberate new try (e.g. after the first one was declined).
    ``kind`` has no dash, so keys of different kinds can never collide.
    """
    if not _KIND.match(kind):
        raise ValueError(f"kind must be lower_snake_case, got {kind!r}")
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    return f"{IDEMPOTENCY_KEY_PREFIX}-{kind}-{obj_id}-{attempt}"
