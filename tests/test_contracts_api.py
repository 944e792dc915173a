"""The bids, contracts and milestones API: the same rules as the pages (404 for what you may not
see, 403 for what is not yours to do, 409 when already decided), query counts, schema."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.models import Bid, Contract
from marketplace.services.bids import bid_accept
from tests.factories import (
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    fund_milestone,
    make_bid,
)

pytestmark = pytest.mark.django_db


def logged_in(user) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def bid_payload(**changes) -> dict:
    start = timezone.localdate() + datetime.timedelta(days=3)
    payload = {
        "price": "2000.00",
        "start_date": start.isoformat(),
        "cover_message": "Bonjour, je peux le faire en trois semaines.",
        "milestones": [
            {
                "title": "Maquettes",
                "amount": "800.00",
                "due_date": (start + datetime.timedelta(days=7)).isoformat(),
            },
            {
                "title": "En ligne",
                "amount": "1200.00",
                "due_date": (start + datetime.timedelta(days=14)).isoformat(),
            },
        ],
    }
    payload.update(changes)
    return payload


# --- Bids of a job ------------------------------------------------------------------------------


def test_a_member_bids_in_euros_and_the_database_holds_cents():
    job, member = JobFactory(), MemberFactory()

    response = logged_in(member).post(f"/api/jobs/{job.pk}/bids/", bid_payload(), format="json")

    assert response.status_code == 201, response.content
    bid = Bid.objects.get()
    assert (bid.member, bid.job, bid.price_cents) == (member.member_profile, job, 200000)
    assert [m.amount_cents for m in bid.milestones.all()] == [80000, 120000]
    assert response.json()["price_cents"] == 200000
    assert "shortlisted" not in response.json()  # the client's own mark


def test_a_bid_whose_milestones_do_not_add_up_is_refused_with_400():
    job, member = JobFactory(), MemberFactory()
    payload = bid_payload(price="2500.00")

    response = logged_in(member).post(f"/api/jobs/{job.pk}/bids/", payload, format="json")

    assert response.status_code == 400
    assert not Bid.objects.exists()


def test_clients_cannot_bid_and_anonymous_visitors_are_refused():
    job = JobFactory()
    assert (
        logged_in(ClientFactory())
        .post(f"/api/jobs/{job.pk}/bids/", bid_payload(), format="json")
        .status_code
        == 403
    )
    assert APIClient().post(
        f"/api/jobs/{job.pk}/bids/", bid_payload(), format="json"
    ).status_code in (401, 403)
    assert not Bid.objects.exists()


def test_a_draft_job_is_not_found_to_members():
    job = JobFactory(status="draft", published_at=None)
    response = logged_in(MemberFactory()).post(
        f"/api/jobs/{job.pk}/bids/", bid_payload(), format="json"
    )
    assert response.status_code == 404


def test_the_client_lists_every_bid_a_member_only_their_own():
    job = JobFactory()
    mine = make_bid(job=job)
    other = make_bid(job=job)

    def listed(user) -> set[int]:
        response = logged_in(user).get(f"/api/jobs/{job.pk}/bids/")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert listed(job.client) == {mine.pk, other.pk}
    assert listed(mine.member.user) == {mine.pk}
    assert listed(MemberFactory()) == set()


@pytest.mark.parametrize("count", [1, 4])
def test_the_bids_list_takes_the_same_queries_whatever_the_number(django_assert_num_queries, count):
    job = JobFactory()
    for _ in range(count):
        make_bid(job=job)
    api = logged_in(job.client)
    api.get(f"/api/jobs/{job.pk}/bids/")

    # session, user, job, bids, milestones
    with django_assert_num_queries(5):
        response = api.get(f"/api/jobs/{job.pk}/bids/")
    assert len(response.json()["results"]) == count


# --- One bid ------------------------------------------------------------------------------------


def test_a_bid_is_seen_by_its_member_and_the_client_and_not_found_to_others():
    bid = make_bid()
    assert logged_in(bid.member.user).get(f"/api/bids/{bid.pk}/").status_code == 200
    client_view = logged_in(bid.job.client).get(f"/api/bids/{bid.pk}/")
    assert client_view.status_code == 200
    assert client_view.json()["shortlisted"] is False
    assert logged_in(MemberFactory()).get(f"/api/bids/{bid.pk}/").status_code == 404
    assert logged_in(ClientFactory()).get(f"/api/bids/{bid.pk}/").status_code == 404


def test_the_member_changes_their_bid_and_fields_not_given_stay():
    bid = make_bid()
    response = logged_in(bid.member.user).patch(
        f"/api/bids/{bid.pk}/", {"cover_message": "Nouveau message."}, format="json"
    )

    assert response.status_code == 200, response.content
    bid.refresh_from_db()
    assert bid.cover_message == "Nouveau message."
    assert bid.price_cents == 200000
    assert bid.milestones.count() == 2


def test_the_client_cannot_change_a_bid():
    bid = make_bid()
    response = logged_in(bid.job.client).patch(
        f"/api/bids/{bid.pk}/", {"cover_message": "Piraté."}, format="json"
    )
    assert response.status_code == 403
    bid.refresh_from_db()
    assert bid.cover_message != "Piraté."


def test_the_member_withdraws_and_the_client_cannot():
    bid = make_bid()
    assert logged_in(bid.job.client).post(f"/api/bids/{bid.pk}/withdraw/").status_code == 403
    response = logged_in(bid.member.user).post(f"/api/bids/{bid.pk}/withdraw/")
    assert response.status_code == 200
    bid.refresh_from_db()
    assert bid.status == "withdrawn"
    # Withdrawn: no more changes
    again = logged_in(bid.member.user).post(f"/api/bids/{bid.pk}/withdraw/")
    assert again.status_code == 400


def test_the_client_accepts_a_bid_and_a_second_accept_is_a_conflict():
    job = JobFactory()
    first, second = make_bid(job=job), make_bid(job=job)
    api = logged_in(job.client)

    response = api.post(f"/api/bids/{first.pk}/accept/")

    assert response.status_code == 201, response.content
    contract = Contract.objects.get()
    assert response.json()["id"] == contract.pk
    assert len(response.json()["milestones"]) == 2
    assert api.post(f"/api/bids/{second.pk}/accept/").status_code == 409
    assert Contract.objects.count() == 1


def test_only_the_client_accepts():
    bid = make_bid()
    assert logged_in(bid.member.user).post(f"/api/bids/{bid.pk}/accept/").status_code == 403
    assert logged_in(MemberFactory()).post(f"/api/bids/{bid.pk}/accept/").status_code == 404
    assert not Contract.objects.exists()


# --- Contracts ----------------------------------------------------------------------------------


def make_contract(member=None) -> Contract:
    bid = make_bid(member=member)
    return bid_accept(bid=bid, client=bid.job.client)


def test_my_contracts_lists_mine_as_client_or_member():
    contract = make_contract()
    make_contract()  # somebody else's

    for user in (contract.client, contract.member.user):
        response = logged_in(user).get("/api/contracts/")
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [contract.pk]


@pytest.mark.parametrize("count", [1, 3])
def test_the_contracts_list_takes_the_same_queries_whatever_the_number(
    django_assert_num_queries, count
):
    member = MemberFactory().member_profile
    for _ in range(count):
        make_contract(member=member)
    api = logged_in(member.user)
    api.get("/api/contracts/")

    # session, user, contracts, milestones
    with django_assert_num_queries(4):
        response = api.get("/api/contracts/")
    assert len(response.json()["results"]) == count


def test_a_contract_with_its_milestones_for_its_sides_and_moderators_only():
    contract = make_contract()
    for user in (contract.client, contract.member.user, AdminFactory()):
        response = logged_in(user).get(f"/api/contracts/{contract.pk}/")
        assert response.status_code == 200
        assert [m["title"] for m in response.json()["milestones"]] == ["Maquettes", "Site en ligne"]
    assert logged_in(MemberFactory()).get(f"/api/contracts/{contract.pk}/").status_code == 404


# --- Milestones ---------------------------------------------------------------------------------


def test_a_milestone_goes_from_start_to_approval_through_the_api():
    contract = make_contract()
    milestone = contract.milestones.first()
    fund_milestone(milestone)
    member_api, client_api = logged_in(contract.member.user), logged_in(contract.client)

    assert client_api.post(f"/api/milestones/{milestone.pk}/start/").status_code == 403
    assert (
        member_api.post(f"/api/milestones/{milestone.pk}/start/").json()["status"] == "in_progress"
    )
    response = member_api.post(
        f"/api/milestones/{milestone.pk}/deliver/",
        {"message": "Voici les maquettes.", "links": ["https://example.be/maquettes"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    assert (
        client_api.post(
            f"/api/milestones/{milestone.pk}/request-changes/", {"reason": ""}, format="json"
        ).status_code
        == 400
    )
    response = client_api.post(
        f"/api/milestones/{milestone.pk}/request-changes/",
        {"reason": "Plus de bleu."},
        format="json",
    )
    assert response.json()["status"] == "in_progress"
    member_api.post(
        f"/api/milestones/{milestone.pk}/deliver/", {"message": "Corrigé."}, format="json"
    )
    assert (
        client_api.post(f"/api/milestones/{milestone.pk}/approve/").json()["status"] == "released"
    )
    milestone.refresh_from_db()
    assert milestone.status == "released"


def test_an_illegal_milestone_change_is_a_conflict():
    contract = make_contract()
    milestone = contract.milestones.first()  # awaiting funding
    response = logged_in(contract.member.user).post(f"/api/milestones/{milestone.pk}/start/")
    assert response.status_code == 409
    milestone.refresh_from_db()
    assert milestone.status == "awaiting_funding"


def test_milestones_of_others_are_not_found():
    contract = make_contract()
    milestone = contract.milestones.first()
    outsider = logged_in(MemberFactory())
    assert outsider.post(f"/api/milestones/{milestone.pk}/start/").status_code == 404
    assert outsider.post("/api/milestones/999999/approve/").status_code == 404


# --- Schema -------------------------------------------------------------------------------------


def test_the_schema_of_these_endpoints_has_no_warning():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert "/api/jobs/{job_id}/bids/" in schema["paths"]
    assert "/api/milestones/{milestone_id}/request-changes/" in schema["paths"]
    assert not GENERATOR_STATS._warn_cache
    assert not GENERATOR_STATS._error_cache
