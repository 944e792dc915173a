import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from marketplace.models import Bid, Contract, ContractEvent, Milestone, Notification
from marketplace.services import bids
from marketplace.services.moderation import user_suspend
from matching.candidates import recent_contract_counts
from tests.factories import (
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    bid_input,
    make_bid,
)

pytestmark = pytest.mark.django_db


def test_a_member_bids_with_milestones_and_the_client_is_told():
    job = JobFactory()
    bid = make_bid(job=job)
    assert bid.status == "active" and bid.price_cents == 200000
    assert [(m.position, m.amount_cents) for m in bid.milestones.all()] == [(1, 80000), (2, 120000)]
    assert Notification.objects.filter(user=job.client).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"price_cents": 200000, "milestones": (("A", 50000),)}, "add up"),
        ({"price_cents": 0, "milestones": ()}, "more than zero"),
    ],
)
def test_bad_bids_are_refused(kwargs, message):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        make_bid(**kwargs)
    assert any(message in m for m in error.value.messages)
    assert not Bid.objects.exists()


def test_one_active_bid_per_member_and_job():
    job = JobFactory()
    member = MemberFactory().member_profile
    make_bid(job=job, member=member)
    with pytest.raises(ValidationError):
        make_bid(job=job, member=member)
    assert Bid.objects.count() == 1


def test_only_published_jobs_take_bids_and_not_from_their_client():
    with pytest.raises(ValidationError):
        make_bid(job=JobFactory(status="submitted"))
    job = JobFactory()
    client_member = MemberFactory(is_client=True)
    job.client = client_member
    job.save()
    with pytest.raises(PermissionDenied):
        make_bid(job=job, member=client_member.member_profile)
    with pytest.raises(PermissionDenied):
        make_bid(member=MemberFactory(member_profile__membership_status="applicant").member_profile)


def test_accept_makes_one_contract_declines_the_others_and_starts_the_job():
    job = JobFactory()
    winner, loser = make_bid(job=job), make_bid(job=job)
    contract = bids.bid_accept(bid=winner, client=job.client)
    job.refresh_from_db()
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert (job.status, winner.status, loser.status) == ("in_progress", "accepted", "declined")
    assert contract.total_cents == 200000 and contract.member == winner.member
    assert list(Milestone.objects.filter(contract=contract).values_list("status", flat=True)) == [
        "awaiting_funding",
        "awaiting_funding",
    ]
    assert ContractEvent.objects.get(contract=contract).kind == "contract_created"
    assert Notification.objects.filter(user=loser.member.user).exists()
    assert recent_contract_counts([winner.member_id]) == {winner.member_id: 1}
    # A second accept (another tab) is refused with a clear message.
    with pytest.raises(bids.AlreadyDecided):
        bids.bid_accept(bid=loser, client=job.client)
    assert Contract.objects.count() == 1


def test_only_the_jobs_client_accepts():
    bid = make_bid()
    with pytest.raises(PermissionDenied):
        bids.bid_accept(bid=bid, client=ClientFactory())
    assert not Contract.objects.exists()


def test_withdrawn_bid_cannot_be_accepted_nor_edited():
    bid = make_bid()
    bids.bid_withdraw(bid=bid, member=bid.member)
    with pytest.raises(bids.AlreadyDecided):
        bids.bid_accept(bid=bid, client=bid.job.client)
    with pytest.raises(ValidationError):
        bids.bid_update(bid=bid, member=bid.member, data=bid_input())


def test_messages_flag_contact_details_and_only_the_two_sides_write():
    bid = make_bid()
    message = bids.bid_message_send(
        bid=bid, sender=bid.job.client, body="Appelez-moi au 0475 12 34 56"
    )
    assert message.contact_flags[0]["kind"] == "phone"
    with pytest.raises(PermissionDenied):
        bids.bid_message_send(bid=bid, sender=MemberFactory(), body="Hello")


def test_suspending_a_member_withdraws_their_bids_with_notice():
    bid = make_bid()
    user_suspend(user=bid.member.user, moderator=AdminFactory(), reason="Fraude.")
    bid.refresh_from_db()
    assert bid.status == "withdrawn"
    assert (
        Notification.objects.filter(user=bid.job.client, message__contains=bid.job.title).count()
        == 2
    )
