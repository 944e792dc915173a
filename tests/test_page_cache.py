"""Anonymous cache hits answered early by AnonymousPageCacheMiddleware (marketplace.page_cache):
the same headers, cookies and CSRF protection as the page the whole stack gives, never for a
logged-in visitor, fresh after a change, one page per language."""

import re
import socket
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from tests.factories import ClientFactory, JobFactory, MemberFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("job_board")
# Vary in full, and the headers every response carries whatever the layer that makes it.
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Vary",
    "Content-Language",
    "Content-Type",
    "Content-Length",
)
# Per-request headers, and the marker that says which path answered.
PER_REQUEST = {"X-Request-ID", "X-Page-Cache", "Content-Length"}


@pytest.fixture
def page_cache(settings):
    settings.SIRIUS_PAGE_CACHE = True


@pytest.fixture
def job(page_cache):
    return JobFactory(client=ClientFactory(), title="Site de la coopérative de quartier")


def csrf_token_of(response) -> str:
    tokens = set(
        re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    )
    assert len(tokens) == 1, tokens
    return tokens.pop()


def served_early(response) -> bool:
    """Answered by the early middleware: the session and auth layers never saw the request."""
    request = response.wsgi_request
    return response.get("X-Page-Cache") == "hit" and not hasattr(request, "session")


def miss_then_hit(url: str, **extra) -> tuple:
    miss = Client().get(url, **extra)
    assert miss["X-Page-Cache"] == "miss"
    hit = Client().get(url, **extra)
    assert served_early(hit)
    return miss, hit


