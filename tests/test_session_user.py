"""The signed-in user of every request: one query, compiled once, that returns what the ORM
would (the user, both profiles, the unread count), and nobody for a bad or inactive session."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.auth_backends import (
    UNREAD_ATTRIBUTE,
    SiriusAuthenticationBackend,
    SiriusModelBackend,
    load_session_user,
    session_user_queryset,
)
from marketplace.models import ClientProfile, MemberProfile, Notification
from tests.factories import ClientProfileFactory, MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def same_fields(a, b) -> None:
    assert type(a) is type(b)
    for field in type(a)._meta.concrete_fields:
        assert getattr(a, field.attname) == getattr(b, field.attname), field.name


def test_a_member_and_client_comes_with_both_profiles_and_the_unread_count():
    user = MemberFactory(is_client=True)
    ClientProfileFactory(user=user)
    Notification.objects.create(user=user, message="new")
    Notification.objects.create(user=user, message="new too")
    Notification.objects.create(user=user, message="seen", read_at=timezone.now())
    Notification.objects.create(user=UserFactory(), message="someone else's")

    with CaptureQueriesContext(connection) as queries:
        loaded = load_session_user(user.pk)
        member, client = loaded.member_profile, loaded.client_profile
        assert getattr(loaded, UNREAD_ATTRIBUTE) == 2
        assert member.user is loaded  # both ways, no query back to the user
    assert len(queries) == 1

    expected = session_user_queryset().get(pk=user.pk)
    same_fields(loaded, expected)
    same_fields(member, expected.member_profile)
    same_fields(client, expected.client_profile)
    # Dates, JSON and the rest come back as the fields' Python types, as from the ORM.
    assert loaded.date_joined == user.date_joined
    assert isinstance(member, MemberProfile) and isinstance(client, ClientProfile)
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_a_user_without_profiles_raises_as_the_orm_does_without_a_query():
    user = UserFactory()
    loaded = load_session_user(user.pk)
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(MemberProfile.DoesNotExist):
            loaded.member_profile  # noqa: B018
        with pytest.raises(ClientProfile.DoesNotExist):
            loaded.client_profile  # noqa: B018
    assert len(queries) == 0
    assert getattr(loaded, UNREAD_ATTRIBUTE) == 0


@pytest.mark.parametrize("user_id", [987654321, "not-a-number", "", None, "1; DROP TABLE x"])
def test_an_unknown_or_malformed_id_is_nobody(user_id):
    assert load_session_user(user_id) is None


@pytest.mark.parametrize("backend", [SiriusModelBackend, SiriusAuthenticationBackend])
def test_the_backends_refuse_an_inactive_user(backend):
    active, inactive = UserFactory(), UserFactory(is_active=False)
    assert backend().get_user(active.pk).pk == active.pk
    assert backend().get_user(inactive.pk) is None


def test_the_id_is_a_parameter_each_time_not_the_first_users(django_user_model):
    first, second = UserFactory(), UserFactory()
    assert load_session_user(first.pk).pk == first.pk
    assert load_session_user(second.pk).pk == second.pk
    assert load_session_user(str(second.pk)).email == second.email


def test_a_session_signs_in_through_it_in_one_query(client):
    user = MemberFactory()
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    assert request.session[BACKEND_SESSION_KEY].startswith("marketplace.auth_backends.")
    with CaptureQueriesContext(connection) as queries:
        signed_in = get_user(request)
        signed_in.member_profile  # noqa: B018
    assert signed_in.pk == user.pk
    # The session is read from the cache or the database, then the user: at most two.
    assert len([q for q in queries if "marketplace_user" in q["sql"]]) == 1
    assert len(queries) <= 2


def test_a_password_change_still_ends_other_sessions(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200
    user.set_password("a-new-long-passphrase")
    user.save()
    response = client.get("/dashboard/")
    assert response.status_code == 302  # the session's hash no longer matches: signed out
