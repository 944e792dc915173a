"""Sign-up, e-mail verification and log-in through the real pages, in Debian's Chromium.

Skipped (with a reason, see conftest.py) when /usr/bin/chromium is absent."""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Page, expect

# Playwright's sync API runs an event loop in this thread; the ORM must still be usable here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TIMEOUT_MS = 10_000

FULL_NAME = "Amina Diallo"
EMAIL = "amina.diallo@example.be"
PASSWORD = "une-phrase-de-passe-solide"


def confirmation_path(message) -> str:
    """The path of the confirmation link in the mail (its host is rewritten to the live server)."""
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def test_signup_verify_email_and_log_in(live_server, page: Page):
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    base = live_server.url

    # Given a visitor on the sign-up page, in French by default
    page.goto(f"{base}/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")

    # The first Tab from page load reaches the "skip to content" link
    page.keyboard.press("Tab")
    expect(page.locator("a.skip-link")).to_be_focused()

    # When they sign up as a member
    form = page.locator('form[action="/accounts/signup/"]')
    form.locator("#id_full_name").fill(FULL_NAME)
    form.locator("#id_email").fill(EMAIL)
    form.locator("#id_password1").fill(PASSWORD)
    form.locator("#id_password2").fill(PASSWORD)
    member_radio = form.locator("#id_role_1")
    expect(member_radio).to_have_value("member")
    member_radio.check()
    form.locator("button[type=submit]").click()

    # Then they are told that a verification mail was sent
    expect(page).to_have_url(f"{base}/accounts/confirm-email/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [EMAIL]

    # When they follow the link of the mail and confirm
    page.goto(f"{base}{confirmation_path(mail.outbox[0])}")
    # The form's action is not the link itself: allauth signs a fresh key (with a new timestamp)
    # each time it renders one, so match it by its prefix.
    confirm_form = page.locator('main form[action^="/accounts/confirm-email/"]')
    confirm_form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/accounts/login/")

    # And log in
    page.goto(f"{base}/accounts/login/")
    login_form = page.locator('form[action="/accounts/login/"]')
    login_form.locator("#id_login").fill(EMAIL)
    login_form.locator("#id_password").fill(PASSWORD)
    login_form.locator("button[type=submit]").click()

    # Then they land on their dashboard, greeted by their first name, in French
    expect(page).to_have_url(f"{base}/dashboard/")
    expect(page.locator("main h1")).to_have_text("Bonjour Amina")
    profile_edit = reverse("member_profile_edit")
    expect(page.locator(f'main a[href="{profile_edit}"]')).to_be_visible()

    user = get_user_model().objects.get(email=EMAIL)
    assert user.full_name == FULL_NAME
    assert user.is_member and not user.is_client
    assert user.emailaddress_set.get().verified
