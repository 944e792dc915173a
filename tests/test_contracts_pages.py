import pytest
from django.urls import reverse

from marketplace.services import bids
from tests.factories import AdminFactory, ClientFactory, MemberFactory, make_bid
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture
def contract():
    bid = make_bid()
    return bids.bid_accept(bid=bid, client=bid.job.client)


def test_both_sides_see_the_contract_and_its_history(client, contract):
    for user in (contract.client, contract.member.user):
        client.force_login(user)
        response = client.get(reverse("contract_detail", args=[contract.pk]))
        assert response.status_code == 200
        assert len(response.context["milestones"]) == 2
        assert [e.kind for e in response.context["events"]] == ["contract_created"]
        assert contract in client.get(reverse("my_contracts")).context["contracts"]


def test_nobody_else_sees_it(client, contract):
    for user in (ClientFactory(), MemberFactory()):
        client.force_login(user)
        assert client.get(reverse("contract_detail", args=[contract.pk])).status_code == 404
        assert contract not in client.get(reverse("my_contracts")).context["contracts"]
    client.logout()
    assert client.get(reverse("contract_detail", args=[contract.pk])).status_code == 302


def test_admins_see_it(client, contract):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    assert client.get(reverse("contract_detail", args=[contract.pk])).status_code == 200


def test_the_member_is_told_not_to_start_before_funding(client, contract):
    client.force_login(contract.member.user)
    html = client.get(reverse("contract_detail", args=[contract.pk])).content.decode()
    assert "message" in html  # the notice block
    assert contract.milestones.filter(status="awaiting_funding").count() == 2
