"""Forms of the governance pages. The services check every rule again; their refusals come
back next to the field they name."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import ProposalKind
from marketplace.models import MemberProfile

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _moment(label, help_text="") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        help_text=help_text,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )


def _quorum() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Quorum (% of the eligible members who must vote)"),
        min_value=1,
        max_value=100,
        initial=settings.GOVERNANCE["DEFAULT_QUORUM_PERCENT"],
    )


class DatesFormMixin:
    def clean(self):
        cleaned = super().clean()
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.add_error("closes_at", _("The vote must close after it opens."))
        return cleaned


class ProposalForm(DatesFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=ProposalKind.choices, widget=forms.RadioSelect
    )
    question = forms.CharField(label=_("Question"), max_length=300)
    explanation = forms.CharField(
        label=_("Explanation"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6, "dir": "auto"}),
        help_text=_("What is at stake, the arguments for each option."),
    )
    options = forms.CharField(
        label=_("Options, one per line"),
        widget=forms.Textarea(attrs={"rows": 4, "dir": "auto"}),
        help_text=_(
            "For a solidarity rate, one percentage per line (e.g. 8, 10, 12.5). "
            "Otherwise, at least two answers."
        ),
    )
    opens_at = _moment(_("Opens"), _("Brussels time."))
    closes_at = _moment(_("Closes"), _("Brussels time."))
    quorum_percent = _quorum()

    def clean(self):
        cleaned = super().clean()
        lines = [line.strip() for line in cleaned.get("options", "").splitlines() if line.strip()]
        if cleaned.get("kind") == ProposalKind.SOLIDARITY_RATE:
            rates = []
            for line in lines:
                try:
                    percent = Decimal(line.rstrip("%").strip().replace(",", "."))
                except InvalidOperation:
                    self.add_error(
                        "options", _("“%(line)s” is not a percentage.") % {"line": line[:40]}
                    )
                    return cleaned
                if percent != percent.quantize(Decimal("0.01")):
                    self.add_error("options", _("Use at most two decimals."))
                    return cleaned
                rates.append(int(percent * 100))
            cleaned["option_values"] = rates
        else:
            cleaned["option_values"] = lines
        return cleaned


class ScheduleForm(DatesFormMixin, forms.Form):
    opens_at = _moment(_("Opens"), _("Brussels time."))
    closes_at = _moment(_("Closes"), _("Brussels time."))
    quorum_percent = _quorum()


class VoteForm(forms.Form):
    option = forms.TypedChoiceField(
        label=_("Your choice"), coerce=int, widget=forms.RadioSelect, choices=()
    )

    def __init__(self, *args, options=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = [(option.pk, option.display) for option in options]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal next to the field it names, if the form has it, else above."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class MembershipChangeForm(forms.Form):
    prefix = "status"

    status = forms.ChoiceField(label=_("New status"), choices=MemberProfile.Membership.choices)
    effective_on = forms.DateField(
        label=_("Effective on"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_("E.g. decision of the board of 12 March, resignation letter."),
    )


class SharesForm(forms.Form):
    prefix = "shares"

    shares = forms.IntegerField(
        label=_("Shares"),
        help_text=_("Positive when subscribed, negative when paid back."),
        min_value=-10000,
        max_value=10000,
    )
    effective_on = forms.DateField(
        label=_("Date"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class RegisterFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("all")), *MemberProfile.Membership.choices],
    )
    q = forms.CharField(label=_("Name or e-mail"), required=False, max_length=100)
