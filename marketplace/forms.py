from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, URLValidator
from django.utils.translation import gettext_lazy as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import be as stdnum_be
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

from marketplace.models import ClientProfile, MemberProfile, Role
from marketplace.regions import COUNTRY_CHOICES
from matching.models import CEFRLevel, Language, MemberLanguage

MAX_PORTFOLIO_LINKS = 10


class SignupExtraForm(forms.Form):
    """The fields allauth's sign-up form gets on top of e-mail and password."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)
    role = forms.ChoiceField(
        label=_("I come to Sirius to"),
        choices=[
            (Role.CLIENT, _("have a website made or looked after (client)")),
            (Role.MEMBER, _("work as a web developer of the cooperative (member)")),
        ],
        widget=forms.RadioSelect,
        initial=Role.CLIENT,
    )

    field_order = ["full_name", "email", "password1", "password2", "role"]

    def signup(self, request, user) -> None:
        # Called by allauth once the user row exists.
        from marketplace.services import user_complete_signup

        user_complete_signup(
            user=user,
            full_name=self.cleaned_data["full_name"],
            role=self.cleaned_data["role"],
            language=getattr(request, "LANGUAGE_CODE", ""),
        )


def normalise_vat_number(raw: str) -> str:
    """Validate a Belgian enterprise number or an EU VAT number; return it compact (BE0403170701).

    A bare Belgian enterprise number (0403.170.701) is accepted and given its BE prefix."""
    value = raw.strip().upper().replace(" ", "").replace(".", "").replace("-", "")
    if value and value[0].isdigit():
        value = f"BE{value}"
    try:
        if value.startswith("BE"):
            return "BE" + stdnum_be.vat.validate(value)
        return eu_vat.validate(value)
    except StdnumValidationError as error:
        raise ValidationError(
            _(
                "“%(value)s” is not a valid enterprise or VAT number. A Belgian number has "
                "10 digits after BE, e.g. BE0403170701."
            ),
            code="invalid_vat",
            params={"value": raw},
        ) from error


class ClientProfileForm(forms.ModelForm):
    country = forms.ChoiceField(label=_("Country"), choices=COUNTRY_CHOICES, initial="BE")
    preferred_languages = forms.ModelMultipleChoiceField(
        label=_("Languages I would like to work in"),
        queryset=Language.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ClientProfile
        fields = [
            "kind",
            "organisation_name",
            "vat_number",
            "street",
            "postal_code",
            "city",
            "country",
            "preferred_languages",
        ]
        widgets = {"kind": forms.RadioSelect}

    def clean_vat_number(self) -> str:
        raw = self.cleaned_data.get("vat_number", "")
        return normalise_vat_number(raw) if raw.strip() else ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == ClientProfile.Kind.ORGANISATION:
            if not cleaned.get("organisation_name", "").strip():
                self.add_error(
                    "organisation_name", _("An organisation needs its name for the invoices.")
                )
            if not cleaned.get("vat_number") and "vat_number" not in self.errors:
                self.add_error(
                    "vat_number",
                    _("An organisation needs its enterprise or VAT number for the invoices."),
                )
        return cleaned


class PortfolioLinksField(forms.CharField):
    """One web address per line, stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(value) > MAX_PORTFOLIO_LINKS:
            raise ValidationError(
                _("At most %(max)d links, please."),
                code="too_many_links",
                params={"max": MAX_PORTFOLIO_LINKS},
            )
        check_url = URLValidator(schemes=["http", "https"])
        for link in value:
            try:
                check_url(link)
            except ValidationError as error:
                raise ValidationError(
                    _("“%(link)s” is not a web address (it should start with https://)."),
                    code="invalid_link",
                    params={"link": link},
                ) from error

    def run_validators(self, value):
        # The length validators of CharField apply to the text, not to the list.
        return None


class MemberProfileForm(forms.ModelForm):
    portfolio_links = PortfolioLinksField(
        label=_("Portfolio links"),
        required=False,
        help_text=_("One address per line: sites you built, repositories."),
    )
    hourly_rate = forms.DecimalField(
        label=_("Hourly rate in euros, excluding VAT"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("500"),
        decimal_places=2,
    )

    class Meta:
        model = MemberProfile
        fields = [
            "display_name",
            "bio",
            "portfolio_links",
            "availability",
            "hours_per_week",
            "iban",
            "job_alerts_by_email",
        ]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "display_name": _("The name clients see."),
            "iban": _("Where the cooperative pays you, e.g. BE68 5390 0754 7034."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(
            [
                "display_name",
                "bio",
                "portfolio_links",
                "hourly_rate",
                "availability",
                "hours_per_week",
                "iban",
                "job_alerts_by_email",
            ]
        )
        cents = self.instance.hourly_rate_cents
        if cents is not None:
            self.initial.setdefault("hourly_rate", Decimal(cents) / 100)
        self.fields["hours_per_week"].widget.attrs.update({"min": 0, "max": 80})
        self.fields["hours_per_week"].validators.append(MaxValueValidator(80))

    def clean_iban(self) -> str:
        raw = self.cleaned_data.get("iban", "")
        if not raw.strip():
            return ""
        try:
            return IBAN(raw).compact
        except SchwiftyException as error:
            raise ValidationError(
                _("“%(value)s” is not a valid IBAN. Check the digits, e.g. BE68 5390 0754 7034."),
                code="invalid_iban",
                params={"value": raw},
            ) from error

    def hourly_rate_cents(self) -> int | None:
        rate = self.cleaned_data.get("hourly_rate")
        return None if rate is None else int((rate * 100).to_integral_value())


class MemberLanguageForm(forms.ModelForm):
    level = forms.ChoiceField(
        label=_("Level (CEFR)"),
        choices=[("", "---------"), *CEFRLevel.choices],
        error_messages={
            "invalid_choice": _("Choose a CEFR level from A1 to C2."),
            "required": _("Choose the level at which you speak this language."),
        },
    )

    class Meta:
        model = MemberLanguage
        fields = ["language", "level"]


class BaseMemberLanguageFormSet(forms.BaseInlineFormSet):
    def validate_unique(self) -> None:
        # Replaced by the check in clean(), which puts the message next to the language field
        # (the database constraint member_language_once_per_member still guards races).
        return None

    def clean(self) -> None:
        super().clean()
        seen: set[int] = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            language = form.cleaned_data.get("language")
            if language is None:
                continue
            if language.pk in seen:
                form.add_error("language", _("This language is already in your list."))
            seen.add(language.pk)


MemberLanguageFormSet = forms.inlineformset_factory(
    MemberProfile,
    MemberLanguage,
    form=MemberLanguageForm,
    formset=BaseMemberLanguageFormSet,
    extra=2,
    max_num=15,
    validate_max=True,
    can_delete=True,
)


class LanguageSwitchForm(forms.Form):
    language = forms.ChoiceField(choices=[])
    next = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
