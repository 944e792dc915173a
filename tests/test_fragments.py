"""The logged-in navigation and the dashboard's links are cached fragments (per process, by role
and language): each person still sees their own roles' links, in their own language, and
what is theirs alone (their public profile, their unread count, their CSRF token) is never
taken from someone else's page."""

import re

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from marketplace.models import Notification
from tests.factories import (
    AdminFactory,
    ClientFactory,
    MemberFactory,
    UserFactory,
    ValidatorFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_fragments():
    caches["fragments"].clear()
    yield
    caches["fragments"].clear()


def page(user, path="/dashboard/") -> str:
    browser = Client()
    browser.force_login(user)
    response = browser.get(path)
    assert response.status_code == 200
    return response.content.decode()


def nav(html: str) -> str:
    return html[html.index('<nav class="site-nav"') : html.index("</nav>")]


def test_each_role_sees_its_own_links_whoever_was_served_first():
    admin, member, client, validator = (
        AdminFactory(language="en"),
        MemberFactory(language="en"),
        ClientFactory(language="en"),
        ValidatorFactory(language="en"),
    )
    first = page(admin)  # the admin's fragments are cached first
    assert reverse("moderation_queue") in nav(first)

    member_nav = nav(page(member))
    assert reverse("my_skills") in member_nav
    assert reverse("moderation_queue") not in member_nav
    assert reverse("client_jobs") not in member_nav

    client_nav = nav(page(client))
    assert reverse("client_jobs") in client_nav
    assert reverse("my_skills") not in client_nav
    assert reverse("validation_queue") not in client_nav

    # Nothing tells these two apart but the staff flag.
    nobody = nav(page(UserFactory(language="en")))
    assert reverse("moderation_queue") not in nobody
    assert reverse("admin:index") not in nobody

    validator_nav = nav(page(validator))
    assert reverse("validation_queue") in validator_nav
    assert reverse("moderation_queue") not in validator_nav
    assert reverse("my_contracts") not in validator_nav  # neither client nor member


def test_a_role_added_shows_at_once():
    member = MemberFactory(language="en")
    assert reverse("client_jobs") not in nav(page(member))
    member.is_client = True
    member.save(update_fields=["is_client"])
    assert reverse("client_jobs") in nav(page(member))


def test_each_language_has_its_own_fragments():
    french, english = MemberFactory(language="fr"), MemberFactory(language="en")
    html_fr = page(french)
    html_en = page(english)
    assert "Mes compétences" in nav(html_fr) and "My skills" not in nav(html_fr)
    assert "My skills" in nav(html_en) and "Mes compétences" not in nav(html_en)
    assert '<option value="fr" lang="fr" selected>' in html_fr
    assert '<option value="en" lang="en" selected>' in html_en


def test_the_members_own_profile_link_and_count_are_their_own():
    first, second = MemberFactory(language="en"), MemberFactory(language="en")
    Notification.objects.create(user=second, message="for the second only")
    html_first, html_second = page(first), page(second)
    own = reverse("member_profile_detail", args=[second.member_profile.pk])
    other = reverse("member_profile_detail", args=[first.member_profile.pk])
    assert own in html_second and other not in html_second
    assert other in html_first
    assert "badge" not in nav(html_first).split('id="notification-bell"')[1].split("</a>")[0]
    assert ">1</span>" in nav(html_second)


def test_csrf_tokens_are_not_cached_with_the_fragments():
    member = MemberFactory(language="en")
    tokens = set()
    for _ in range(2):
        browser = Client()
        browser.force_login(member)
        html = browser.get("/dashboard/").content.decode()
        # The log-out form and the language switcher each carry this session's token.
        found = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
        assert len(found) >= 1
        tokens |= found
        response = browser.post(reverse("account_logout"), {"csrfmiddlewaretoken": found.pop()})
        assert response.status_code == 302
    assert len(tokens) >= 2
