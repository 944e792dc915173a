"""Security headers, the Content-Security-Policy against the real pages, `__Host-` cookies and
CSRF with htmx.

The production values come from the environment at import (see test_production.py); here
they are set with the `settings` fixture, which the test client's middleware reads when it is
first used."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.models import BidMessage
from tests.factories import PASSWORD, ClientFactory, JobFactory, make_bid, make_contract
from tests.test_payments_localstripe import localstripe, point_settings_at

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@pytest.fixture
def production_security(settings):
    """What SIRIUS_HTTPS=true sets (config/settings.py), minus the HTTPS redirect: the test
    client sends secure requests itself."""
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    return settings


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


# --- Headers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_carries_every_security_header(client, production_security):
    response = client.get(reverse("home"), secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = csp_directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]


@pytest.mark.django_db
def test_the_csp_allows_localstripe_only_without_a_stripe_key(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.LOCALSTRIPE_URL = "http://127.0.0.1:8421"

    csp = csp_directives(client.get(reverse("home")))

    assert csp["script-src"] == ["'self'", "http://127.0.0.1:8421"]
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:8421"]
    assert csp["frame-src"] == ["'none'"]
    assert not any("stripe.com" in source for sources in csp.values() for source in sources)


@pytest.mark.django_db
def test_the_csp_allows_real_stripe_only_with_a_stripe_key(client, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_not_a_real_key"

    csp = csp_directives(client.get(reverse("home")))

    assert csp["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert csp["connect-src"] == ["'self'", "https://api.stripe.com"]
    assert csp["frame-src"] == [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    ]
    assert csp["form-action"] == ["'self'", "https://hooks.stripe.com"]
    assert "127.0.0.1" not in response_text(csp)


def response_text(csp: dict[str, list[str]]) -> str:
    return " ".join(" ".join(sources) for sources in csp.values())


# --- __Host- cookies -------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_and_csrf_cookies_meet_the_host_prefix_rules(client, production_security):
    user = ClientFactory()

    login_page = client.get(reverse("account_login"), secure=True)
    logged_in = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, secure=True
    )

    assert logged_in.status_code == 302
    for response, name in ((login_page, "__Host-csrftoken"), (logged_in, "__Host-sessionid")):
        cookie = response.cookies[name]
        # A __Host- cookie must be Secure, have Path=/ and no Domain, or browsers drop it.
        assert cookie["secure"] is True
        assert cookie["path"] == "/"
        assert cookie["domain"] == ""
        assert "Domain=" not in cookie.output()
    assert logged_in.cookies["__Host-sessionid"]["httponly"] is True
    assert client.get(reverse("dashboard"), secure=True).status_code == 200


# --- CSRF with htmx --------------------------------------------------------------------------


@pytest.fixture
def bid_page(db):
    bid = make_bid()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bid.job.client)
    return bid, browser, reverse("bid_detail", args=[bid.pk])


def test_an_htmx_post_without_the_csrf_token_is_refused(bid_page):
    bid, browser, url = bid_page
    browser.get(url)  # the page sets the CSRF cookie

    response = browser.post(url, {"body": "Pouvez-vous commencer lundi ?"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 403
    assert not BidMessage.objects.filter(bid=bid).exists()


def test_an_htmx_post_with_the_token_from_the_body_hx_headers_is_accepted(bid_page):
    bid, browser, url = bid_page
    page = browser.get(url).content.decode()
    # htmx sends the headers named in <body hx-headers='{"X-CSRFToken": "..."}'> with every request
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)

    response = browser.post(
        url,
        {"body": "Pouvez-vous commencer lundi ?"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
    assert BidMessage.objects.filter(bid=bid, body="Pouvez-vous commencer lundi ?").count() == 1


def test_a_token_from_another_session_is_refused(bid_page):
    bid, browser, url = bid_page
    stranger = Client(enforce_csrf_checks=True)
    stranger.force_login(ClientFactory())
    page = stranger.get(reverse("home")).content.decode()
    their_token = re.search(r"\"X-CSRFToken\": \"([^\"]+)\"", page).group(1)
    browser.get(url)

    response = browser.post(
        url, {"body": "Bonjour"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=their_token
    )

    assert response.status_code == 403
    assert not BidMessage.objects.filter(bid=bid).exists()


# --- The CSP does not break the pages ---------------------------------------------------------


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would refuse: inline <script>/<style> without a nonce, event
    handler attributes (on*, hx-on*), style attributes, and external scripts."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.script_sources: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            elif "nonce" not in attributes:
                self._inside = "script"
        if tag == "style" and "nonce" not in attributes:
            self._inside = "style"

    def handle_data(self, data):
        if self._inside and data.strip():
            self.problems.append(f"inline <{self._inside}>: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._inside = None


def assert_csp_clean(response) -> None:
    assert response.status_code == 200, response
    finder = InlineCodeFinder()
    finder.feed(response.content.decode())
    assert finder.problems == []
    allowed = csp_directives(response)["script-src"]
    for source in finder.script_sources:
        if source.startswith("/"):
            assert "'self'" in allowed
            assert (STATIC_DIR / source.removeprefix("/static/")).exists() or source.startswith(
                "/static/django_htmx/"
            ), source
        else:
            assert any(source.startswith(origin) for origin in allowed if "://" in origin), source


@pytest.mark.django_db
def test_public_pages_have_no_inline_code(client):
    job = JobFactory()

    for url in (
        reverse("home"),
        reverse("job_board"),
        reverse("job_detail", args=[job.pk]),
        reverse("account_login"),
        reverse("account_signup"),
    ):
        assert_csp_clean(client.get(url))


@pytest.mark.django_db
def test_the_job_board_htmx_partial_has_no_inline_code(client):
    JobFactory()

    assert_csp_clean(client.get(reverse("job_board"), HTTP_HX_REQUEST="true"))


@pytest.mark.django_db
def test_the_skill_picker_results_need_no_inline_code(client):
    response = client.get(
        reverse("skill_search"), {"q": "style", "target": "id_skill"}, HTTP_HX_REQUEST="true"
    )

    assert_csp_clean(response)
    assert 'data-skill-target="id_skill"' in response.content.decode()


@pytest.mark.django_db
def test_the_api_documentation_has_no_inline_script(client):
    page = client.get(reverse("api-docs"))
    finder = InlineCodeFinder()
    finder.feed(page.content.decode())
    script = client.get(reverse("api-docs"), {"script": ""})

    assert page.status_code == 200
    assert finder.problems == []
    assert "/static/css/swagger_ui.css" in page.content.decode()
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_the_admin_has_no_inline_script(client, settings):
    from tests.factories import AdminFactory

    settings.SIRIUS_STAFF_REQUIRE_MFA = False
    client.force_login(AdminFactory())

    for url in (reverse("admin:index"), reverse("admin:marketplace_job_changelist")):
        finder = InlineCodeFinder()
        response = client.get(url)
        finder.feed(response.content.decode())

        assert response.status_code == 200
        assert not [
            problem for problem in finder.problems if "script" in problem or " on" in problem
        ]


@pytest.mark.django_db(transaction=True)
def test_the_payment_pages_have_no_inline_code_under_localstripe(client, settings, tmp_path):
    from payments.models import Payment

    contract = make_contract()
    milestone = contract.milestones.order_by("position").first()
    client.force_login(contract.client)
    pay_url = reverse("pay_milestone", args=[contract.pk, milestone.pk])

    with localstripe(tmp_path / "localstripe.pickle") as port:
        point_settings_at(settings, port)
        choose = client.get(pay_url)
        chosen = client.post(pay_url, {"method": "card"})
        payment = Payment.objects.get(milestone=milestone)
        card_page = client.get(reverse("pay_card", args=[payment.pk]))

    assert_csp_clean(choose)
    assert chosen.status_code == 302
    assert_csp_clean(card_page)
    csp = csp_directives(card_page)
    # Stripe.js's stand-in is loaded from localstripe and talks to it
    assert f"http://127.0.0.1:{port}" in csp["script-src"]
    assert f"http://127.0.0.1:{port}" in csp["connect-src"]


@pytest.mark.django_db
def test_logged_in_pages_have_no_inline_code(client):
    contract = make_contract()

    client.force_login(contract.client)
    for url in (
        reverse("dashboard"),
        reverse("job_create"),  # with the skill picker
        reverse("client_jobs"),
        reverse("my_contracts"),
        reverse("contract_detail", args=[contract.pk]),
        reverse("job_bids", args=[contract.job_id]),
        reverse("bid_detail", args=[contract.bid_id]),
        # the EPC QR code is inline SVG: it must carry no style attribute
        reverse("pay_bank_transfer", args=[contract.pk, contract.milestones.first().pk]),
        reverse("my_invoices"),
    ):
        assert_csp_clean(client.get(url))

    client.force_login(contract.member.user)
    for url in (
        reverse("dashboard"),
        reverse("skill_claim_new"),  # with the skill picker
        reverse("my_skills"),
        reverse("member_profile_edit"),
        reverse("contract_detail", args=[contract.pk]),
    ):
        assert_csp_clean(client.get(url))


# --- In a real browser, with the policy enforced -----------------------------------------------

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_work_in_chromium_without_a_single_csp_violation(
    live_server, page, settings, tmp_path
):
    from playwright.sync_api import expect

    from matching.models import Skill

    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url
    contract = make_contract()
    JobFactory(title="Boutique en ligne pour une librairie")
    skill = Skill.objects.get(label_en="style sheet languages")

    with localstripe(tmp_path / "localstripe.pickle") as port:
        point_settings_at(settings, port)

        # The policy is on: an injected inline script is refused and reported
        page.goto(f"{base}/")
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"
        )
        assert page.evaluate("window.__ran === undefined")
        assert [v for v in csp_violations(page) if v.startswith("script-src")]

        # The job board's htmx filter works (htmx loaded from our static files)
        page.goto(f"{base}{reverse('job_board')}")
        page.locator(".job-filters input[type=search]").first.fill("librairie")
        expect(page.locator("#job-results")).to_contain_text("Boutique en ligne pour une librairie")
        assert csp_violations(page) == []

        # The skill picker fills in its select without inline handlers
        page.goto(f"{base}/accounts/login/")
        login = page.locator('form[action="/accounts/login/"]')
        login.locator("#id_login").fill(contract.member.user.email)
        login.locator("#id_password").fill(PASSWORD)
        login.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/dashboard/")
        assert csp_violations(page) == []
        page.goto(f"{base}{reverse('skill_claim_new')}")
        page.locator("#id_skill-search").fill("style sheet")
        page.locator(f'button[data-skill-id="{skill.pk}"]').click()
        expect(page.locator("#id_skill")).to_have_value(str(skill.pk))
        assert csp_violations(page) == []

        # The card page loads Stripe.js's stand-in from localstripe and mounts its card element
        page.context.clear_cookies()
        page.goto(f"{base}/accounts/login/")
        login = page.locator('form[action="/accounts/login/"]')
        login.locator("#id_login").fill(contract.client.email)
        login.locator("#id_password").fill(PASSWORD)
        login.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/dashboard/")
        milestone = contract.milestones.order_by("position").first()
        page.goto(f"{base}{reverse('pay_milestone', args=[contract.pk, milestone.pk])}")
        page.locator('input[name="method"][value="card"]').check()
        page.locator("form.pay-method button[type=submit]").click()
        expect(page.locator('#card-element input[placeholder="number"]')).to_be_visible()
        assert csp_violations(page) == []
