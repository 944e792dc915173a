from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.models import Report


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("What is wrong?"), choices=Report.Reason.choices)
    details = forms.CharField(
        label=_("Details for the moderators"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (kept in the moderation log)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class JobDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Publish")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason for rejecting (the client sees it)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Give the client the reason, so they can fix it."))
        return cleaned