@pytest.mark.parametrize("name", ["board", "detail", "api"])
def test_an_early_hit_carries_the_headers_of_a_full_response(job, name, settings):
    url = {
        "board": BOARD,
        "detail": reverse("job_detail", args=[job.pk]),
        "api": reverse("api-job-list"),
    }[name]
    settings.SECURE_HSTS_SECONDS = 31536000

    miss, hit = miss_then_hit(url, secure=True)

    assert hit.content == miss.content or name != "api"
    for header in SECURITY_HEADERS:
        assert header in hit, header
    assert hit["X-Content-Type-Options"] == "nosniff"
    assert hit["X-Frame-Options"] == "DENY"
    assert hit["Referrer-Policy"] == "same-origin"
    assert hit["Cross-Origin-Opener-Policy"] == "same-origin"
    assert hit["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Cookie" in hit["Vary"]
    assert hit["Content-Language"] == "fr"
    assert int(hit["Content-Length"]) == len(hit.content)
    # Exactly the headers, and the values, of the response the whole stack gave.
    assert {k: v for k, v in hit.items() if k not in PER_REQUEST} == {
        k: v for k, v in miss.items() if k not in PER_REQUEST
    }
    assert set(hit.cookies) == set(miss.cookies)


def test_a_new_visitor_gets_the_csrf_cookie_django_would_set(job, settings):
    # Production names and flags (SIRIUS_HTTPS=true in config/settings.py).
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    settings.CSRF_COOKIE_SECURE = True

    miss, hit = miss_then_hit(BOARD, secure=True)

    made, served = miss.cookies["__Host-csrftoken"], hit.cookies["__Host-csrftoken"]
    for flag in ("secure", "httponly", "samesite", "path", "domain", "max-age"):
        assert served[flag] == made[flag], flag
    assert served["secure"] is True
    assert served.value != made.value  # a secret per visitor, never one from the cache


def test_the_token_of_a_hit_passes_a_strict_csrf_check(job):
    Client().get(BOARD)  # fills the cache
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(BOARD)
    assert served_early(page)
    token = csrf_token_of(page)
    assert f'"X-CSRFToken": "{token}"' in page.content.decode()  # htmx's header, the same token

    refused = visitor.post(reverse("language_switch"), {"language": "en", "next": BOARD})
    answer = visitor.post(
        reverse("language_switch"),
        {"language": "en", "next": BOARD, "csrfmiddlewaretoken": token},
    )

    assert refused.status_code == 403
    assert answer.status_code == 302
    assert visitor.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    english = visitor.get(BOARD)
    assert '<html lang="en"' in english.content.decode()


def test_a_returning_visitor_keeps_their_secret_and_a_bad_cookie_is_replaced(job):
    Client().get(BOARD)
    visitor = Client(enforce_csrf_checks=True)
    first = visitor.get(BOARD)
    secret = visitor.cookies[django_settings.CSRF_COOKIE_NAME].value
    again = visitor.get(BOARD)
    assert served_early(first)
    assert served_early(again)
    # As CsrfViewMiddleware: the same secret (its cookie sent again to renew its expiry), and
    # a freshly masked token.
    assert again.cookies[django_settings.CSRF_COOKIE_NAME].value == secret
    assert csrf_token_of(again) != csrf_token_of(first)
    assert (
        visitor.post(
            reverse("language_switch"),
            {"language": "nl", "next": BOARD, "csrfmiddlewaretoken": csrf_token_of(again)},
        ).status_code
        == 302
    )
    assert visitor.cookies[django_settings.CSRF_COOKIE_NAME].value == secret

    visitor.get(BOARD)  # fills the Dutch page
    visitor.cookies[django_settings.CSRF_COOKIE_NAME] = "not a csrf secret!"
    replaced = visitor.get(BOARD)
    assert served_early(replaced)
    assert replaced.cookies[django_settings.CSRF_COOKIE_NAME].value != "not a csrf secret!"


def test_a_hit_runs_no_query(job, django_assert_num_queries):
    detail = reverse("job_detail", args=[job.pk])
    Client().get(detail)
    with django_assert_num_queries(0):
        hit = Client().get(detail)
    assert served_early(hit)
    assert job.title in hit.content.decode()


@pytest.mark.parametrize(
    "credentials",
    [
        {"HTTP_AUTHORIZATION": "Token abc"},
        {"HTTP_COOKIE": "messages=something"},
        {"HTTP_COOKIE": f"{django_settings.SESSION_COOKIE_NAME}=anything"},
    ],
)
def test_requests_with_credentials_or_messages_are_never_served_early(job, credentials):
    Client().get(BOARD)
    assert served_early(Client().get(BOARD))
    page = Client().get(BOARD, **credentials)
    assert not served_early(page)
    assert hasattr(page.wsgi_request, "session")


def test_a_logged_in_member_gets_their_own_page(job):
    Client().get(BOARD)
    member = Client()
    member.force_login(MemberFactory())
    page = member.get(BOARD)
    assert "X-Page-Cache" not in page
    assert reverse("account_logout") in page.content.decode()


def test_only_get_and_head_are_served_early(job):
    Client().get(BOARD)
    assert served_early(Client().head(BOARD))
    assert not served_early(Client().post(BOARD))


def test_a_change_to_a_job_is_seen_at_once(job):
    detail = reverse("job_detail", args=[job.pk])
    Client().get(detail)
    assert served_early(Client().get(detail))
    job.title = "Boutique en ligne de la coopérative"
    job.save()
    page = Client().get(detail)
    assert page["X-Page-Cache"] == "miss"
    assert "Boutique en ligne de la coopérative" in page.content.decode()
    assert "Boutique en ligne de la coopérative" in Client().get(detail).content.decode()


def test_hits_are_served_per_language_chosen_by_cookie_not_by_the_browser(job, settings):
    for language in ("fr", "en", "nl"):
        visitor = Client()
        visitor.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        visitor.get(BOARD)
    for language in ("en", "nl", "fr"):
        visitor = Client()
        visitor.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        page = visitor.get(BOARD, HTTP_ACCEPT_LANGUAGE="ar")
        assert served_early(page)
        assert f'<html lang="{language}"' in page.content.decode()
        assert page["Content-Language"] == language
    # No cookie (or an unknown one): French, whatever the browser asks for.
    for cookie in ("", "xx"):
        visitor = Client()
        if cookie:
            visitor.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
        page = visitor.get(BOARD, HTTP_ACCEPT_LANGUAGE="en")
        assert served_early(page)
        assert '<html lang="fr"' in page.content.decode()


def test_other_pages_never_read_the_page_cache(page_cache, monkeypatch):
    from marketplace import page_cache as module

    def forbidden(*args, **kwargs):
        raise AssertionError("looked up the page cache")

    monkeypatch.setattr(module, "page_key", forbidden)
    assert Client().get(reverse("home")).status_code == 200


def test_the_early_middleware_sits_before_sessions_and_after_security():
    order = django_settings.MIDDLEWARE
    position = order.index("marketplace.page_cache.AnonymousPageCacheMiddleware")
    assert order.index("django.middleware.security.SecurityMiddleware") < position
    assert order.index("config.csp.SiriusCSPMiddleware") < position
    assert order.index("whitenoise.middleware.WhiteNoiseMiddleware") < position
    assert position < order.index("django.contrib.sessions.middleware.SessionMiddleware")


def redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_the_redis_cache_reuses_one_client_and_still_works():
    from config.cache import SiriusRedisCache

    cache = SiriusRedisCache(
        "redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    )
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.set("page", {"content": b"<html>"}, 30)
    assert cache.get_many(["page", "absent"]) == {"page": {"content": b"<html>"}}
    assert cache.add("page", "other", 30) is False
    cache.delete("page")
    assert cache.get("page") is None


def test_with_the_csrf_secret_in_the_session_hits_go_through_the_whole_stack(job, settings):
    settings.CSRF_USE_SESSIONS = True
    Client().get(BOARD)
    page = Client().get(BOARD)
    assert page["X-Page-Cache"] == "hit"
    assert hasattr(page.wsgi_request, "session")
