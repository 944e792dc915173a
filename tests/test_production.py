"""Production settings, the deploy check, the shared Redis cache, gunicorn's configuration and the
health endpoints.

The settings module reads the environment once, at import: the production values are checked
in a subprocess started with a production environment, as gunicorn would start."""

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

PROJECT_DIR = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"
PRODUCTION_ENV = {
    "SECRET_KEY": "a-production-key-" + "x7Qp2Lm9" * 8,
    "ALLOWED_HOSTS": "sirius.example",
    "SIRIUS_HTTPS": "true",
    "DATABASE_URL": "postgres://sirius@db.internal:5432/sirius",
    "REDIS_URL": REDIS_URL,
    "STRIPE_SECRET_KEY": "sk_live_not_a_real_key",
}
# Variables of this machine or of the test run that would change what the settings say.
_SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SIRIUS_HTTPS",
    "DATABASE_URL",
    "REDIS_URL",
    "STRIPE_SECRET_KEY",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set for the browser tests (conftest.py); never in production
    "CACHE_KEY_PREFIX",
}


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    return subprocess.run(
        [sys.executable, *args] if not code else [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SESSION_COOKIE_NAME": s.SESSION_COOKIE_NAME,
    "CSRF_COOKIE_NAME": s.CSRF_COOKIE_NAME,
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SESSION_COOKIE_PATH": s.SESSION_COOKIE_PATH,
    "CSRF_COOKIE_PATH": s.CSRF_COOKIE_PATH,
    "SESSION_COOKIE_DOMAIN": s.SESSION_COOKIE_DOMAIN,
    "CSRF_COOKIE_DOMAIN": s.CSRF_COOKIE_DOMAIN,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_HSTS_PRELOAD": s.SECURE_HSTS_PRELOAD,
    "SECURE_PROXY_SSL_HEADER": s.SECURE_PROXY_SSL_HEADER,
    "SECURE_CONTENT_TYPE_NOSNIFF": s.SECURE_CONTENT_TYPE_NOSNIFF,
    "SECURE_REFERRER_POLICY": s.SECURE_REFERRER_POLICY,
    "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS,
    "SECURE_CROSS_ORIGIN_OPENER_POLICY": s.SECURE_CROSS_ORIGIN_OPENER_POLICY,
    "CSP": s.CONTENT_SECURITY_POLICY["DIRECTIVES"],
    "CACHE_BACKEND": s.CACHES["default"]["BACKEND"],
    "SESSION_ENGINE": s.SESSION_ENGINE,
    "DB_ENGINE": s.DATABASES["default"]["ENGINE"],
    "CONN_MAX_AGE": s.DATABASES["default"]["CONN_MAX_AGE"],
    "CONN_HEALTH_CHECKS": s.DATABASES["default"]["CONN_HEALTH_CHECKS"],
    "STATICFILES_BACKEND": s.STORAGES["staticfiles"]["BACKEND"],
    "MIDDLEWARE": s.MIDDLEWARE,
}, default=list))
"""


def load_settings(env: dict[str, str]) -> dict:
    result = run_python(PRINT_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Settings -------------------------------------------------------------------------------


def test_production_settings_from_the_environment():
    values = load_settings(PRODUCTION_ENV)

    assert values["DEBUG"] is False
    # __Host- cookies: Secure, Path=/ and no Domain, or the browser refuses them
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_PATH"] == values["CSRF_COOKIE_PATH"] == "/"
    assert values["SESSION_COOKIE_DOMAIN"] is values["CSRF_COOKIE_DOMAIN"] is None
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False  # opt-in, see settings
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["SECURE_REFERRER_POLICY"] in {"same-origin", "strict-origin-when-cross-origin"}
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    # a shared cache and persistent database connections
    assert values["CACHE_BACKEND"] == "config.cache.SiriusRedisCache"  # Django's, client reused
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert values["DB_ENGINE"] == "django.db.backends.postgresql"
    assert values["CONN_MAX_AGE"] > 0
    assert values["CONN_HEALTH_CHECKS"] is True
    assert values["STATICFILES_BACKEND"].startswith("whitenoise.storage.CompressedManifest")
    # the Content-Security-Policy
    csp = values["CSP"]
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # Stripe's origin is added per request
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["upgrade-insecure-requests"] is True
    assert not any(
        "unsafe" in source
        for sources in csp.values()
        if isinstance(sources, list)
        for source in sources
    )
    assert "config.csp.SiriusCSPMiddleware" in values["MIDDLEWARE"]


def test_the_defaults_are_safe_and_local():
    values = load_settings({})

    assert values["DEBUG"] is False
    assert values["CACHE_BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert values["SESSION_COOKIE_NAME"] == "sessionid"  # no __Host- without HTTPS
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_debug_turns_the_https_settings_off_even_if_asked():
    values = load_settings({**PRODUCTION_ENV, "DEBUG": "true"})

    assert values["DEBUG"] is True
    assert values["SESSION_COOKIE_NAME"] == "sessionid"
    assert values["SECURE_SSL_REDIRECT"] is False


def test_check_deploy_is_clean_with_production_settings():
    result = run_python(
        "", PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def test_check_deploy_warns_when_payments_would_go_to_localstripe():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "STRIPE_SECRET_KEY"}

    result = run_python("", env, "manage.py", "check", "--deploy")

    assert "sirius.W002" in result.stderr + result.stdout


def test_check_deploy_refuses_the_development_key():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}

    result = run_python("", env, "manage.py", "check", "--deploy")

    assert result.returncode != 0
    assert "sirius.E001" in result.stderr


# --- Redis: one cache for every app server ---------------------------------------------------


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(
    not redis_is_up(), reason="needs Redis on 127.0.0.1:6379 (.ci/run starts it)"
)

# Five failed log-ins for one address from one "app server", then a sixth attempt from another:
# allauth's limit (5/5m/key) must refuse it only if both share the cache.
FAILED_LOGINS = """
import sys, django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from allauth.core import ratelimit
request = RequestFactory().post("/accounts/login/", REMOTE_ADDR=sys.argv[1])
request.user = AnonymousUser()
allowed = [ratelimit.consume(request, action="login_failed", key=sys.argv[2]) for _ in range(int(sys.argv[3]))]
print(" ".join("allowed" if a else "refused" for a in allowed))
"""


def app_server(env: dict[str, str], address: str, key: str, attempts: int) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", FAILED_LOGINS, address, key, str(attempts)],
        cwd=PROJECT_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@needs_redis
def test_two_app_servers_share_the_log_in_rate_limit_through_redis():
    # Given two app servers (two processes) on the same Redis, under a prefix of this test's own
    env = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    key = "someone@example.com"

    # When the first one sees five failed log-ins for an address (from several IPs)
    first = app_server(env, "192.0.2.1", key, 5)
    # Then the second one refuses the sixth
    second = app_server(env, "192.0.2.2", key, 1)

    assert first == ["allowed"] * 5
    assert second == ["refused"]


@needs_redis
def test_without_redis_each_app_server_counts_alone():
    # The control: with the per-process memory cache, the second process knows nothing.
    key = "someone@example.com"
    first = app_server({}, "192.0.2.1", key, 5)
    second = app_server({}, "192.0.2.2", key, 1)

    assert first == ["allowed"] * 5
    assert second == ["allowed"]


@needs_redis
def test_the_cache_and_cached_sessions_work_through_redis(settings, db, django_assert_num_queries):
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    cache.set("greeting", {"fr": "bonjour"}, timeout=30)
    assert cache.get("greeting") == {"fr": "bonjour"}

    session = SessionStore()
    session["cart"] = 7
    session.create()
    # A warm session is read from Redis, without a query
    with django_assert_num_queries(0):
        assert SessionStore(session.session_key)["cart"] == 7
    cache.clear()


# --- Gunicorn --------------------------------------------------------------------------------

PRINT_GUNICORN = """
import json
from gunicorn.config import Config
from gunicorn.app.base import Application
cfg = Config()
for name, value in vars(__import__("config.gunicorn", fromlist=["x"])).items():
    if name in cfg.settings:
        cfg.set(name, value)
