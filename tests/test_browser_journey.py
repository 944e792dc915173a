"""The whole journey through the real pages, in Debian's Chromium, in French and in Arabic (right
to left), with axe-core auditing every page shown: a client signs up and posts a job, an admin
(password and TOTP) approves it, a member bids, the client accepts and pays by card (localstripe's
Stripe.js stand-in, its signed webhook delivered to the live server), the member delivers, the
client approves, the member sees the payout on their earnings page, and both review.

Three actors, three browser contexts (their own cookies). The language is chosen through the
site's own switcher. Only the set-up of the admin and the member (accounts that exist before the
story starts) uses factories; every step of the story goes through the browser.

Skipped (with a reason) without /usr/bin/chromium or without axe-core (npm ci --prefix tests/axe)."""

import datetime
import os
import re
import time
from urllib.parse import urlsplit

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import Browser, Page, expect

from marketplace.models import Bid, Contract, Job, Review
from matching.models import Language, Skill
from payments.models import Payment, PaymentStatus, StripeEvent, StripeEventStatus
from tests.browser_support import (
    TIMEOUT_MS,
    AxeAudit,
    axe_source,
    localstripe_webhook_to,
    log_in,
    new_page,
    switch_language,
    totp_code,
    wait_until,
)
from tests.factories import PASSWORD, AdminFactory, MemberFactory
from tests.test_payments_localstripe import localstripe, point_settings_at

# Playwright's sync API runs an event loop in this thread; the ORM must still be usable here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOTP_SECRET = "JBSWY3DPEHPK3PXP"
CLIENT_EMAIL = "nadia.benali@example.be"
CLIENT_PASSWORD = "une-phrase-de-passe-solide"
# The card form is localstripe's stand-in for Stripe.js; in production it is Stripe's own
# iframe, which is Stripe's to make accessible, not ours.
STRIPE_CARD_WIDGET = "#card-element"


