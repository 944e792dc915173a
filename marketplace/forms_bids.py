"""Forms of a bid: the offer, its milestones (a formset), and a message in its thread.

The services check the same rules again (marketplace.services.bids._check); the forms are here
to put each error next to the field it is about and to keep what the member typed."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.forms_jobs import MAX_EUROS, to_cents
from marketplace.models import Bid, Job
from marketplace.models.jobs import BudgetType
from marketplace.services.bids import MAX_MILESTONES, BidInput, MilestoneInput

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _euros(label, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("1"),
        max_value=MAX_EUROS,
        decimal_places=2,
        help_text=help_text,
    )


def _from_cents(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


class BidForm(forms.Form):
    price = _euros(_("Total price (euros, excl. VAT)"))
    hourly_rate = _euros(
        _("Hourly rate (euros, excl. VAT)"),
        required=False,
        help_text=_("Optional: the client pays per hour on this job."),
    )
    estimated_hours = forms.IntegerField(
        label=_("Estimated hours"), required=False, min_value=1, max_value=2000
    )
    start_date = forms.DateField(label=_("I can start on"), widget=DATE_WIDGET)
    cover_message = forms.CharField(
        label=_("Message to the client"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8, "dir": "auto"}),
        help_text=_(
            "How you would do the work and why you. Do not write your phone number or e-mail: "
            "deals go through the cooperative."
        ),
    )

    def __init__(self, *args, job: Job, **kwargs):
        super().__init__(*args, **kwargs)
        if job.budget_type != BudgetType.HOURLY:
            del self.fields["hourly_rate"]
            del self.fields["estimated_hours"]

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        if start < timezone.localdate():
            raise ValidationError(_("The start date is in the past."), code="past")
        return start

    @staticmethod
    def initial_for(bid: Bid) -> dict:
        return {
            "price": _from_cents(bid.price_cents),
            "hourly_rate": _from_cents(bid.hourly_rate_cents),
            "estimated_hours": bid.estimated_hours,
            "start_date": bid.start_date,
            "cover_message": bid.cover_message,
        }


class BidMilestoneForm(forms.Form):
    """One row of the milestones table. A row left entirely blank is skipped, so that the member
    can leave spare rows empty or clear one to remove it; a row partly filled must be complete."""

    title = forms.CharField(
        label=_("Milestone"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )
    amount = _euros(_("Amount (euros)"), required=False)
    due_date = forms.DateField(label=_("Due on"), required=False, widget=DATE_WIDGET)

    def is_filled(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return any(data.get(name) not in (None, "") for name in self.fields) or bool(self.errors)

    def clean(self):
        cleaned = super().clean()
        if any(cleaned.get(name) not in (None, "") for name in self.fields):
            for name in self.fields:
                if cleaned.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, _("Fill in this field, or clear the whole row."))
        return cleaned


class BaseBidMilestoneFormSet(forms.BaseFormSet):
    """The milestones of a bid. Knows the bid form, to check that the amounts add up to its
    price: that error belongs next to the milestones, where the member can fix it."""

    def __init__(self, *args, bid_form: BidForm, **kwargs):
        super().__init__(*args, **kwargs)
        self.bid_form = bid_form

    def filled_forms(self) -> list[BidMilestoneForm]:
        return [form for form in self.forms if form.is_filled()]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        filled = self.filled_forms()
        if not filled:
            raise ValidationError(_("Give at least one milestone."), code="too_few")
        price = self.bid_form.cleaned_data.get("price") if self.bid_form.is_valid() else None
        start = self.bid_form.cleaned_data.get("start_date") if self.bid_form.is_valid() else None
        if start is not None:
            for form in filled:
                if form.cleaned_data["due_date"] < start:
                    form.add_error("due_date", _("This is before the start date."))
        total = sum(form.cleaned_data["amount"] for form in filled)
        if price is not None and total != price:
            raise ValidationError(
                _("The milestones add up to %(total)s €, not the total price of %(price)s €.")
                % {"total": floatformat(total, -2), "price": floatformat(price, -2)},
                code="sum",
            )


BidMilestoneFormSet = forms.formset_factory(
    BidMilestoneForm,
    formset=BaseBidMilestoneFormSet,
    extra=2,
    max_num=MAX_MILESTONES,
    validate_max=True,
    absolute_max=MAX_MILESTONES,
)


def milestones_initial(bid: Bid | None) -> list[dict]:
    if bid is None:
        return []
    return [
        {"title": m.title, "amount": _from_cents(m.amount_cents), "due_date": m.due_date}
        for m in bid.milestones.all()
    ]


def bid_input(form: BidForm, milestones: BaseBidMilestoneFormSet) -> BidInput:
    data = form.cleaned_data
    return BidInput(
        price_cents=to_cents(data["price"]),
        start_date=data["start_date"],
        cover_message=data["cover_message"],
        hourly_rate_cents=to_cents(data.get("hourly_rate")),
        estimated_hours=data.get("estimated_hours"),
        milestones=[
            MilestoneInput(
                title=m.cleaned_data["title"],
                amount_cents=to_cents(m.cleaned_data["amount"]),
                due_date=m.cleaned_data["due_date"],
            )
            for m in milestones.filled_forms()
        ],
    )


class BidMessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text=_("Contact details are not allowed; deals go through the cooperative."),
    )
