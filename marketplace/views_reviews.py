"""The review page of a contract: each side writes their review of the other, then reads both
once they are published."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import access
from marketplace.models import ContractStatus
from marketplace.services import reviews as review_services

RATING_CHOICES = [
    (5, gettext_lazy("5 – excellent")),
    (4, gettext_lazy("4 – good")),
    (3, gettext_lazy("3 – correct")),
    (2, gettext_lazy("2 – disappointing")),
    (1, gettext_lazy("1 – bad")),
]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Rating"), choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=gettext_lazy("Your review"),
        max_length=review_services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=gettext_lazy(
            "The other side reads it only once they have written theirs, or 14 days after the "
            "contract was completed."
        ),
    )


@login_required
def review_write(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = access.access_contract(viewer=request.user, contract_id=contract_id)
    is_client = contract.client_id == request.user.pk
    is_member = contract.member.user_id == request.user.pk
    if not (is_client or is_member):
        # Moderators may open the contract, but only its two sides review it.
        raise PermissionDenied(_("Only the client and the member of a contract review it."))
    reviews = review_services.contract_reviews_for(contract=contract, viewer=request.user)
    own_review = next((r for r in reviews if r.author_id == request.user.pk), None)
    closes_at = review_services.review_window_closes_at(contract)
    can_write = (
        own_review is None
        and contract.status == ContractStatus.COMPLETED
        and closes_at is not None
        and timezone.now() < closes_at
    )
    form = ReviewForm(request.POST or None) if can_write else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            review = review_services.review_write(
                contract=contract,
                author=request.user,
                rating=form.cleaned_data["rating"],
                text=form.cleaned_data["text"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                form.add_error(None, error)
        else:
            if review.published_at:
                messages.success(request, _("Thank you. Both reviews are now published."))
            else:
                messages.success(
                    request,
                    _("Thank you. Your review will be published with the other side's."),
                )
            return redirect("review_write", contract_id=contract.pk)
    elif request.method == "POST" and form is None:
        messages.error(request, _("You cannot write a review on this contract."))
        return redirect("review_write", contract_id=contract.pk)
    context = {
        "contract": contract,
        "form": form,
        "own_review": own_review,
        "other_review": next((r for r in reviews if r.author_id != request.user.pk), None),
        "is_client": is_client,
        "closes_at": closes_at,
        "other_name": contract.member.display_name
        if is_client
        else contract.client.get_short_name(),
    }
    return TemplateResponse(request, "marketplace/review_form.html", context)
