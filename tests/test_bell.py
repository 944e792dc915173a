"""The notification bell: the unread count of the viewer only, refreshed by htmx, in a
constant number of queries; nothing for anonymous visitors."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BELL = "/notifications/bell/"


def notices(user, count: int, *, read: bool = False) -> None:
    Notification.objects.bulk_create(
        Notification(user=user, message=f"Notice {i}", read_at=timezone.now() if read else None)
        for i in range(count)
    )


def badge(html: str) -> str | None:
    match = re.search(r'<span class="badge[^"]*"[^>]*>(\d+)</span>', html)
    return match.group(1) if match else None


def test_the_url_name_is_the_bell():
    assert reverse("notification_bell") == BELL


def test_anonymous_visitors_get_nothing(client):
    response = client.get(BELL)
    assert response.status_code == 204
    assert response.content == b""


def test_the_bell_links_to_the_notifications_page_and_refreshes_itself(client):
    client.force_login(UserFactory())
    html = client.get(BELL).content.decode()

    assert f'href="{reverse("notifications")}"' in html
    assert f'hx-get="{BELL}"' in html
    assert 'hx-trigger="every 30s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert badge(html) is None  # nothing unread, no badge


def test_the_count_follows_unread_notices_of_the_viewer_only(client):
    user, other = UserFactory(), UserFactory()
    notices(user, 2)
    notices(user, 4, read=True)
    notices(other, 7)
    client.force_login(user)

    html = client.get(BELL).content.decode()
    assert badge(html) == "2"

    notices(user, 1)
    assert badge(client.get(BELL).content.decode()) == "3"

    Notification.objects.filter(user=user).update(read_at=timezone.now())
    assert badge(client.get(BELL).content.decode()) is None


def test_the_count_is_spelled_out_for_screen_readers(client):
    user = UserFactory(language="en")
    notices(user, 5)
    client.force_login(user)

    html = client.get(BELL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'class="visually-hidden">\s*\(?5 unread', html)


def test_the_bell_is_not_cached(client):
    client.force_login(UserFactory())
    assert "no-cache" in client.get(BELL)["Cache-Control"]


@pytest.mark.parametrize("count", [1, 30])
def test_query_count_does_not_depend_on_the_number_of_notices(
    client, django_assert_num_queries, count
):
    user = UserFactory()
    notices(user, count)
    client.force_login(user)
    client.get(BELL)  # warm up whatever the first request of a session loads

    # The session, then the user with the count (marketplace/auth_backends.py).
    with django_assert_num_queries(2):
        response = client.get(BELL)
    assert badge(response.content.decode()) == str(count)