print(json.dumps({name: cfg.settings[name].get() for name in (
    "bind", "workers", "worker_class", "max_requests", "max_requests_jitter", "timeout",
    "graceful_timeout", "forwarded_allow_ips", "accesslog", "access_log_format",
    "control_socket_disable")}, default=str))
"""


def test_gunicorn_configuration_from_the_environment():
    result = run_python(
        PRINT_GUNICORN,
        {
            "GUNICORN_BIND": "0.0.0.0:9000",
            "GUNICORN_WORKERS": "3",
            "GUNICORN_FORWARDED_ALLOW_IPS": "10.0.0.2",
        },
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)

    assert values["bind"] == ["0.0.0.0:9000"]
    assert values["workers"] == 3
    assert values["worker_class"] == "sync"
    assert values["max_requests"] > 0 and values["max_requests_jitter"] > 0
    assert values["graceful_timeout"] > 0
    assert values["forwarded_allow_ips"] == ["10.0.0.2"]
    assert values["accesslog"] == "-"
    assert "%(D)s" in values["access_log_format"]  # request time
    assert "%({x-request-id}o)s" in values["access_log_format"]
    assert values["control_socket_disable"] is True


def test_gunicorn_defaults_to_one_worker_per_core():
    result = run_python(PRINT_GUNICORN, {})
    values = json.loads(result.stdout)

    assert values["workers"] == os.cpu_count()
    assert values["bind"] == ["127.0.0.1:8000"]


# --- Health endpoints ------------------------------------------------------------------------


def test_liveness_answers_without_the_database(client):
    # No django_db mark: any database access here would raise.
    response = client.get(reverse("health-live"))

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_checks_the_database_with_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_is_503_when_the_database_is_unreachable(client, caplog):
    refused = OperationalError('connection to server at "db.internal" failed: password=secret')
    with mock.patch("config.health.connection.cursor", side_effect=refused):
        response = client.get(reverse("health"))

    assert response.status_code == 503
    assert response.json() == {"status": "error", "checks": {"database": "unavailable"}}
    assert "secret" not in response.content.decode()  # the reason goes to the log only
    assert "the database check failed" in caplog.text


@pytest.mark.django_db
@needs_redis
def test_health_checks_redis_when_it_is_the_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    assert client.get(reverse("health")).json()["checks"] == {"database": "ok", "cache": "ok"}

    # A Redis that does not answer (nothing listens on port 1)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    response = client.get(reverse("health"))

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "unavailable"}


@pytest.mark.django_db
def test_health_answers_a_load_balancer_probing_by_ip_over_plain_http(client, settings):
    # Production: HTTPS redirect and a host allow-list; the probe uses neither.
    settings.ALLOWED_HOSTS = ["sirius.example"]
    settings.SECURE_SSL_REDIRECT = True

    health = client.get(reverse("health"), HTTP_HOST="10.0.0.7")
    live = client.get(reverse("health-live"), HTTP_HOST="10.0.0.7")
    page = client.get("/", HTTP_HOST="10.0.0.7")

    assert (health.status_code, live.status_code) == (200, 200)
    assert page.status_code == 400  # every other path still checks the host


@pytest.mark.django_db
def test_health_needs_no_login_and_sets_no_cookie(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert not response.cookies


def test_every_response_carries_a_request_id(client):
    generated = client.get(reverse("health-live"))
    forwarded = client.get(reverse("health-live"), HTTP_X_REQUEST_ID="lb-7f3a9c2e")
    forged = client.get(reverse("health-live"), HTTP_X_REQUEST_ID='x" status=200 injected')

    assert len(generated["X-Request-ID"]) == 32
    assert forwarded["X-Request-ID"] == "lb-7f3a9c2e"
    assert forged["X-Request-ID"] != 'x" status=200 injected'


def test_log_lines_carry_the_request_id():
    import logging

    from config.request_log import RequestIdFilter, current_request_id

    record = logging.LogRecord("payments", logging.WARNING, __file__, 1, "refund refused", (), None)
    token = current_request_id.set("req-12345678")
    try:
        RequestIdFilter().filter(record)
    finally:
        current_request_id.reset(token)

    assert record.request_id == "req-12345678"


# --- Two app servers behave as one ------------------------------------------------------------


def gunicorn_env(database_url: str, prefix: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SIRIUS_PLAIN_STATIC": "true",
        "GUNICORN_WORKERS": "1",
    }


@pytest.mark.postgres
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_session_opened_on_one_app_server_works_on_the_other(tmp_path, settings):
    import re

    import requests
    from django.db import connection

    from tests.conftest import PRODUCTION_PASSWORD_HASHERS
    from tests.factories import PASSWORD, ClientFactory
    from tests.test_payments_localstripe import free_port, serving

    # Given two gunicorns on the same PostgreSQL database and Redis (as behind a load balancer),
    # and a password hashed as production hashes it (the tests' fast hasher is not theirs)
    settings.PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
    user = ClientFactory()
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = gunicorn_env(database_url, f"test-{uuid.uuid4().hex}")
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi"]
    first_port, second_port = free_port(), free_port()
    first, second = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
    browser = requests.Session()

    with (
        serving(
            gunicorn,
            port=first_port,
            log=tmp_path / "a.log",
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{first_port}"},
        ),
        serving(
            gunicorn,
            port=second_port,
            log=tmp_path / "b.log",
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{second_port}"},
        ),
    ):
        # When the user logs in through the first (the CSRF token of the first)
        login_page = browser.get(f"{first}/accounts/login/", timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        logged_in = browser.post(
            f"{first}/accounts/login/",
            data={"login": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            allow_redirects=False,
            timeout=30,
        )
        # Then the second knows them
        dashboard = browser.get(f"{second}/dashboard/", allow_redirects=False, timeout=30)

        # And logging out on the second logs them out of the first
        page = browser.get(f"{second}/dashboard/", timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        browser.post(f"{second}/accounts/logout/", data={"csrfmiddlewaretoken": token}, timeout=30)
        after_logout = browser.get(f"{first}/dashboard/", allow_redirects=False, timeout=30)
        health = [requests.get(f"{url}/health/", timeout=30).json() for url in (first, second)]

    assert logged_in.status_code == 302, logged_in.text[:500]
    assert dashboard.status_code == 200
    assert after_logout.status_code == 302
    assert after_logout.headers["Location"].startswith("/accounts/login/")
    assert health == [{"status": "ok", "checks": {"database": "ok", "cache": "ok"}}] * 2
