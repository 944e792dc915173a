from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.forms import PortfolioLinksField
from matching import evidence
from matching.models import CEFRLevel, Skill, SkillDecision, SkillLevel


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceFilesField(forms.FileField):
    """Several files at once (Django's documented pattern), each checked by its content."""

    widget = MultipleFileInput(
        attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned = [super(EvidenceFilesField, self).clean(upload, initial) for upload in uploads]
        errors = []
        for upload in cleaned:
            try:
                evidence.check_upload(upload)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return cleaned


def evidence_links_field() -> PortfolioLinksField:
    return PortfolioLinksField(
        label=_("Links"),
        required=False,
        help_text=_("One address per line: a site you built, a repository, an exercise."),
    )


def evidence_files_field() -> EvidenceFilesField:
    return EvidenceFilesField(
        label=_("Files"),
        help_text=_("PDF, PNG or JPEG, at most %(max)d MB each: an attestation, a screenshot.")
        % {"max": evidence.MAX_EVIDENCE_BYTES // (1024 * 1024)},
    )


class SkillClaimForm(forms.Form):
    skill = forms.ModelChoiceField(
        label=_("Skill"),
        queryset=Skill.objects.select_related("group").order_by("label_en"),
        error_messages={"invalid_choice": _("Choose a skill from the list.")},
    )
    self_level = forms.ChoiceField(label=_("My level"), choices=SkillLevel.choices)
    description = forms.CharField(
        label=_("What I did with this skill"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        required=False,
    )
    links = evidence_links_field()
    files = evidence_files_field()

    def clean(self):
        cleaned = super().clean()
        has_evidence = (
            cleaned.get("links") or cleaned.get("files") or cleaned.get("description", "").strip()
        )
        if not has_evidence and not self.errors:
            raise ValidationError(
                _("Give at least one piece of evidence: a link, a file or a description."),
                code="no_evidence",
            )
        return cleaned


class EvidenceForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the validator"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    links = evidence_links_field()
    files = evidence_files_field()

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (
            cleaned.get("links") or cleaned.get("files") or cleaned.get("note", "").strip()
        ):
            raise ValidationError(_("Add a link, a file or a note."), code="empty")
        return cleaned


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (SkillDecision.Kind.VALIDATED, _("Validate")),
            (SkillDecision.Kind.MORE_EVIDENCE, _("Ask for more evidence")),
            (SkillDecision.Kind.DECLINED, _("Decline")),
        ],
        widget=forms.RadioSelect,
    )
    level = forms.ChoiceField(
        label=_("Validated level"), choices=[("", "---------"), *SkillLevel.choices], required=False
    )
    comment = forms.CharField(
        label=_("Comment or reason (the member sees it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
    )
    expires_on = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == SkillDecision.Kind.VALIDATED:
            if not cleaned.get("level"):
                self.add_error("level", _("Choose the level you validate."))
            expires_on = cleaned.get("expires_on")
            if expires_on is not None and expires_on <= timezone.localdate():
                self.add_error("expires_on", _("The expiry date must be in the future."))
        elif kind and not cleaned.get("comment", "").strip():
            self.add_error("comment", _("Tell the member why: they will see your reason."))
        return cleaned


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking (the member sees it)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )


class LanguageConfirmForm(forms.Form):
    level = forms.ChoiceField(
        label=_("Confirmed level"),
        choices=CEFRLevel.choices,
        error_messages={"invalid_choice": _("Choose a CEFR level from A1 to C2.")},
    )
    comment = forms.CharField(
        label=_("How you checked it"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