def confirmation_path(message) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def expect_language(page: Page, code: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if code == "ar" else "ltr")


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_the_whole_journey_is_usable_and_accessible(
    language, live_server, browser: Browser, settings, tmp_path, request
):
    started = time.monotonic()
    expect.set_options(timeout=TIMEOUT_MS)
    audit = AxeAudit(source=axe_source())
    base = live_server.url

    def in_days(days: int) -> datetime.date:
        return timezone.localdate() + datetime.timedelta(days=days)

    # Given an admin with a second factor (TOTP) and a member of the cooperative
    admin = AdminFactory(email="admin@sirius.coop")
    TOTP.activate(admin, TOTP_SECRET)
    member = MemberFactory(email="karim.member@example.be", member_profile__display_name="Karim")
    css = Skill.objects.get(label_en="style sheet languages")
    french = Language.objects.get(code="fr")

    def actor() -> Page:
        page = new_page(browser, base, request=request)
        audit.watch(page)
        return page

    client_page, admin_page, member_page = actor(), actor(), actor()

    def audited(page: Page, **kwargs) -> Page:
        expect_language(page, language)
        audit.check(page, **kwargs)
        return page

    with localstripe(tmp_path / "localstripe.pickle") as port:
        point_settings_at(settings, port)
        localstripe_webhook_to(port, base)

        # --- The client signs up, in their language, and confirms their e-mail ---------------
        page = client_page
        page.goto("/")
        expect_language(page, "fr")
        switch_language(page, language)
        audited(page)
        # Keyboard users: the first Tab reaches the skip link, the next one the menu, and the
        # focused element shows an outline (axe-core does not check focus visibility).
        page.keyboard.press("Tab")
        expect(page.locator("a.skip-link")).to_be_focused()
        page.keyboard.press("Tab")
        expect(page.locator("header a.brand")).to_be_focused()
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), outline
        page.locator("header nav a[href='/accounts/signup/']").click()
        audited(page)
        form = page.locator('main form[action="/accounts/signup/"]')
        form.locator("#id_full_name").fill("Nadia Benali")
        form.locator("#id_email").fill(CLIENT_EMAIL)
        form.locator("#id_password1").fill(CLIENT_PASSWORD)
        form.locator("#id_password2").fill(CLIENT_PASSWORD)
        form.locator("input[name=role][value=client]").check()
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/accounts/confirm-email/")
        audited(page)
        assert len(mail.outbox) == 1
        page.goto(confirmation_path(mail.outbox[0]))
        audited(page)
        page.locator('main form[action^="/accounts/confirm-email/"] button[type=submit]').click()
        expect(page).to_have_url(f"{base}/accounts/login/")
        audited(page)
        log_in(page, CLIENT_EMAIL, CLIENT_PASSWORD)
        expect(page).to_have_url(f"{base}/dashboard/")
        audited(page)

        # --- The client posts a job and sends it for review --------------------------------
        page.goto(reverse("job_create"))
        audited(page)
        form = page.locator("main form[method=post]")
        # Sent empty first: the errors, next to their fields, must be accessible too.
        form.locator("button[name=submit]").click()
        expect(page.locator("main .field-error").first).to_be_visible()
        audited(page)
        form.locator("#id_title").fill("Site pour l’épicerie solidaire")
        form.locator("#id_description").fill(
            "Un site **simple** en français et en arabe pour présenter l’épicerie."
        )
        form.locator("#id_category").select_option(index=1)
        form.locator("input[name=budget_type][value=fixed]").check()
        form.locator("#id_budget_min").fill("800")
        form.locator("#id_budget_max").fill("1200")
        form.locator("#id_closes_on").fill(in_days(20).isoformat())
        form.locator("#id_commune").select_option("liege")
        form.locator("#id_work_mode").select_option(index=1)
        form.locator("#id_skills-0-skill").select_option(str(css.pk))
        form.locator("#id_languages-0-language").select_option(str(french.pk))
        form.locator("button[name=submit]").click()
        job = Job.objects.get(title="Site pour l’épicerie solidaire")
        expect(page).to_have_url(f"{base}{reverse('job_detail', args=[job.pk])}")
        audited(page)
        job.refresh_from_db()
        assert job.status == "submitted"

        # --- The admin logs in with password and TOTP, and approves the job ----------------
        page = admin_page
        page.goto("/")
        switch_language(page, language)
        log_in(page, admin.email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        audited(page)
        page.locator("main input[name=code]").fill(totp_code(TOTP_SECRET))
        page.locator("main form button[type=submit]").first.click()
        expect(page).to_have_url(f"{base}/dashboard/")
        audited(page)
        page.locator("header nav a[href='/moderation/']").click()
        audited(page)
        page.locator(f"main a[href='{reverse('moderation_job', args=[job.pk])}']").first.click()
        audited(page)
        page.locator("main input[name=decision][value=approve]").check()
        page.locator("main input[name=decision][value=approve]").locator(
            "xpath=ancestor::form"
        ).locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/moderation/")
        audited(page)
        job.refresh_from_db()
        assert job.status == "published"

        # --- The member finds the job on the board and bids -------------------------------
        page = member_page
        page.goto("/")
        switch_language(page, language)
        log_in(page, member.email, PASSWORD)
        expect(page).to_have_url(f"{base}/dashboard/")
        audited(page)
        page.locator("header nav a[href='/jobs/']").click()
        audited(page)
        page.locator(f"main a[href='{reverse('job_detail', args=[job.pk])}']").first.click()
        audited(page)
        page.locator(f"main a[href='{reverse('bid_new', args=[job.pk])}']").click()
        audited(page)
        form = page.locator("main form[method=post]")
        form.locator("#id_cover_message").fill("Bonjour, je fais ce site en deux semaines.")
        form.locator("button[type=submit]").click()
        expect(page.locator("#id_price_error")).to_be_visible()
        # The message is kept beside the errors.
        expect(form.locator("#id_cover_message")).to_have_value(re.compile("deux semaines"))
        audited(page)
        form.locator("#id_price").fill("1000")
        form.locator("#id_start_date").fill(in_days(2).isoformat())
        form.locator("#id_milestones-0-title").fill("Le site en ligne")
        form.locator("#id_milestones-0-amount").fill("1000")
        form.locator("#id_milestones-0-due_date").fill(in_days(30).isoformat())
        form.locator("button[type=submit]").click()
        bid = Bid.objects.get(job=job)
        expect(page).to_have_url(f"{base}{reverse('bid_detail', args=[bid.pk])}")
        audited(page)

        # --- The client accepts the bid and pays the milestone by card ---------------------
        page = client_page
        page.goto(reverse("job_detail", args=[job.pk]))
        audited(page)
        page.locator(f"main a[href='{reverse('job_bids', args=[job.pk])}']").click()
        audited(page)
        page.locator(f"main form[action='{reverse('bid_accept', args=[bid.pk])}'] button").click()
        contract = Contract.objects.get(job=job)
        milestone = contract.milestones.get()
        expect(page).to_have_url(f"{base}{reverse('contract_detail', args=[contract.pk])}")
        audited(page)
        pay_url = reverse("pay_milestone", args=[contract.pk, milestone.pk])
        page.locator(f"#milestone-{milestone.pk} a[href='{pay_url}']").click()
        audited(page)
        page.locator("input[name=method][value=card]").check()
        page.locator("form.pay-method button[type=submit]").click()
        payment = Payment.objects.get(milestone=milestone)
        expect(page).to_have_url(f"{base}{reverse('pay_card', args=[payment.pk])}")
        card = page.locator(STRIPE_CARD_WIDGET)
        expect(card.locator('input[placeholder="number"]')).to_be_visible()
        audited(page, exclude=(STRIPE_CARD_WIDGET,))
        card.locator('input[placeholder="number"]').fill("4242424242424242")
        card.locator('input[placeholder="exp_month"]').fill("12")
        card.locator('input[placeholder="exp_year"]').fill("34")
        card.locator('input[placeholder="cvc"]').fill("123")
        card.locator('input[placeholder="postal_code"]').fill("4000")
        page.locator("#card-submit").click()
        # localstripe's 3-D Secure dialog (Stripe's own page in production).
        page.get_by_role("button", name="Complete authentication").click()
        expect(page).to_have_url(f"{base}{reverse('stripe_return', args=[payment.pk])}")
        expect(page.locator("#payment-result .message-success")).to_be_visible()
        audited(page)
        # The signed webhook reaches the site too (stored once, processed).
        wait_until(
            lambda: StripeEvent.objects.filter(
                event_type="payment_intent.succeeded", status=StripeEventStatus.PROCESSED
            ).exists(),
            what="localstripe's payment_intent.succeeded webhook",
        )
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED

        # --- The member starts and delivers ------------------------------------------------
        page = member_page
        page.goto(reverse("contract_detail", args=[contract.pk]))
        audited(page)
        start = reverse("milestone_start", args=[contract.pk, milestone.pk])
        page.locator(f"main form[action='{start}'] button[type=submit]").click()
        audited(page)
        deliver = page.locator("main form.milestone-deliver")
        deliver.locator("textarea").first.fill("Le site est en ligne : https://epicerie.example.be")
        deliver.locator("button[type=submit]").click()
        expect(page.locator(f"#milestone-{milestone.pk} form.milestone-deliver")).to_have_count(0)
        audited(page)

        # --- The client approves ------------------------------------------------------------
        page = client_page
        page.goto(reverse("contract_detail", args=[contract.pk]))
        audited(page)
        page.locator(f"#milestone-{milestone.pk} form.milestone-approve button").click()
        expect(page.locator(f"#milestone-{milestone.pk} form.milestone-approve")).to_have_count(0)
        audited(page)
        contract.refresh_from_db()
        assert contract.status == "completed"

        # --- The member sees the payout on their earnings page -----------------------------
        page = member_page
        page.goto(reverse("member_earnings"))
        audited(page)
        # 1 000 € released, 10 % solidarity share kept: 900 € owed to the member.
        expect(page.locator("main")).to_contain_text(re.compile(r"900\s(€|EUR)|€\s?900"))

        # --- Both review ----------------------------------------------------------------------
        for page, rating, text in (
            (member_page, 5, "Cliente claire et rapide, merci."),
            (client_page, 5, "Travail soigné et livré à temps."),
        ):
            page.goto(reverse("contract_detail", args=[contract.pk]))
            audited(page)
            page.locator(f"main a[href='{reverse('review_write', args=[contract.pk])}']").click()
            audited(page)
            form = page.locator("main form[method=post]")
            form.locator(f"input[name=rating][value='{rating}']").check()
            form.locator("textarea[name=text]").fill(text)
            form.locator("button[type=submit]").click()
            expect(page.locator("main blockquote").first).to_contain_text(text)
            audited(page)

    assert Review.objects.filter(contract=contract).count() == 2
    with translation.override("en"):
        print(
            f"\n[{language}] {audit.checks} axe-core audits of {len(audit.audited)} pages in "
            f"{audit.seconds:.1f} s; whole journey {time.monotonic() - started:.1f} s; "
            f"serious/critical by rule: {dict(audit.by_rule())}; "
            f"moderate/minor by rule: {dict(audit.minor)}; axe-core injected by "
            f"{dict(audit.injected_by)}"
        )
    audit.assert_clean()


def test_the_audit_fails_readably_on_serious_violations_and_unaudited_pages(
    live_server, browser: Browser, request
):
    audit = AxeAudit(source=axe_source())
    page = new_page(browser, live_server.url, request=request)
    audit.watch(page)

    # A page with a button without a name and an image without a text alternative
    page.goto("/")
    page.set_content(
        '<html lang="fr"><head><title>t</title></head><body><main><h1>t</h1>'
        '<button id="nameless"></button><img id="wordless" src="/static/favicon.svg">'
        "</main></body></html>"
    )
    found = audit.check(page)
    assert {(v.rule, v.impact) for v in found} >= {
        ("button-name", "critical"),
        ("image-alt", "critical"),
    }
    # And a page shown but never audited
    page.goto("/jobs/")

    with pytest.raises(AssertionError) as unaudited:
        audit.assert_clean()
    assert "/jobs/" in str(unaudited.value)
    audit.audited.add("/jobs/")
    with pytest.raises(AssertionError) as failed:
        audit.assert_clean()
    message = str(failed.value)
    assert "/: [critical] button-name" in message
    assert "#nameless" in message and "#wordless" in message
    assert "dequeuniversity.com" in message
