"""Whole-response cache of the public job pages for anonymous visitors, and the version that
invalidates it.

What is cached: the job board (and its htmx partials), a job's page and the jobs API list, as
rendered for a visitor with no session and no pending message, per URL, language, host,
htmx and Accept headers, and day (the board hides jobs past their closing date). Logged-in
requests never read or fill it: nothing user-specific is ever served to somebody else.

The CSRF token is not cached: the page is rendered with a placeholder in its place, and each
hit puts in the token of the request it answers.

Where hits are served: ``AnonymousPageCacheMiddleware``, placed right after the security, CSP
and static-file middleware, answers a hit before sessions, CSRF, authentication, locale,
messages, htmx and allauth run (profiled: they were most of a hit's CPU). It re-applies what
those layers would have added to the same page for an anonymous visitor — the language
(cookie, else French: what AccountLocaleMiddleware picks when nobody is logged in) with its
Content-Language and ``Vary: Cookie``, X-Frame-Options, Content-Length, and the CSRF token
issued by Django's own CsrfViewMiddleware (the visitor's secret from their cookie, or a new
one with the cookie set under the production name and flags, a freshly masked token in the
page). The security middleware and CSP around it add their headers to hits as to any
response. A miss goes on through the whole stack to the view, whose decorator renders and
stores the page.

Invalidation: every cached entry carries the jobs version it was rendered at, and a hit must
match the current version. The version changes whenever a job, its skills, languages or
attachments, or the reference data the pages show (skills, skill groups, languages), is saved
or deleted — on save, and again once the transaction commits, so that a page rendered by a
concurrent request from the old rows cannot outlive the change. Model signals are used here on
purpose: this is cache bookkeeping, not a business step, and it must not depend on every
service (or a moderator's admin edit) remembering to call it. Code that writes jobs with
``QuerySet.update()`` (no signal) calls ``jobs_changed()`` itself.
"""

import hashlib
import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

VERSION_KEY = "sirius:jobs-pages:version"
# A bound on anything that changes with time alone ("published in the last 24 hours").
PAGE_TIMEOUT = 300
CSRF_PLACEHOLDER = "sirius-csrf-placeholder-7c1e2b9a"
# Headers of the view's own response that a hit must give back (the middleware adds the rest
# on every request, hit or miss).
KEPT_HEADERS = ("Content-Type", "Vary", "HX-Push-Url", "Content-Language", "Allow")


def _enabled() -> bool:
    return getattr(settings, "SIRIUS_PAGE_CACHE", True)


def jobs_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def _bump() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def jobs_changed() -> None:
    """The public job pages changed: drop every cached one, now and after the commit."""
    _bump()
    transaction.on_commit(_bump)


def _on_change(sender, **kwargs) -> None:
    jobs_changed()


def connect_signals() -> None:
    """Called once from MarketplaceConfig.ready()."""
    from marketplace.models import Job, JobAttachment, JobLanguage, JobSkill
    from matching.models import Language, Skill, SkillGroup

    for model in (Job, JobSkill, JobLanguage, JobAttachment, Skill, SkillGroup, Language):
        uid = f"page-cache-{model._meta.label_lower}"
        post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}-delete")
    connect_member_signals()


def is_anonymous_request(request: HttpRequest) -> bool:
    """No session cookie (so no log-in, no message kept in a session), no message cookie, no
    API credentials: the request is answered the same way for anybody."""
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in request.META
    )


