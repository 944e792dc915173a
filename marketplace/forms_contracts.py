"""Forms of the contract page: a delivery, a request for changes, a cancellation.

The services check the same rules again (marketplace.services.milestones); the forms are here
to put each error next to its field and to keep what was typed. Each milestone's forms carry a
prefix so that several of them fit on one page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.forms import PortfolioLinksField
from marketplace.services.milestones import MAX_MESSAGE_LENGTH
from matching.forms import EvidenceFilesField


def milestone_prefix(milestone_id: int) -> str:
    return f"milestone-{milestone_id}"


class DeliveryForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the client"),
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
        help_text=_("What you deliver and how the client can check it."),
    )
    links = PortfolioLinksField(
        label=_("Links"),
        required=False,
        help_text=_("One address per line: the site, a repository, a shared folder."),
    )
    files = EvidenceFilesField(
        label=_("Files"), help_text=_("PDF, PNG or JPEG, at most 5 MB each.")
    )


class ChangesRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("What should change?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )


class ContractCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you cancel?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
        help_text=_("The other side receives this reason."),
    )
