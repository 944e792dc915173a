import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Bid, BidMessage, Contract
from tests.factories import (
    ClientFactory,
    JobFactory,
    MemberFactory,
    ValidatorFactory,
    make_bid,
)
from tests.test_matching import CSS, member_with

pytestmark = pytest.mark.django_db


def day(offset: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def bid_form(milestones=(("Maquettes", "800"), ("Site en ligne", "1200")), **overrides):
    data = {
        "price": "2000",
        "start_date": day(3),
        "cover_message": "Bonjour, je peux faire ce site en trois semaines.",
        "milestones-TOTAL_FORMS": str(len(milestones) + 1),
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "10",
    }
    for i, (title, amount) in enumerate(milestones):
        data |= {
            f"milestones-{i}-title": title,
            f"milestones-{i}-amount": amount,
            f"milestones-{i}-due_date": day(10 + 7 * i),
        }
    # The spare row left empty is skipped.
    data |= {f"milestones-{len(milestones)}-{name}": "" for name in ("title", "amount", "due_date")}
    return data | overrides


def english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def member_user(**profile):
    return english(member_with([(CSS, "validated", "advanced")], **profile).user)


class TestBidding:
    def test_a_member_bids_with_milestones(self, client):
        job = JobFactory()
        user = member_user()
        client.force_login(user)
        response = client.get(reverse("bid_new", args=[job.pk]))
        assert response.status_code == 200
        assert response.context["fit"]["eligible"]

        response = client.post(reverse("bid_new", args=[job.pk]), bid_form())

        bid = Bid.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("bid_detail", args=[bid.pk])
        assert bid.member == user.member_profile and bid.price_cents == 200000
        assert [(m.title, m.amount_cents) for m in bid.milestones.all()] == [
            ("Maquettes", 80000),
            ("Site en ligne", 120000),
        ]

    def test_milestones_that_do_not_add_up_are_shown_next_to_them_with_the_input_kept(self, client):
        job = JobFactory()
        client.force_login(member_user())
        response = client.post(
            reverse("bid_new", args=[job.pk]),
            bid_form(milestones=(("Maquettes", "500"), ("Site en ligne", "1200"))),
        )
        assert response.status_code == 200
        assert response.context["milestones"].non_form_errors() == [
            "The milestones add up to 1700 €, not the total price of 2000 €."
        ]
        html = response.content.decode()
        assert 'id="milestones_error"' in html and "add up to 1700" in html
        assert 'value="Maquettes"' in html and 'value="500"' in html and 'value="2000"' in html
        assert not Bid.objects.exists()

    def test_a_member_without_the_essential_skill_may_bid_and_sees_it(self, client):
        job = JobFactory()
        user = english(MemberFactory())
        client.force_login(user)
        response = client.get(reverse("bid_new", args=[job.pk]))
        assert response.context["fit"] == {"eligible": False}
        assert "You may still bid" in response.content.decode()
        client.post(reverse("bid_new", args=[job.pk]), bid_form())
        assert Bid.objects.filter(member=user.member_profile).exists()

    def test_hourly_fields_only_on_hourly_jobs(self, client):
        client.force_login(member_user())
        fixed = client.get(reverse("bid_new", args=[JobFactory().pk]))
        hourly_job = JobFactory(
            budget_type="hourly",
            hourly_rate_cents=4000,
            estimated_hours=50,
            budget_min_cents=None,
            budget_max_cents=None,
        )
        hourly = client.get(reverse("bid_new", args=[hourly_job.pk]))
        assert "hourly_rate" not in fixed.context["form"].fields
        assert "hourly_rate" in hourly.context["form"].fields
        client.post(
            reverse("bid_new", args=[hourly_job.pk]),
            bid_form(hourly_rate="40", estimated_hours="50"),
        )
        bid = Bid.objects.get(job=hourly_job)
        assert (bid.hourly_rate_cents, bid.estimated_hours) == (4000, 50)

    @pytest.mark.parametrize("factory", [ClientFactory, ValidatorFactory])
    def test_only_members_can_bid(self, client, factory):
        job = JobFactory()
        client.force_login(factory())
        assert client.get(reverse("bid_new", args=[job.pk])).status_code == 403
        assert client.post(reverse("bid_new", args=[job.pk]), bid_form()).status_code == 403
        assert not Bid.objects.exists()

    def test_bidding_twice_gives_a_clear_error(self, client):
        job = JobFactory()
        client.force_login(member_user())
        client.post(reverse("bid_new", args=[job.pk]), bid_form())
        response = client.post(reverse("bid_new", args=[job.pk]), bid_form())
        assert response.status_code == 200
        assert "You already have a bid on this job" in response.content.decode()
        assert Bid.objects.count() == 1
        # Opening the form again leads to the bid to edit.
        response = client.get(reverse("bid_new", args=[job.pk]))
        assert response.url == reverse("bid_edit", args=[Bid.objects.get().pk])


class TestChangingABid:
    def test_the_member_edits_their_bid(self, client):
        user = member_user()
        bid = make_bid(member=user.member_profile)
        client.force_login(user)
        response = client.get(reverse("bid_edit", args=[bid.pk]))
        assert response.context["milestones"].initial[0]["title"] == "Maquettes"
        data = bid_form(milestones=(("Tout", "2500"),), price="2500")
        response = client.post(reverse("bid_edit", args=[bid.pk]), data)
        assert response.status_code == 302
        bid.refresh_from_db()
        assert bid.price_cents == 250000
        assert [(m.title, m.amount_cents) for m in bid.milestones.all()] == [("Tout", 250000)]

    def test_withdraw_then_no_more_edits(self, client):
        user = member_user()
        bid = make_bid(member=user.member_profile)
        client.force_login(user)
        assert client.get(reverse("bid_withdraw", args=[bid.pk])).status_code == 405
        response = client.post(reverse("bid_withdraw", args=[bid.pk]))
        assert response.url == reverse("bid_detail", args=[bid.pk])
        bid.refresh_from_db()
        assert bid.status == "withdrawn"
        response = client.post(reverse("bid_edit", args=[bid.pk]), bid_form(), follow=True)
        assert "This bid can no longer be changed." in response.content.decode()
        response = client.post(reverse("bid_withdraw", args=[bid.pk]), follow=True)
        assert "This bid can no longer be changed." in response.content.decode()

    def test_other_members_see_neither_the_bid_nor_the_bids_page(self, client):
        bid = make_bid()
        other = member_user()
        client.force_login(other)
        for name, arg in [
            ("bid_detail", bid.pk),
            ("bid_edit", bid.pk),
            ("bid_messages", bid.pk),
            ("job_bids", bid.job_id),
        ]:
            assert client.get(reverse(name, args=[arg])).status_code == 404, name
        assert client.post(reverse("bid_withdraw", args=[bid.pk])).status_code == 404
        assert client.post(reverse("bid_accept", args=[bid.pk])).status_code == 404
        bid.refresh_from_db()
        assert bid.status == "active"


def bids_on(job, count):
    return [
        make_bid(job=job, member=member_with([(CSS, "validated", "advanced")]))
        for _ in range(count)
    ]


class TestTheClientsSide:
    def test_the_client_sees_every_bid_with_its_fit(self, client):
        job = JobFactory()
        fits = make_bid(job=job, member=member_with([(CSS, "validated", "advanced")]))
        lacks = make_bid(job=job, price_cents=150000, milestones=(("Tout", 150000),))
        client.force_login(english(job.client))
        response = client.get(reverse("job_bids", args=[job.pk]) + "?sort=price")
        rows = response.context["rows"]
        assert [row.bid for row in rows] == [lacks, fits]
        assert rows[1].score > 0 and "validated" in rows[1].why
        assert rows[0].score is None
        html = response.content.decode()
        assert fits.member.display_name in html and "Lacks an essential skill" in html
        assert reverse("bid_accept", args=[fits.pk]) in html
        response = client.get(reverse("job_bids", args=[job.pk]) + "?sort=score")
        assert [row.bid for row in response.context["rows"]] == [fits, lacks]

    def test_shortlist_toggle_with_and_without_htmx(self, client):
        bid = make_bid()
        client.force_login(english(bid.job.client))
        url = reverse("bid_shortlist", args=[bid.pk])
        response = client.post(url, {"shortlisted": "1"})
        assert response.url == reverse("job_bids", args=[bid.job_id])
        bid.refresh_from_db()
        assert bid.shortlisted
        response = client.post(url, {"shortlisted": "0"}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert 'name="shortlisted" value="1"' in response.content.decode()
        bid.refresh_from_db()
        assert not bid.shortlisted

    def test_the_member_cannot_shortlist_nor_accept(self, client):
        bid = make_bid()
        client.force_login(bid.member.user)
        url = reverse("bid_shortlist", args=[bid.pk])
        assert client.post(url, {"shortlisted": "1"}).status_code == 403
        assert client.post(reverse("bid_accept", args=[bid.pk])).status_code == 403
        assert not Contract.objects.exists()

    def test_accept_makes_a_contract_and_a_second_accept_is_told_clearly(self, client):
        job = JobFactory()
        first, second = bids_on(job, 2)
        client.force_login(english(job.client))
        response = client.post(reverse("bid_accept", args=[first.pk]))
        contract = Contract.objects.get()
        assert response.url == reverse("contract_detail", args=[contract.pk])
        assert contract.bid == first and contract.total_cents == first.price_cents

        response = client.post(reverse("bid_accept", args=[second.pk]))
        assert response.status_code == 302
        assert response.url == reverse("job_bids", args=[job.pk])
        page = client.get(response.url).content.decode()
        assert "This job already has a contract" in page
        assert Contract.objects.count() == 1

    def test_job_bids_query_count_is_constant(
        self, client, django_assert_num_queries, django_assert_max_num_queries
    ):
        job = JobFactory()
        client.force_login(job.client)
        url = reverse("job_bids", args=[job.pk])
        bids_on(job, 2)
        client.get(url)  # warms the per-process cache of language codes
        with django_assert_max_num_queries(20) as two_bids:
            client.get(url)
        bids_on(job, 6)
        with django_assert_num_queries(len(two_bids.captured_queries)):
            response = client.get(url)
        assert len(response.context["rows"]) == 8


class TestThread:
    def test_messages_both_ways_and_contact_details_flagged(self, client):
        bid = make_bid()
        url = reverse("bid_detail", args=[bid.pk])
        client.force_login(english(bid.job.client))
        response = client.post(url, {"body": "Pouvez-vous commencer lundi ?"})
        assert response.url == url + "#thread"
        client.force_login(english(bid.member.user))
        client.post(url, {"body": "Oui. Appelez-moi au 0470 12 34 56."})
        assert list(BidMessage.objects.values_list("sender", flat=True)) == [
            bid.job.client.pk,
            bid.member.user.pk,
        ]
        assert BidMessage.objects.last().contact_flags
        html = client.get(url).content.decode()
        assert "Pouvez-vous commencer lundi ?" in html
        assert html.count('class="contact-note"') == 1
        assert 'hx-trigger="every 10s"' in html

    def test_htmx_post_returns_the_new_message_and_an_empty_form(self, client):
        bid = make_bid()
        client.force_login(english(bid.member.user))
        response = client.post(
            reverse("bid_detail", args=[bid.pk]),
            {"body": "Mon e-mail : lea@example.be"},
            headers={"HX-Request": "true"},
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert 'hx-swap-oob="beforeend:#bid-messages"' in html
        assert "lea@example.be" in html and "Contact details are not allowed" in html
        assert "<textarea" in html and "lea@example.be</textarea>" not in html
        assert "<html" not in html

    def test_an_empty_message_is_refused_next_to_the_field(self, client):
        bid = make_bid()
        client.force_login(english(bid.member.user))
        response = client.post(
            reverse("bid_detail", args=[bid.pk]), {"body": ""}, headers={"HX-Request": "true"}
        )
        assert 'class="errorlist"' in response.content.decode()
        assert not BidMessage.objects.exists()

    def test_the_thread_partial(self, client):
        bid = make_bid()
        BidMessage.objects.create(bid=bid, sender=bid.job.client, body="Bonjour")
        client.force_login(bid.member.user)
        response = client.get(reverse("bid_messages", args=[bid.pk]))
        html = response.content.decode()
        assert html.lstrip().startswith('<ol id="bid-messages"') and "Bonjour" in html


def test_the_client_sees_the_bidders_reviews(client):
    from django.urls import reverse
    from django.utils import timezone

    from marketplace.models import Review
    from marketplace.services.bids import bid_accept
    from tests.factories import JobFactory, make_bid

    # Given a member with a published 4-star review from an earlier contract
    earlier = make_bid()
    contract = bid_accept(bid=earlier, client=earlier.job.client)
    contract.status = "completed"
    contract.save()
    Review.objects.create(
        contract=contract,
        author=contract.client,
        subject=contract.member.user,
        rating=4,
        text="Bien.",
        published_at=timezone.now(),
    )
    # When that member bids on another job
    job = JobFactory()
    make_bid(job=job, member=contract.member)
    client.force_login(job.client)
    response = client.get(reverse("job_bids", args=[job.pk]))
    # Then the client sees the average rating next to the bid
    (row,) = response.context["rows"]
    assert row.rating == 4.0
