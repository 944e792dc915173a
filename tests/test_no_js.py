"""Every page and form of the journey works with JavaScript turned off, in Debian's Chromium.

htmx only enhances: the board's filters, the skill picker, the bell and the bid messages all have
a plain link or form under them. This walks the journey with ``java_script_enabled=False``: each
form posts, and the page that follows shows the change (checked on the page and in the database).
Card payment needs Stripe.js by nature, so the client pays by bank transfer here, and the admin
records the transfer on the staff page.

Skipped (with a reason) when /usr/bin/chromium is absent."""

import datetime
import os
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from marketplace.models import Bid, Contract, Job, Review
from matching.models import Language, Skill
from payments.models import Payment, PaymentStatus
from tests.browser_support import TIMEOUT_MS, log_in, new_page, switch_language, totp_code
from tests.factories import PASSWORD, AdminFactory, ClientFactory, JobFactory, MemberFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def no_js_page(browser: Browser, base_url: str, request) -> Page:
    page = new_page(browser, base_url, request=request, java_script_enabled=False)
    # Prove the switch is real: a script that would run sets nothing.
    page.goto("/")
    assert page.evaluate("() => 1") == 1  # Playwright's own evaluation still works…
    page.set_content("<p id=x></p><script>document.getElementById('x').textContent='ran'</script>")
    expect(page.locator("#x")).to_have_text("")  # …but the page's scripts do not run.
    return page


def form_of(page: Page, action: str):
    return page.locator(f"main form[action='{action}']")


