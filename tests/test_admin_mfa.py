import time

import pytest
from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from tests.factories import AdminFactory, MemberFactory

pytestmark = pytest.mark.django_db


def record_mfa(client, user):
    session = client.session
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session.save()


def test_anonymous_visitors_are_sent_to_the_allauth_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_non_staff_cannot_reach_the_admin(client):
    client.force_login(MemberFactory())
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403


def test_staff_without_a_second_factor_must_set_one_up(client):
    admin = AdminFactory()
    client.force_login(admin)
    response = client.get("/admin/", follow=True)
    # To the TOTP set-up page (which itself asks for the password again first).
    assert response.redirect_chain[1][0].startswith(reverse("mfa_activate_totp"))
    assert client.get("/admin/marketplace/user/").status_code == 302


def test_staff_with_totp_must_use_it_in_this_session(client):
    admin = AdminFactory()
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    client.force_login(admin)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_reauthenticate"))


def test_staff_who_used_totp_reach_the_admin(client):
    admin = AdminFactory()
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    client.force_login(admin)
    record_mfa(client, admin)
    assert client.get("/admin/").status_code == 200
    for model in [
        "marketplace/user",
        "marketplace/clientprofile",
        "marketplace/memberprofile",
        "matching/language",
        "matching/memberlanguage",
    ]:
        response = client.get(f"/admin/{model}/?q=a")
        assert response.status_code == 200, model


def test_admin_login_form_does_not_bypass_allauth(client):
    admin = AdminFactory()
    response = client.post(
        "/admin/login/", {"username": admin.email, "password": "correct-horse-battery-staple-42"}
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302


def test_every_model_of_ours_is_in_the_admin_and_its_list_opens(client):
    from django.apps import apps
    from django.contrib import admin

    admin_user = AdminFactory()
    TOTP.activate(admin_user, "JBSWY3DPEHPK3PXP")
    client.force_login(admin_user)
    record_mfa(client, admin_user)
    for app_label in ("marketplace", "matching", "payments"):
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), model
            url = f"/admin/{app_label}/{model._meta.model_name}/?q=a"
            assert client.get(url).status_code == 200, url
