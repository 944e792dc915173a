"""Health endpoints for load balancers, uptime monitors and the benchmark.

- ``/health/live/``: the process answers (no database, no cache): plain ``ok``.
- ``/health/``: the process can serve real pages: one trivial query on the database and, when a
  shared cache (Redis) is configured, a round trip to it. 200 with ``{"status": "ok", ...}``,
  else 503 saying which check failed (never why: the reason goes to the log, not to the world).

No authentication, no session, no locale, no host check: HealthCheckMiddleware, first in
MIDDLEWARE, answers these two paths before the other middleware run, because load balancers
probe app servers by IP address (which ALLOWED_HOSTS would refuse) and must not pay for a
session lookup. The URL patterns exist too, so that ``reverse("health")`` works and the views
answer even with the middleware removed.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

LIVE_PATH = "/health/live/"
READY_PATH = "/health/"
_CACHE_PROBE_KEY = "sirius:health:probe"


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health: the database check failed")
        return False
    return True


def _shared_cache_configured() -> bool:
    return not settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def _cache_ok() -> bool:
    try:
        cache.set(_CACHE_PROBE_KEY, "ok", timeout=10)
        return cache.get(_CACHE_PROBE_KEY) == "ok"
    except Exception:  # any client error (connection refused, timeout, auth) means "down"
        logger.exception("health: the cache check failed")
        return False


@never_cache
def health_live(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": "ok" if _database_ok() else "unavailable"}
    if _shared_cache_configured():
        checks["cache"] = "ok" if _cache_ok() else "unavailable"
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )


class HealthCheckMiddleware:
    """Answers the two health paths before host validation, sessions and locale (see above)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            if request.path_info == LIVE_PATH:
                return health_live(request)
            if request.path_info == READY_PATH:
                return health(request)
        return self.get_response(request)