def test_the_journey_works_without_javascript(live_server, browser: Browser, request):
    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    admin = AdminFactory()
    TOTP.activate(admin, TOTP_SECRET)
    client = ClientFactory(full_name="Nadia Benali")
    member = MemberFactory(member_profile__display_name="Karim")
    css = Skill.objects.get(label_en="style sheet languages")
    french = Language.objects.get(code="fr")
    other = JobFactory(title="Boutique en ligne pour la librairie", category="eshop")
    visitor, client_page, admin_page, member_page = (
        no_js_page(browser, base, request) for _ in range(4)
    )

    # --- A visitor: the board, its filters, a job, the language switch ----------------------
    page = visitor
    page.goto("/")
    page.locator("header nav a[href='/jobs/']").click()
    expect(page.locator("main ol.job-cards > li")).to_have_count(1)
    filters = page.locator("main form.job-filters")
    filters.locator("[name=q]").fill("librairie")
    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/jobs/\?.*q=librairie"))
    expect(page.locator("main ol.job-cards > li")).to_have_count(1)
    filters.locator("[name=q]").fill("introuvable")
    filters.locator("button[type=submit]").click()
    expect(page.locator("main ol.job-cards > li")).to_have_count(0)
    page.goto("/jobs/")
    page.locator(f"main a[href='{reverse('job_detail', args=[other.pk])}']").first.click()
    expect(page.locator("main h1")).to_contain_text("librairie")
    switch_language(page, "en")
    expect(page).to_have_url(f"{base}{reverse('job_detail', args=[other.pk])}")
    expect(page.locator("header nav a[href='/accounts/login/']")).to_have_text("Log in")
    switch_language(page, "fr")

    # --- The client logs in and posts a job -------------------------------------------------
    page = client_page
    log_in(page, client.email, PASSWORD)
    expect(page).to_have_url(f"{base}/dashboard/")
    page.goto(reverse("job_create"))
    form = page.locator("main form[method=post]")
    form.locator("button[name=submit]").click()  # empty: errors next to the fields
    expect(page.locator("#id_title_error")).to_be_visible()
    form.locator("#id_title").fill("Site pour l’épicerie solidaire")
    form.locator("#id_description").fill("Un site simple pour présenter l’épicerie.")
    form.locator("#id_category").select_option("showcase")
    form.locator("input[name=budget_type][value=fixed]").check()
    form.locator("#id_budget_min").fill("800")
    form.locator("#id_budget_max").fill("1200")
    form.locator("#id_closes_on").fill(in_days(20).isoformat())
    form.locator("#id_commune").select_option("liege")
    form.locator("#id_work_mode").select_option(index=1)
    # Without the htmx search, the plain list of skills under it is the way to choose.
    form.locator("#id_skills-0-skill").select_option(str(css.pk))
    form.locator("#id_languages-0-language").select_option(str(french.pk))
    form.locator("button[name=submit]").click()
    job = Job.objects.get(title="Site pour l’épicerie solidaire")
    expect(page).to_have_url(f"{base}{reverse('job_detail', args=[job.pk])}")
    job.refresh_from_db()
    assert job.status == "submitted"

    # --- The admin (password, then TOTP) approves it --------------------------------------------
    page = admin_page
    log_in(page, admin.email, PASSWORD)
    page.locator("main input[name=code]").fill(totp_code(TOTP_SECRET))
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/dashboard/")
    page.goto(reverse("moderation_job", args=[job.pk]))
    decision = page.locator("main input[name=decision][value=approve]")
    decision.check()
    decision.locator("xpath=ancestor::form").locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/moderation/")
    job.refresh_from_db()
    assert job.status == "published"

    # --- The member bids ----------------------------------------------------------------------
    page = member_page
    log_in(page, member.email, PASSWORD)
    page.goto(reverse("job_detail", args=[job.pk]))
    page.locator(f"main a[href='{reverse('bid_new', args=[job.pk])}']").click()
    form = page.locator("main form[method=post]")
    form.locator("#id_price").fill("1000")
    form.locator("#id_start_date").fill(in_days(2).isoformat())
    form.locator("#id_milestones-0-title").fill("Le site en ligne")
    form.locator("#id_milestones-0-amount").fill("1000")
    form.locator("#id_milestones-0-due_date").fill(in_days(30).isoformat())
    form.locator("#id_cover_message").fill("Bonjour, je fais ce site en deux semaines.")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/bids/\d+/$"))
    bid = Bid.objects.get(job=job)
    expect(page).to_have_url(f"{base}{reverse('bid_detail', args=[bid.pk])}")

    # --- The client accepts it and chooses to pay by bank transfer --------------------------
    page = client_page
    page.goto(reverse("job_bids", args=[job.pk]))
    form_of(page, reverse("bid_accept", args=[bid.pk])).locator("button").click()
    contract = Contract.objects.get(job=job)
    milestone = contract.milestones.get()
    expect(page).to_have_url(f"{base}{reverse('contract_detail', args=[contract.pk])}")
    page.locator(
        f"main a[href='{reverse('pay_milestone', args=[contract.pk, milestone.pk])}']"
    ).click()
    transfer = reverse("pay_bank_transfer", args=[contract.pk, milestone.pk])
    page.locator(f"main a[href='{transfer}']").click()
    payment = Payment.objects.get(milestone=milestone)
    communication = payment.structured_communication
    expect(page.locator("main")).to_contain_text(communication[-4:])
    expect(page.locator("main")).to_contain_text(re.compile(r"1\s210,00"))

    # --- The admin records the transfer as received --------------------------------------------
    page = admin_page
    page.goto(reverse("bank_transfers"))
    received = form_of(page, reverse("bank_transfer_mark_received", args=[payment.pk]))
    received.locator("input[name$=amount]").fill("1210,00")
    received.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}{reverse('bank_transfers')}")
    expect(page.locator("main .message-success")).to_be_visible()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED

    # --- The member starts and delivers -------------------------------------------------------
    page = member_page
    page.goto(reverse("contract_detail", args=[contract.pk]))
    form_of(page, reverse("milestone_start", args=[contract.pk, milestone.pk])).locator(
        "button"
    ).click()
    deliver = page.locator("main form.milestone-deliver")
    deliver.locator("textarea").first.fill("Le site est en ligne : https://epicerie.example.be")
    deliver.locator("button[type=submit]").click()
    expect(page.locator("main form.milestone-deliver")).to_have_count(0)
    expect(page.locator(f"#milestone-{milestone.pk}")).to_contain_text("epicerie.example.be")

    # --- The client approves -----------------------------------------------------------------
    page = client_page
    page.goto(reverse("contract_detail", args=[contract.pk]))
    page.locator(f"#milestone-{milestone.pk} form.milestone-approve button").click()
    expect(page.locator("main form.milestone-approve")).to_have_count(0)
    contract.refresh_from_db()
    assert contract.status == "completed"

    # --- Both review; the member sees the payout ------------------------------------------------
    for page, text in (
        (member_page, "Cliente claire et rapide, merci."),
        (client_page, "Travail soigné et livré à temps."),
    ):
        page.goto(reverse("contract_detail", args=[contract.pk]))
        page.locator(f"main a[href='{reverse('review_write', args=[contract.pk])}']").click()
        form = page.locator("main form[method=post]")
        form.locator("input[name=rating][value='4']").check()
        form.locator("textarea[name=text]").fill(text)
        form.locator("button[type=submit]").click()
        expect(page.locator("main blockquote").first).to_contain_text(text)
    assert Review.objects.filter(contract=contract).count() == 2
    member_page.goto(reverse("member_earnings"))
    expect(member_page.locator("main")).to_contain_text(re.compile(r"900\s€"))

    # --- Log out ----------------------------------------------------------------------------------
    page = client_page
    page.locator("header form[action='/accounts/logout/'] button[type=submit]").click()
    # allauth may ask to confirm on its own page: that is a plain form too.
    confirm = page.locator("main form[action='/accounts/logout/'] button[type=submit]")
    if confirm.count():
        confirm.click()
    expect(page.locator("header nav a[href='/accounts/login/']")).to_be_visible()
    page.goto(reverse("dashboard"))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
