"""Reviews after a contract: who may write, once each, published together or after 14 days,
never shown early to the other side; the review page; the ratings the matching reads."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Contract, ContractEvent, Notification, Review
from marketplace.services.bids import bid_accept
from marketplace.services.reviews import (
    average_ratings,
    published_reviews_about,
    review_write,
    reviews_publish_due,
)
from tests.factories import AdminFactory, JobFactory, MemberFactory, make_bid

pytestmark = pytest.mark.django_db


def make_contract(*, completed_days_ago: int | None = 1, member=None) -> Contract:
    bid = make_bid(job=JobFactory(), member=member)
    contract = bid_accept(bid=bid, client=bid.job.client)
    if completed_days_ago is not None:
        completed_at = timezone.now() - datetime.timedelta(days=completed_days_ago)
        Contract.objects.filter(pk=contract.pk).update(
            status="completed", completed_at=completed_at
        )
        contract.refresh_from_db()
    return contract


def page_url(contract: Contract) -> str:
    return reverse("review_write", args=[contract.pk])


# --- Service ------------------------------------------------------------------------------------


def test_a_lone_review_stays_unpublished_and_the_other_side_is_told():
    contract = make_contract()
    review = review_write(contract=contract, author=contract.client, rating=5, text=" Super ! ")

    review.refresh_from_db()
    assert review.published_at is None
    assert review.subject == contract.member.user
    assert review.text == "Super !"
    assert Notification.objects.filter(user=contract.member.user, kind="review").exists()
    assert ContractEvent.objects.filter(contract=contract, kind="review_written").count() == 1


def test_the_second_review_publishes_both_at_the_same_moment():
    contract = make_contract()
    review_write(contract=contract, author=contract.client, rating=4, text="Bon travail.")
    review_write(contract=contract, author=contract.member.user, rating=5, text="Client clair.")

    published = set(Review.objects.filter(contract=contract).values_list("published_at", flat=True))
    assert len(published) == 1 and None not in published


@pytest.mark.parametrize("rating", [0, 6, None])
def test_the_rating_is_from_1_to_5(rating):
    contract = make_contract()
    with pytest.raises(ValidationError) as error:
        review_write(contract=contract, author=contract.client, rating=rating, text="Bien.")
    assert "rating" in error.value.message_dict
    assert not Review.objects.exists()


def test_the_text_is_required():
    contract = make_contract()
    with pytest.raises(ValidationError) as error:
        review_write(contract=contract, author=contract.client, rating=3, text="   ")
    assert "text" in error.value.message_dict


def test_only_the_two_sides_review():
    contract = make_contract()
    for outsider in (MemberFactory(), AdminFactory()):
        with pytest.raises(PermissionDenied):
            review_write(contract=contract, author=outsider, rating=1, text="Jaloux.")
    assert not Review.objects.exists()


def test_only_a_completed_contract_is_reviewed():
    contract = make_contract(completed_days_ago=None)
    with pytest.raises(ValidationError):
        review_write(contract=contract, author=contract.client, rating=5, text="Trop tôt.")
    assert not Review.objects.exists()


def test_each_side_reviews_once():
    contract = make_contract()
    review_write(contract=contract, author=contract.client, rating=5, text="Bien.")
    with pytest.raises(ValidationError):
        review_write(contract=contract, author=contract.client, rating=1, text="Changé d'avis.")
    assert Review.objects.get().rating == 5


def test_writing_closes_14_days_after_completion():
    contract = make_contract(completed_days_ago=15)
    with pytest.raises(ValidationError):
        review_write(contract=contract, author=contract.client, rating=1, text="En retard.")
    assert not Review.objects.exists()


def test_the_periodic_pass_publishes_after_14_days_and_is_idempotent():
    # Given a lone review on a contract completed 10 days ago, and one on a recent contract
    old = make_contract(completed_days_ago=10)
    recent = make_contract(completed_days_ago=1)
    review_write(contract=old, author=old.client, rating=4, text="Bien.")
    review_write(contract=recent, author=recent.client, rating=2, text="Bof.")

    # When the pass runs now, nothing is due; 5 days later the old one is
    assert reviews_publish_due() == 0
    later = timezone.now() + datetime.timedelta(days=5)
    assert reviews_publish_due(now=later) == 1
    assert reviews_publish_due(now=later) == 0

    assert Review.objects.get(contract=old).published_at == later
    assert Review.objects.get(contract=recent).published_at is None


def test_average_ratings_count_published_reviews_by_clients_only():
    member = MemberFactory().member_profile
    first, second = make_contract(member=member), make_contract(member=member)
    unpublished = make_contract(member=member)
    for contract, rating in ((first, 5), (second, 2)):
        review_write(contract=contract, author=contract.client, rating=rating, text="Avis.")
        review_write(contract=contract, author=member.user, rating=1, text="Avis du membre.")
    review_write(contract=unpublished, author=unpublished.client, rating=1, text="Pas publié.")
    nobody = MemberFactory().member_profile

    assert average_ratings([member.pk, nobody.pk]) == {member.pk: 3.5}


def test_average_ratings_is_one_query(django_assert_num_queries):
    members = [MemberFactory().member_profile for _ in range(3)]
    with django_assert_num_queries(1):
        average_ratings([m.pk for m in members])


def test_published_reviews_about_a_member_leave_out_unpublished_ones():
    contract, other = make_contract(), make_contract()
    member_user = contract.member.user
    review_write(contract=contract, author=contract.client, rating=4, text="Publié.")
    review_write(contract=contract, author=member_user, rating=5, text="Merci.")
    review_write(contract=other, author=other.client, rating=1, text="Pas encore.")

    assert [r.text for r in published_reviews_about(member_user)] == ["Publié."]
    assert list(published_reviews_about(other.member.user)) == []


def test_the_profile_include_shows_rating_text_first_name_and_date():
    contract = make_contract()
    contract.client.full_name = "Amélie Dupont"
    contract.client.save()
    review_write(contract=contract, author=contract.client, rating=4, text="Très soigné.")
    review_write(contract=contract, author=contract.member.user, rating=5, text="Merci.")

    html = render_to_string(
        "marketplace/includes/member_reviews.html",
        {"reviews": published_reviews_about(contract.member.user)},
    )

    assert "Très soigné." in html
    assert "Amélie" in html and "Dupont" not in html
    assert "Merci." not in html  # the member's review of the client is not about the member


# --- Page ---------------------------------------------------------------------------------------


def test_a_side_writes_a_review_through_the_page(client):
    contract = make_contract()
    client.force_login(contract.client)

    assert client.get(page_url(contract)).status_code == 200
    response = client.post(page_url(contract), {"rating": "4", "text": "Travail soigné."})

    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.author, review.rating, review.text) == (contract.client, 4, "Travail soigné.")


def test_the_page_keeps_input_and_shows_errors(client):
    contract = make_contract()
    client.force_login(contract.client)

    response = client.post(page_url(contract), {"rating": "9", "text": "Gardé."})

    assert response.status_code == 200
    assert "Gardé." in response.content.decode()
    assert response.context["form"].errors["rating"]
    assert not Review.objects.exists()


def test_an_unpublished_review_is_invisible_to_the_other_side(client):
    contract = make_contract()
    review_write(contract=contract, author=contract.client, rating=1, text="Texte secret.")

    client.force_login(contract.member.user)
    response = client.get(page_url(contract))

    assert response.status_code == 200
    assert "Texte secret." not in response.content.decode()
    assert response.context["other_review"] is None

    client.force_login(contract.client)
    assert "Texte secret." in client.get(page_url(contract)).content.decode()


def test_once_both_wrote_each_side_reads_the_other(client):
    contract = make_contract()
    review_write(contract=contract, author=contract.client, rating=5, text="Du client.")
    client.force_login(contract.member.user)

    client.post(page_url(contract), {"rating": "5", "text": "Du membre."})
    body = client.get(page_url(contract)).content.decode()

    assert "Du client." in body and "Du membre." in body


def test_outsiders_get_not_found_and_moderators_cannot_write(client):
    contract = make_contract()
    client.force_login(MemberFactory())
    assert client.get(page_url(contract)).status_code == 404

    client.force_login(AdminFactory())
    assert client.get(page_url(contract)).status_code == 403
    assert client.post(page_url(contract), {"rating": "5", "text": "Non."}).status_code == 403
    assert not Review.objects.exists()


def test_no_form_before_the_contract_is_completed(client):
    contract = make_contract(completed_days_ago=None)
    client.force_login(contract.client)

    response = client.get(page_url(contract))
    assert response.context["form"] is None
    client.post(page_url(contract), {"rating": "5", "text": "Trop tôt."})
    assert not Review.objects.exists()
