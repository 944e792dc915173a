"""Forms of the staff page of the solidarity fund: record a use, correct one."""

import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.forms_jobs import MAX_EUROS, to_cents
from payments.models import SolidarityUseCategory


class SolidarityUseForm(forms.Form):
    spent_on = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "---------"), *SolidarityUseCategory.choices]
    )
    description = forms.CharField(
        label=_("What was it used for?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Published on the public solidarity page: never name a person."),
    )
    amount = forms.DecimalField(
        label=_("Amount (€)"),
        min_value=Decimal("0.01"),
        max_value=MAX_EUROS,
        decimal_places=2,
    )
    # Drawn when the form is shown: the same submission sent twice records one use.
    request_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("spent_on", timezone.localdate())
            self.initial.setdefault("request_key", uuid.uuid4())

    @property
    def amount_cents(self) -> int:
        return to_cents(self.cleaned_data["amount"])


class SolidarityUseCorrectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this use cancelled?"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Published beside the cancelled use. The money goes back to the fund."),
    )
