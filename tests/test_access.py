import pytest
from django.urls import reverse

from tests.factories import ClientFactory, MemberFactory, UserFactory, ValidatorFactory

pytestmark = pytest.mark.django_db

CLIENT_ONLY = ["client_profile_edit"]
MEMBER_ONLY = ["member_profile_edit"]
LOGGED_IN_ONLY = ["dashboard", *CLIENT_ONLY, *MEMBER_ONLY]


@pytest.mark.parametrize("name", LOGGED_IN_ONLY)
def test_anonymous_visitors_are_sent_to_log_in(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


@pytest.mark.parametrize("name", CLIENT_ONLY)
def test_a_member_cannot_open_client_pages(client, name):
    client.force_login(MemberFactory())
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "client" in response.content.decode().lower()


@pytest.mark.parametrize("name", MEMBER_ONLY)
def test_a_client_cannot_open_member_pages(client, name):
    client.force_login(ClientFactory())
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", [*CLIENT_ONLY, *MEMBER_ONLY])
def test_a_validator_without_those_roles_cannot_open_them(client, name):
    client.force_login(ValidatorFactory())
    assert client.get(reverse(name)).status_code == 403


def test_each_role_opens_its_own_pages(client):
    client.force_login(ClientFactory())
    assert client.get(reverse("client_profile_edit")).status_code == 200
    client.force_login(MemberFactory())
    assert client.get(reverse("member_profile_edit")).status_code == 200


def test_a_member_who_also_hires_opens_both(client):
    # Given a member who takes the client role too
    member = MemberFactory()
    client.force_login(member)
    response = client.post(reverse("role_add", args=["client"]))
    assert response.status_code == 302
    member.refresh_from_db()
    # Then both kinds of pages open, and the member profile is untouched
    assert member.is_client and member.is_member
    assert client.get(reverse("client_profile_edit")).status_code == 200
    assert client.get(reverse("member_profile_edit")).status_code == 200


def test_role_add_needs_post_and_login(client):
    assert client.get(reverse("role_add", args=["client"])).status_code in (302, 405)
    client.force_login(UserFactory())
    assert client.get(reverse("role_add", args=["client"])).status_code == 405


def test_unknown_role_is_not_granted(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("role_add", args=["validator"]))
    client.post(reverse("role_add", args=["admin"]))
    user.refresh_from_db()
    assert not user.is_validator and not user.is_staff


def test_public_member_profile_hides_private_fields(client):
    member = MemberFactory(member_profile__iban="BE68539007547034")
    profile = member.member_profile
    response = client.get(reverse("member_profile_detail", args=[profile.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert profile.display_name in html
    assert "BE68539007547034" not in html
    assert member.email not in html


def test_former_members_profiles_are_hidden(client):
    member = MemberFactory(member_profile__membership_status="former")
    url = reverse("member_profile_detail", args=[member.member_profile.pk])
    assert client.get(url).status_code == 404
    client.force_login(member)
    assert client.get(url).status_code == 200
