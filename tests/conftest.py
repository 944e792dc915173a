import datetime
import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import ClientFactory, MemberFactory, UserFactory, ValidatorFactory

# What production hashes passwords with, before the tests switch to a fast hasher.
PRODUCTION_PASSWORD_HASHERS = list(settings.PASSWORD_HASHERS)

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium, as this machine runs it (see shared STACK.md): no downloaded browser.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Browser tests drive the live server from Playwright's sync API, which runs an event loop in
# the test thread; the ORM calls of those tests (factories, checks) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    # Catalogues are compiled from the .po files so that pages in every language can be tested
    # on a machine without GNU gettext.
    from asgiref.local import Local
    from django.utils.translation import trans_real

    from marketplace.catalogues import compile_catalogues

    if compile_catalogues():
        # Django may have loaded a catalogue (French, the default) before it was compiled:
        # forget what it cached, as Django itself does when LOCALE_PATHS changes.
        trans_real._translations = {}
        trans_real._default = None
        trans_real._active = Local()
        if hasattr(trans_real.check_for_language, "cache_clear"):
            trans_real.check_for_language.cache_clear()


def _serialized_rollback_first(item) -> int:
    marker = item.get_closest_marker("django_db")
    return 0 if marker is not None and marker.kwargs.get("serialized_rollback") else 1


# A transactional test without serialized_rollback ends with a flush that re-creates the content
# types under new ids; a serialized_rollback test after it then fails to reload the original rows
# (duplicate content type). So every serialized_rollback test runs before the others: tryfirst,
# because pytest-django then sorts by kind of database use with a stable sort, keeping this order
# inside its transactional group.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_chromium = shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM)
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL (row locks, concurrency or French full-text search, which "
        "SQLite lacks); run with DATABASE_URL=postgres://... as .ci/run does"
    )
    skip_browser = pytest.mark.skip(
        reason=f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium); "
        ".ci/run installs it"
    )
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(skip_browser)
    items.sort(key=_serialized_rollback_first)


@pytest.fixture(autouse=True)
def _plain_static_and_mail(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": settings.PRIVATE_MEDIA_ROOT},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Argon2 (100 MB, several passes) is the point in production and a second per user on a
    # loaded CI machine: tests hash with MD5. tests/test_accounts.py checks the real setting.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *PRODUCTION_PASSWORD_HASHERS,
    ]
    # Tests read response.context, which a page served from the anonymous page cache does not
    # have: the cache is on only in the tests that enable it (tests/test_job_board.py).
    settings.SIRIUS_PAGE_CACHE = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth's rate limits live in the cache: one test's failed log-ins must not leak.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client_user(db):
    return ClientFactory()


@pytest.fixture
def member_user(db):
    return MemberFactory()


@pytest.fixture
def validator_user(db):
    return ValidatorFactory()


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at Debian's Chromium."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    """Transactional tests empty the database when they end; the reference tables (languages,
    skills) that migrations load must be there for every test, whatever ran before."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from matching.models import Language, Skill, SkillGroup
    from matching.reference_data import load_languages
    from matching.skill_import import import_skills

    if not Language.objects.exists():
        load_languages(Language)
    if not Skill.objects.exists():
        import_skills(skill_model=Skill, group_model=SkillGroup)
    from payments.models import SolidarityRate

    if not SolidarityRate.objects.exists():
        SolidarityRate.objects.create(
            effective_from=datetime.date(2000, 1, 1), rate_bp=1000, source="Statutes (default 10 %)"
        )
