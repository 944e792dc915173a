"""Forms of the staff payout pages: make a batch, cancel one."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments.models import PayoutRail


def next_business_day(today: datetime.date) -> datetime.date:
    day = today + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


class PayoutBatchForm(forms.Form):
    members = forms.TypedMultipleChoiceField(
        label=_("Members to pay"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    include_refunds = forms.BooleanField(
        label=_("Also pay back the pending bank-transfer refunds (SEPA only)"),
        required=False,
        initial=True,
    )
    rail = forms.ChoiceField(
        label=_("How to pay"),
        choices=PayoutRail.choices,
        initial=PayoutRail.SEPA,
        widget=forms.RadioSelect,
    )
    execution_date = forms.DateField(
        label=_("Requested execution date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, member_choices: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = member_choices
        self.fields["members"].initial = [value for value, _label in member_choices]
        self.fields["execution_date"].initial = next_business_day(timezone.localdate())

    def clean_execution_date(self) -> datetime.date:
        day = self.cleaned_data["execution_date"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("The execution date cannot be in the past."))
        return day

    def clean(self):
        cleaned = super().clean()
        wants_refunds = cleaned.get("include_refunds") and cleaned.get("rail") == PayoutRail.SEPA
        if "members" in cleaned and not cleaned["members"] and not wants_refunds:
            self.add_error("members", _("Select at least one member."))
        return cleaned


class PayoutCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this batch cancelled?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
