from django import forms
from django.utils.translation import gettext_lazy as _


class MilestoneRefundForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this milestone paid back?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Both sides see this reason. The client gets a credit note."),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: the milestone is cancelled and everything the client paid goes back."),
    )


class RefundIbanForm(forms.Form):
    iban = forms.CharField(
        label=_("Client's IBAN"),
        max_length=42,
        help_text=_("The refund is paid by transfer to this account in the next payout batch."),
    )
