"""Reviews after a contract: the client and the member review each other.

Neither side may read the other's review before writing their own, so that nobody retaliates:
both reviews are published together, at the moment the second one is written, or by the
periodic pass 14 days after the contract was completed, whichever comes first. Writing closes
at the same moment, so a review can never answer one that is already public.

The contract's row lock serialises the two sides: without it, two reviews written at the same
moment could each miss the other and stay unpublished until the periodic pass."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Avg, F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.locks import lock_contract
from marketplace.models import Contract, ContractEvent, ContractStatus, Review, User
from marketplace.services.notifications import notify

REVIEW_WINDOW = datetime.timedelta(days=14)
MAX_TEXT = 3000


def review_window_closes_at(contract: Contract) -> datetime.datetime | None:
    return contract.completed_at + REVIEW_WINDOW if contract.completed_at else None


def _check(*, rating: int, text: str) -> None:
    errors: dict[str, str] = {}
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        errors["rating"] = _("Give a rating from 1 to 5.")
    if not text.strip():
        errors["text"] = _("Write a few words about how the work went.")
    elif len(text.strip()) > MAX_TEXT:
        errors["text"] = _("At most %(max)d characters.") % {"max": MAX_TEXT}
    if errors:
        raise ValidationError(errors)


def review_write(*, contract: Contract, author: User, rating: int, text: str) -> Review:
    """One side of a completed contract reviews the other, once. When the other side has
    already written theirs, both are published together (same published_at)."""
    if author.pk not in (contract.client_id, contract.member.user_id):
        raise PermissionDenied(_("Only the client and the member of a contract review it."))
    _check(rating=rating, text=text)
    now = timezone.now()
    with transaction.atomic():
        contract = lock_contract(contract.pk)
        if contract.status != ContractStatus.COMPLETED:
            raise ValidationError(
                _("You can write a review once the contract is completed."), code="not_completed"
            )
        closes_at = review_window_closes_at(contract)
        if closes_at is not None and now >= closes_at:
            raise ValidationError(
                _("Reviews close 14 days after the contract is completed."), code="closed"
            )
        is_client = author.pk == contract.client_id
        subject = contract.member.user if is_client else contract.client
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    contract=contract,
                    author=author,
                    subject=subject,
                    rating=rating,
                    text=text.strip(),
                )
        except IntegrityError as error:  # the unique (contract, author) constraint
            raise ValidationError(
                _("You have already reviewed this contract."), code="duplicate"
            ) from error
        ContractEvent.objects.create(contract=contract, actor=author, kind="review_written")
        url = reverse("review_write", args=[contract.pk])
        both_written = Review.objects.filter(contract=contract).exclude(pk=review.pk).exists()
        if both_written:
            Review.objects.filter(contract=contract, published_at__isnull=True).update(
                published_at=now
            )
            review.published_at = now
            ContractEvent.objects.create(contract=contract, kind="reviews_published")
            for user in (contract.client, contract.member.user):
                notify(
                    user=user,
                    message=gettext_lazy("The reviews of “%(title)s” are published."),
                    params={"title": contract.job.title},
                    url=url,
                    email=False,
                    kind="review",
                )
        else:
            notify(
                user=subject,
                message=gettext_lazy(
                    "You have been reviewed for “%(title)s”. Write your review: both are "
                    "published together."
                ),
                params={"title": contract.job.title},
                url=url,
                kind="review",
            )
    return review


def reviews_publish_due(*, now: datetime.datetime | None = None) -> int:
    """Publish the reviews of contracts completed at least 14 days ago (a lone review is
    published alone). Idempotent: run it as often as you like; returns how many it published."""
    now = now or timezone.now()
    return Review.objects.filter(
        published_at__isnull=True,
        contract__status=ContractStatus.COMPLETED,
        contract__completed_at__lte=now - REVIEW_WINDOW,
    ).update(published_at=now)


# --- Reads ---------------------------------------------------------------------------------------


def average_ratings(member_ids: list[int]) -> dict[int, float]:
    """Average published rating per member profile id, from the clients' reviews of their work
    (a member who is also a client is not rated here on what members said of them as a client).
    Members without a published review are absent. One query."""
    rows = (
        Review.objects.filter(
            contract__member_id__in=member_ids,
            published_at__isnull=False,
            subject_id=F("contract__member__user_id"),
        )
        .values_list("contract__member_id")
        .annotate(average=Avg("rating"))
        .order_by()
    )
    return {member_id: float(average) for member_id, average in rows}


def published_reviews_about(user: User) -> QuerySet[Review]:
    """What clients published about this member's work, newest first, with the author (for their
    first name) in the same query."""
    return (
        Review.objects.filter(subject=user, published_at__isnull=False, contract__member__user=user)
        .select_related("author")
        .order_by("-published_at", "-pk")
    )


def contract_reviews_for(*, contract: Contract, viewer: User) -> list[Review]:
    """The reviews of a contract this viewer may read: the published ones, and their own even
    before it is published. Never the other side's unpublished review."""
    reviews = Review.objects.filter(contract=contract).select_related("author", "subject")
    return [r for r in reviews if r.published_at is not None or r.author_id == viewer.pk]
