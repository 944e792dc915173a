from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import Job, JobCategory, SkillImportance, WorkMode
from marketplace.models.jobs import BudgetType
from marketplace.regions import COMMUNE_CHOICES
from marketplace.services.jobs import JobInput, LanguageNeed, SkillNeed
from matching.forms import EvidenceFilesField
from matching.models import CEFRLevel, Language, Skill, SkillLevel

MAX_EUROS = Decimal("100000")


def euros_field(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=False, min_value=Decimal("1"), max_value=MAX_EUROS, decimal_places=2
    )


def to_cents(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 100).to_integral_value())


class JobForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "What you need, for whom, by when. Markdown works: **bold**, lists, links. Do not "
            "write your phone number or e-mail: the cooperative puts you in touch."
        ),
    )
    category = forms.ChoiceField(label=_("Kind of work"), choices=JobCategory.choices)
    budget_type = forms.ChoiceField(
        label=_("Budget"),
        choices=BudgetType.choices,
        widget=forms.RadioSelect,
        initial=BudgetType.FIXED,
    )
    budget_min = euros_field(_("Fixed price from (euros, excl. VAT)"))
    budget_max = euros_field(_("Fixed price up to (euros, excl. VAT)"))
    hourly_rate = euros_field(_("Hourly rate (euros, excl. VAT)"))
    estimated_hours = forms.IntegerField(
        label=_("Estimated hours"), required=False, min_value=1, max_value=2000
    )
    desired_start = forms.DateField(
        label=_("Desired start"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    deadline = forms.DateField(
        label=_("Deadline"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    closes_on = forms.DateField(
        label=_("Bids close on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    commune = forms.ChoiceField(label=_("Commune"), choices=COMMUNE_CHOICES)
    work_mode = forms.ChoiceField(label=_("Where"), choices=WorkMode.choices)
    attachments = EvidenceFilesField(
        label=_("Attachments"),
        help_text=_("Optional: PDF, PNG or JPEG, at most 5 MB each (a sketch, a current page)."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("budget_type") == BudgetType.FIXED:
            low, high = cleaned.get("budget_min"), cleaned.get("budget_max")
            if low is None and "budget_min" not in self.errors:
                self.add_error("budget_min", _("Give the lowest price you expect."))
            if high is None and "budget_max" not in self.errors:
                self.add_error("budget_max", _("Give the highest price you can pay."))
            if low is not None and high is not None and low > high:
                self.add_error("budget_max", _("The highest price is below the lowest."))
        elif cleaned.get("budget_type") == BudgetType.HOURLY:
            if cleaned.get("hourly_rate") is None and "hourly_rate" not in self.errors:
                self.add_error("hourly_rate", _("Give the hourly rate."))
            if cleaned.get("estimated_hours") is None and "estimated_hours" not in self.errors:
                self.add_error("estimated_hours", _("Give an estimate of the hours."))
        start, deadline = cleaned.get("desired_start"), cleaned.get("deadline")
        if start and deadline and start > deadline:
            self.add_error("deadline", _("The deadline is before the desired start."))
        closes_on = cleaned.get("closes_on")
        if closes_on and closes_on < timezone.localdate():
            self.add_error("closes_on", _("The closing date is in the past."))
        return cleaned

    def job_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"].strip(),
            "description": data["description"],
            "category": data["category"],
            "budget_type": data["budget_type"],
            "budget_min_cents": to_cents(data.get("budget_min")),
            "budget_max_cents": to_cents(data.get("budget_max")),
            "hourly_rate_cents": to_cents(data.get("hourly_rate")),
            "estimated_hours": data.get("estimated_hours"),
            "desired_start": data.get("desired_start"),
            "deadline": data.get("deadline"),
            "closes_on": data["closes_on"],
            "commune": data["commune"],
            "work_mode": data["work_mode"],
        }

    @staticmethod
    def initial_for(job: Job) -> dict:
        def euros(cents):
            return None if cents is None else Decimal(cents) / 100

        return {
            "title": job.title,
            "description": job.description,
            "category": job.category,
            "budget_type": job.budget_type,
            "budget_min": euros(job.budget_min_cents),
            "budget_max": euros(job.budget_max_cents),
            "hourly_rate": euros(job.hourly_rate_cents),
            "estimated_hours": job.estimated_hours,
            "desired_start": job.desired_start,
            "deadline": job.deadline,
            "closes_on": job.closes_on,
            "commune": job.commune,
            "work_mode": job.work_mode,
        }


class JobSkillForm(forms.Form):
    skill = forms.ModelChoiceField(
        label=_("Skill"),
        queryset=Skill.objects.order_by("label_en"),
        required=False,
        error_messages={"invalid_choice": _("Choose a skill from the list.")},
    )
    importance = forms.ChoiceField(
        label=_("Importance"), choices=SkillImportance.choices, initial=SkillImportance.ESSENTIAL
    )
    min_level = forms.ChoiceField(
        label=_("Minimum level"), choices=SkillLevel.choices, initial=SkillLevel.INTERMEDIATE
    )


class JobLanguageForm(forms.Form):
    language = forms.ModelChoiceField(
        label=_("Language"), queryset=Language.objects.all(), required=False
    )
    min_level = forms.ChoiceField(
        label=_("Minimum level (CEFR)"),
        choices=CEFRLevel.choices,
        initial=CEFRLevel.B1,
        error_messages={"invalid_choice": _("Choose a CEFR level from A1 to C2.")},
    )


class UniqueChoiceFormSet(forms.BaseFormSet):
    key = ""
    duplicate_message = ""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            value = form.cleaned_data.get(self.key) if hasattr(form, "cleaned_data") else None
            if value is None:
                continue
            if value.pk in seen:
                form.add_error(self.key, self.duplicate_message)
            seen.add(value.pk)


class SkillNeedFormSet(UniqueChoiceFormSet):
    key = "skill"
    duplicate_message = _("This skill is already in the list.")


class LanguageNeedFormSet(UniqueChoiceFormSet):
    key = "language"
    duplicate_message = _("This language is already in the list.")


JobSkillFormSet = forms.formset_factory(
    JobSkillForm, formset=SkillNeedFormSet, extra=0, min_num=3, max_num=20, validate_max=True
)
JobLanguageFormSet = forms.formset_factory(
    JobLanguageForm, formset=LanguageNeedFormSet, extra=0, min_num=2, max_num=6, validate_max=True
)


def job_input(form: JobForm, skills, languages) -> JobInput:
    return JobInput(
        fields=form.job_fields(),
        skills=[
            SkillNeed(
                f.cleaned_data["skill"], f.cleaned_data["importance"], f.cleaned_data["min_level"]
            )
            for f in skills.forms
            if f.cleaned_data.get("skill")
        ],
        languages=[
            LanguageNeed(f.cleaned_data["language"], f.cleaned_data["min_level"])
            for f in languages.forms
            if f.cleaned_data.get("language")
        ],
        attachments=form.cleaned_data.get("attachments") or [],
    )


def formset_initial(job: Job | None):
    if job is None:
        return [], [{"language": Language.objects.filter(code="fr").first(), "min_level": "B1"}]
    skills = [
        {"skill": need.skill, "importance": need.importance, "min_level": need.min_level}
        for need in job.skills.select_related("skill")
    ]
    languages = [
        {"language": need.language, "min_level": need.min_level}
        for need in job.languages.select_related("language")
    ]
    return skills, languages
