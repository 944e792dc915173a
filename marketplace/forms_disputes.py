"""Forms of the dispute pages: open, answer, evidence, proposal, decision (and correction).

Amounts are typed in euros and handed to the services in cents; the services check every
rule again (marketplace.services.disputes) and their errors come back next to the fields."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.forms import PortfolioLinksField
from marketplace.forms_jobs import MAX_EUROS, to_cents
from marketplace.models import DecisionOutcome, DisputeReason
from marketplace.services.disputes import MAX_REASONING_LENGTH, MAX_TEXT_LENGTH
from matching.forms import EvidenceFilesField


def _euros(label, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_value=MAX_EUROS,
        decimal_places=2,
        help_text=help_text,
    )


def _text(label, *, help_text: str = "", limit: int = MAX_TEXT_LENGTH, rows: int = 5):
    return forms.CharField(
        label=label,
        max_length=limit,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "dir": "auto"}),
    )


class MemberAmountMixin:
    """The amount, in euros, a side finds fair for the member."""

    def member_cents(self) -> int:
        return to_cents(self.cleaned_data["member_amount"])


class DisputeOpenForm(MemberAmountMixin, forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=DisputeReason.choices, widget=forms.RadioSelect
    )
    account = _text(
        _("What happened?"),
        help_text=_("Facts and dates: the cooperative and the other side read this."),
    )
    member_amount = _euros(
        _("What is fair for the member (euros, excl. VAT)?"),
        help_text=_("The rest goes back to the client. This is your first proposal."),
    )


class DisputeAnswerForm(MemberAmountMixin, forms.Form):
    answer = _text(_("Your account"), help_text=_("The cooperative and the other side read this."))
    member_amount = _euros(
        _("What is fair for the member (euros, excl. VAT)?"),
        help_text=_("The rest goes back to the client. This is your proposal."),
    )


class DisputeEvidenceForm(forms.Form):
    text = _text(_("What does this show?"), rows=3)
    links = PortfolioLinksField(
        label=_("Links"),
        required=False,
        help_text=_("One address per line: the site, a repository, a shared folder."),
    )
    files = EvidenceFilesField(
        label=_("Files"), help_text=_("PDF, PNG or JPEG, at most 5 MB each.")
    )


class DisputeProposalForm(MemberAmountMixin, forms.Form):
    member_amount = _euros(
        _("To the member (euros, excl. VAT)"),
        help_text=_("The rest goes back to the client, with its VAT."),
    )
    note = forms.CharField(
        label=_("Note to the other side"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )


class DisputeDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=DecisionOutcome.choices, widget=forms.RadioSelect
    )
    member_amount = _euros(
        _("To the member (euros, excl. VAT)"),
        required=False,
        help_text=_("For a split only."),
    )
    client_amount = _euros(
        _("Back to the client (euros, excl. VAT)"),
        required=False,
        help_text=_("For a split only: the two parts add up to exactly the amount at stake."),
    )
    reasoning = _text(
        _("Reasoning"),
        help_text=_("Both sides read it."),
        limit=MAX_REASONING_LENGTH,
        rows=6,
    )

    def amounts_cents(self) -> tuple[int | None, int | None]:
        return (
            to_cents(self.cleaned_data.get("member_amount")),
            to_cents(self.cleaned_data.get("client_amount")),
        )
