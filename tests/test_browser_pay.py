"""A client pays a milestone by card on the real pages, in Debian's Chromium, with localstripe's
Stripe.js stand-in (served by a localstripe subprocess) in place of js.stripe.com.

Skipped (with a reason, see conftest.py) when /usr/bin/chromium is absent."""

import os

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from marketplace.models import MilestoneStatus
from payments.models import LedgerTransaction, Payment, PaymentStatus, TransactionKind
from tests.factories import PASSWORD, make_contract
from tests.test_payments_localstripe import localstripe, point_settings_at

# Playwright's sync API runs an event loop in this thread; the ORM must still be usable here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT_MS = 10_000


def test_a_client_pays_a_milestone_by_card_and_sees_it_funded(
    live_server, page: Page, settings, tmp_path
):
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url
    contract = make_contract()
    milestone = contract.milestones.order_by("position").first()
    client = contract.client

    with localstripe(tmp_path / "localstripe.pickle") as port:
        # The live server runs in this process: the override reaches its pages too.
        point_settings_at(settings, port)

        # Given the client, logged in, on the contract's page
        page.goto(f"{base}/accounts/login/")
        login_form = page.locator('form[action="/accounts/login/"]')
        login_form.locator("#id_login").fill(client.email)
        login_form.locator("#id_password").fill(PASSWORD)
        login_form.locator("button[type=submit]").click()
        expect(page).to_have_url(f"{base}/dashboard/")
        page.goto(f"{base}{reverse('contract_detail', args=[contract.pk])}")

        # When they choose to pay the first milestone by card
        pay_url = reverse("pay_milestone", args=[contract.pk, milestone.pk])
        page.locator(f'#milestone-{milestone.pk} a[href="{pay_url}"]').click()
        expect(page).to_have_url(f"{base}{pay_url}")
        expect(page.locator("main")).to_contain_text("968")
        page.locator('input[name="method"][value="card"]').check()
        page.locator("form.pay-method button[type=submit]").click()

        # Then the card form of Stripe.js (localstripe's stand-in) appears
        payment = Payment.objects.get(milestone=milestone)
        expect(page).to_have_url(f"{base}{reverse('pay_card', args=[payment.pk])}")
        card = page.locator("#card-element")
        expect(card.locator('input[placeholder="number"]')).to_be_visible()
        card.locator('input[placeholder="number"]').fill("4242424242424242")
        card.locator('input[placeholder="exp_month"]').fill("12")
        card.locator('input[placeholder="exp_year"]').fill("34")
        card.locator('input[placeholder="cvc"]').fill("123")
        card.locator('input[placeholder="postal_code"]').fill("4000")

        # When they pay and complete the 3-D Secure step
        page.locator("#card-submit").click()
        page.get_by_role("button", name="Complete authentication").click()

        # Then the result page says it is paid
        expect(page).to_have_url(f"{base}{reverse('stripe_return', args=[payment.pk])}")
        expect(page.locator("#payment-result .message-success")).to_be_visible()

        # And the contract shows the milestone paid, with no button to pay it again
        page.locator(f'main a[href="{reverse("contract_detail", args=[contract.pk])}"]').click()
        with translation.override("fr"):  # the site's default language
            funded = str(MilestoneStatus.FUNDED.label)
        expect(page.locator(f"#milestone-{milestone.pk} h3")).to_contain_text(funded)
        expect(page.locator(f'a[href="{pay_url}"]')).to_have_count(0)

    payment.refresh_from_db()
    milestone.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert milestone.status == MilestoneStatus.FUNDED
    assert LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count() == 1
