import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from marketplace.models import ClientProfile, MemberProfile, User
from tests.conftest import PRODUCTION_PASSWORD_HASHERS
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "full_name": "Amina Diallo",
    "email": "Amina.Diallo@Example.be",
    "password1": "une-phrase-de-passe-solide",
    "password2": "une-phrase-de-passe-solide",
    "role": "member",
}


def confirmation_link(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_sends_a_verification_mail_then_login_works(client, settings):
    # Given the site's real password hashers (the tests' fast one aside)
    settings.PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
    # And a visitor who signs up as a member
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")

    # Then the account exists, unverified, with a member profile awaiting membership
    user = User.objects.get()
    assert user.email == "amina.diallo@example.be"
    assert user.full_name == "Amina Diallo"
    assert user.is_member and not user.is_client
    assert user.member_profile.membership_status == MemberProfile.Membership.APPLICANT
    assert user.password.startswith("argon2")
    assert not EmailAddress.objects.get(user=user).verified

    # And they cannot log in before verifying
    client.post(reverse("account_logout"))
    response = client.post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session

    # When they follow the link of the verification mail
    assert len(mail.outbox) >= 1
    assert mail.outbox[0].to == ["amina.diallo@example.be"]
    link = confirmation_link(mail.outbox[0])
    assert client.get(link).status_code == 200
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get(user=user).verified

    # Then they can log in, with the address in any case
    response = client.post(
        reverse("account_login"),
        {"login": "AMINA.diallo@example.BE", "password": SIGNUP["password1"]},
    )
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("dashboard")).status_code == 200


def test_signup_as_client_creates_a_client_profile(client):
    client.post(reverse("account_signup"), {**SIGNUP, "role": "client"})
    user = User.objects.get()
    assert user.is_client and not user.is_member
    assert user.client_profile.kind == ClientProfile.Kind.INDIVIDUAL


def test_signup_with_bad_input_keeps_what_was_typed(client):
    response = client.post(
        reverse("account_signup"), {**SIGNUP, "email": "not-an-address", "password2": "other"}
    )
    assert response.status_code == 200
    assert User.objects.count() == 0
    html = response.content.decode()
    assert 'value="Amina Diallo"' in html
    assert 'value="not-an-address"' in html
    assert 'class="errorlist' in html


def test_signup_twice_with_the_same_address_in_another_case_makes_one_account(client):
    UserFactory(email="amina.diallo@example.be")
    client.post(reverse("account_signup"), SIGNUP)
    assert User.objects.filter(email__iexact="amina.diallo@example.be").count() == 1


def test_signup_records_the_language_of_the_page(client):
    client.cookies["sirius_language"] = "ar"
    client.post(reverse("account_signup"), SIGNUP)
    assert User.objects.get().language == "ar"


def test_repeated_failed_logins_are_throttled(client):
    user = UserFactory()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": user.email, "password": "nope"})
        assert response.status_code == 200
    # Even the right password is refused while the account is throttled.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session
    # The throttle is per account too: another address (IP) does not get around it.
    response = client.post(
        reverse("account_login"),
        {"login": user.email, "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
    )
    assert "_auth_user_id" not in client.session


def test_logout(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_by_mail(client):
    user = UserFactory()
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    match = re.search(
        r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", mail.outbox[0].body
    )
    assert match, mail.outbox[0].body
    response = client.get(match.group(1), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else match.group(1)
    response = client.post(
        form_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase")


def test_password_change(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "another-long-phrase",
            "password2": "another-long-phrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-phrase")