def page_key(request: HttpRequest, language: str | None = None) -> str:
    parts = [
        request.get_host(),
        request.get_full_path(),
        language or translation.get_language() or "",
        request.headers.get("HX-Request", ""),
        request.headers.get("HX-History-Restore-Request", ""),
        request.headers.get("Accept", ""),
        timezone.localdate().isoformat(),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"sirius:jobs-pages:{digest}"


def _from_entry(request: HttpRequest, entry: dict) -> HttpResponse:
    content = entry["content"]
    if entry["has_csrf"]:
        content = content.replace(CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    response = HttpResponse(content, status=entry["status"])
    for name, value in entry["headers"]:
        response[name] = value
    response["X-Page-Cache"] = "hit"
    return response


def cache_anonymous_page(view: Callable) -> Callable:
    """Serve anonymous GETs of ``view`` from the cache (see the module's docstring)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _enabled() or not is_anonymous_request(request):
            return view(request, *args, **kwargs)
        key = page_key(request)
        found = cache.get_many([VERSION_KEY, key])
        version = found.get(VERSION_KEY) or jobs_version()
        entry = found.get(key)
        if entry is not None and entry["version"] == version:
            return _from_entry(request, entry)
        response = view(request, *args, **kwargs)
        context = getattr(response, "context_data", None)
        if response.status_code == 200 and isinstance(context, dict):
            context["csrf_token"] = CSRF_PLACEHOLDER
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        content = getattr(response, "content", b"") if not response.streaming else b""
        has_csrf = CSRF_PLACEHOLDER.encode() in content
        if response.status_code == 200 and not response.streaming and not response.cookies:
            entry = {
                "version": version,
                "status": response.status_code,
                "content": content,
                "has_csrf": has_csrf,
                "xframe_exempt": getattr(response, "xframe_options_exempt", False),
                "headers": [(name, response[name]) for name in KEPT_HEADERS if name in response],
            }
            cache.set(key, entry, PAGE_TIMEOUT)
            response["X-Page-Cache"] = "miss"
        if has_csrf:
            response.content = content.replace(
                CSRF_PLACEHOLDER.encode(), get_token(request).encode()
            )
        return response

    return wrapper


class AnonymousPageCacheMiddleware:
    """Serves anonymous hits before the rest of the stack (see the module's docstring).

    Must come after SecurityMiddleware, the CSP middleware and WhiteNoise, before
    SessionMiddleware. Only paths under the cached views' prefixes cost a cache look-up."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)
        self.supported = {code for code, _name in settings.LANGUAGES}
        self._prefixes: tuple[str, ...] | None = None

    def prefixes(self) -> tuple[str, ...]:
        if self._prefixes is None:
            self._prefixes = (reverse("job_board"), reverse("api-job-list"))
        return self._prefixes

    def language_for(self, request: HttpRequest) -> str:
        # AccountLocaleMiddleware's choice for a visitor who is not logged in.
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        return cookie if cookie in self.supported else settings.LANGUAGE_CODE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            _enabled()
            # A CSRF secret kept in the session needs the session: the whole stack then.
            and not settings.CSRF_USE_SESSIONS
            and request.path.startswith(self.prefixes())
            and is_anonymous_request(request)
        ):
            response = self.hit(request)
            if response is not None:
                return response
        return self.get_response(request)

    def hit(self, request: HttpRequest) -> HttpResponse | None:
        language = self.language_for(request)
        key = page_key(request, language)
        found = cache.get_many([VERSION_KEY, key])
        entry = found.get(key)
        if entry is None or entry["version"] != (found.get(VERSION_KEY) or jobs_version()):
            return None
        translation.activate(language)
        request.LANGUAGE_CODE = language
        # As CsrfViewMiddleware does: the visitor's secret from their cookie (a malformed
        # cookie is replaced), the token masked afresh by get_token(), the cookie set if needed.
        self.csrf.process_request(request)
        response = _from_entry(request, entry)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        if not entry.get("xframe_exempt") and "X-Frame-Options" not in response:
            response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        response["Content-Length"] = str(len(response.content))
        return self.csrf.process_response(request, response)


# --- A member's own fits (the dashboard) --------------------------------------------------------
# Not a page: the member's "jobs that fit you", cached per member and language, valid while
# neither the jobs (VERSION_KEY) nor the member's skills, languages or availability change.
MEMBER_FITS_TIMEOUT = 600


def member_version_key(member_id: int) -> str:
    return f"sirius:member:{member_id}:version"


def member_changed(member_id: int) -> None:
    key = member_version_key(member_id)
    cache.set(key, uuid.uuid4().hex, None)
    transaction.on_commit(lambda: cache.set(key, uuid.uuid4().hex, None))


def _on_member_change(sender, instance, **kwargs) -> None:
    member_changed(
        instance.pk
        if sender._meta.label_lower == "marketplace.memberprofile"
        else instance.member_id
    )


def cached_member_fits(member_id: int, compute: Callable[[], list]) -> list:
    """``compute()`` for this member and language, or what it returned while nothing it reads
    has changed since."""
    key = f"sirius:member:{member_id}:fits:{translation.get_language()}"
    version_key = member_version_key(member_id)
    found = cache.get_many([VERSION_KEY, version_key, key])
    versions = (found.get(VERSION_KEY) or jobs_version(), found.get(version_key))
    if versions[1] is None:
        cache.add(version_key, uuid.uuid4().hex, None)
        versions = (versions[0], cache.get(version_key))
    entry = found.get(key)
    if entry is not None and entry[0] == versions:
        return entry[1]
    fits = compute()
    cache.set(key, (versions, fits), MEMBER_FITS_TIMEOUT)
    return fits


def connect_member_signals() -> None:
    from marketplace.models import MemberProfile
    from matching.models import MemberLanguage, SkillClaim

    for model in (MemberProfile, MemberLanguage, SkillClaim):
        uid = f"member-fits-{model._meta.label_lower}"
        post_save.connect(_on_member_change, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_on_member_change, sender=model, dispatch_uid=f"{uid}-delete")
