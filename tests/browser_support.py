"""What the browser tests share: axe-core audits, logging in (with TOTP for staff), the site's own
language switcher, and localstripe's webhook pointed at the live server.

axe-core comes from npm (``tests/axe/package.json``, pinned by its lock file) and is injected into
each page from the local file: never from a CDN. ``python3 dev.py test`` installs it when npm is
there; without it the tests that audit pages skip with the reason."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's own tag names).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 10_000


def axe_source() -> str:
    """The axe-core script, or a skip that says how to get it."""
    if not AXE_JS.exists():
        pytest.skip(
            f"needs axe-core from npm in {AXE_JS.parent}: run `npm ci --prefix tests/axe` "
            "(python3 dev.py test does it when npm is installed)"
        )
    return AXE_JS.read_text(encoding="utf-8")


@dataclass(frozen=True)
class AxeViolation:
    page: str
    rule: str
    impact: str
    targets: tuple[str, ...]
    help: str
    help_url: str

    def __str__(self) -> str:
        targets = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return f"{self.page}: [{self.impact}] {self.rule} — {self.help} ({self.help_url})\n    at {targets}"


_HAS_AXE = "() => typeof window.axe !== 'undefined'"

# Runs inside the page: axe-core with the WCAG A/AA rules only, violations only, reduced to what a
# reader of the failure needs.
_RUN_AXE = """async ({tags, exclude}) => {
  const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
  const results = await axe.run(context, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact || "",
    help: v.help,
    helpUrl: v.helpUrl,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


@dataclass
class AxeAudit:
    """Audits every page a test shows, and knows which pages it has not audited yet.

    ``watch(page)`` records every document the page navigates to; ``check(page)`` runs axe-core on
    what the page shows now. At the end, ``assert_clean()`` fails with the serious and critical
    violations of every page, and with any page that was shown but never audited."""

    source: str
    violations: list[AxeViolation] = field(default_factory=list)
    minor: Counter = field(default_factory=Counter)
    visited: set[str] = field(default_factory=set)
    audited: set[str] = field(default_factory=set)
    checks: int = 0
    injected_by: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def watch(self, page: Page) -> None:
        def navigated(frame):
            if frame == page.main_frame:
                self.visited.add(_path(frame.url))

        page.on("framenavigated", navigated)

    def check(self, page: Page, *, exclude: tuple[str, ...] = ()) -> list[AxeViolation]:
        """Audit the page as it is now. ``exclude``: selectors of third-party widgets that are not
        ours to fix (say why at the call)."""
        started = time.monotonic()
        page.wait_for_load_state("load")
        if not page.evaluate(_HAS_AXE):
            # A <script> tag first, as a page's own script; a Content-Security-Policy without
            # 'unsafe-inline' refuses it (Chromium logs it, Playwright may raise).
            with contextlib.suppress(PlaywrightError):
                page.add_script_tag(content=self.source)
            if page.evaluate(_HAS_AXE):
                self.injected_by["script tag"] += 1
            else:
                # Evaluated through the DevTools protocol, which the page's CSP does not govern.
                page.evaluate(f"() => {{ {self.source}\n }}")
                assert page.evaluate(_HAS_AXE), "axe-core could not be injected"
                self.injected_by["evaluate (CSP refused the script tag)"] += 1
        found = page.evaluate(_RUN_AXE, {"tags": WCAG_TAGS, "exclude": list(exclude)})
        where = _path(page.url)
        self.audited.add(where)
        new = []
        for item in found:
            violation = AxeViolation(
                page=where,
                rule=item["rule"],
                impact=item["impact"],
                targets=tuple(item["targets"]),
                help=item["help"],
                help_url=item["helpUrl"],
            )
            if violation.impact in BLOCKING_IMPACTS:
                new.append(violation)
            else:
                self.minor[(violation.rule, violation.impact)] += 1
        self.violations.extend(new)
        self.checks += 1
        self.seconds += time.monotonic() - started
        return new

    def report(self) -> str:
        return "\n".join(str(v) for v in self.violations)

    def by_rule(self) -> Counter:
        return Counter((v.rule, v.impact) for v in self.violations)

    def assert_clean(self) -> None:
        unaudited = sorted(self.visited - self.audited - {"about:blank"})
        assert not unaudited, f"pages shown but never audited with axe-core: {unaudited}"
        assert not self.violations, (
            f"{len(self.violations)} serious or critical axe-core violations "
            f"(WCAG 2 A/AA), by rule: {dict(self.by_rule())}\n{self.report()}"
        )


def _path(url: str) -> str:
    if url.startswith("about:"):
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def new_page(browser, base_url: str, *, request, **context_args) -> Page:
    """A page in a fresh browser context (its own cookies and an empty cache: one actor),
    closed when the test ends (``request`` is the test's pytest fixture): the browser itself
    is shared by the whole session."""
    context = browser.new_context(base_url=base_url, **context_args)
    request.addfinalizer(context.close)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def switch_language(page: Page, code: str) -> None:
    """Through the switcher of the page header, as a visitor would."""
    switcher = page.locator("form.language-switcher")
    switcher.locator("select[name=language]").select_option(code)
    switcher.locator("button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    form = page.locator('main form[action="/accounts/login/"]')
    form.locator("#id_login").fill(email)
    form.locator("#id_password").fill(password)
    form.locator("button[type=submit]").click()


def totp_code(secret: str) -> str:
    """The current code of an authenticator app set up with ``secret``."""
    from allauth.mfa import app_settings

    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def log_out(page: Page) -> None:
    page.locator("header form[action='/accounts/logout/'] button[type=submit]").click()


def localstripe_webhook_to(port: int, live_server_url: str) -> None:
    """Have localstripe post its signed events to the live server, as in production."""
    requests.post(
        f"http://127.0.0.1:{port}/_config/webhooks/sirius",
        data={
            "url": f"{live_server_url}/payments/stripe/webhook/",
            "secret": settings.STRIPE_WEBHOOK_SECRET,
        },
        timeout=5,
    ).raise_for_status()


def wait_until(predicate, *, seconds: float = 10, what: str = "condition") -> None:
    """Poll the database (not the page) for something another process does, e.g. a webhook."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")
