"""The public job board: a plain GET form of filters over a page of job cards.

Without JavaScript the form submits and the page reloads; with htmx the form swaps only the
results region and pushes the filtered URL into the history, so that it stays shareable and the
back button works."""

from collections import defaultdict
from collections.abc import Iterator

from django import forms
from django.forms.models import ModelChoiceIterator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django_htmx.http import push_url

from marketplace.models import JobCategory
from marketplace.page_cache import cache_anonymous_page
from marketplace.regions import COMMUNE_CHOICES
from marketplace.selectors.jobs import (
    Cursor,
    JobBoardParams,
    JobSort,
    job_board_search,
)
from matching.models import Language, Skill
from matching.search import normalise

STALE_CURSOR_MESSAGE = _("This page link is out of date: here is the first page.")

MAX_BUDGET_EUROS = 1_000_000
# A URL may repeat ?skill= at will; this keeps the IN (...) list, and the query, small.
MAX_SKILLS = 20
MAX_ID_DIGITS = 18
POSTED_SINCE_CHOICES = [
    ("", _("any time")),
    (1, _("in the last 24 hours")),
    (7, _("in the last 7 days")),
    (30, _("in the last 30 days")),
]


class _ByLabel(ModelChoiceIterator):
    """Choices sorted by their label in the viewer's language (the database sorts by English)."""

    def __iter__(self) -> Iterator:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        choices = [self.choice(obj) for obj in self.queryset]
        yield from sorted(choices, key=lambda choice: normalise(str(choice[1])))


class _SkillsByFamily(ModelChoiceIterator):
    """Skills in <optgroup>s by family, sorted by label in the viewer's language."""

    def __iter__(self) -> Iterator:
        families: dict[str, list] = defaultdict(list)
        for skill in self.queryset:
            family = skill.group.label if skill.group else str(_("Other skills"))
            families[family].append(self.choice(skill))
        for family in sorted(families, key=normalise):
            yield (family, sorted(families[family], key=lambda choice: normalise(choice[1])))


class SkillsField(forms.ModelMultipleChoiceField):
    iterator = _SkillsByFamily

    def label_from_instance(self, obj: Skill) -> str:
        return obj.label

    def clean(self, value):
        if value and len(value) > MAX_SKILLS:
            raise forms.ValidationError(
                _("Choose at most %(max)d skills."), code="too_many", params={"max": MAX_SKILLS}
            )
        # An id of more than 18 digits overflows SQLite's integers in the IN (...) lookup
        # instead of matching nothing.
        if value and any(len(str(item)) > MAX_ID_DIGITS for item in value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().clean(value)


class LanguageField(forms.ModelChoiceField):
    iterator = _ByLabel


class JobBoardForm(forms.Form):
    """Reads the board's GET parameters. A value in error gets its message beside its field
    and is left out; the other filters still apply (see params())."""

    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.SearchInput(attrs={"autocomplete": "off"}),
        help_text=_("Words in the title, the description or the skills; accents do not matter."),
    )
    skill = SkillsField(
        label=_("Skills"),
        queryset=Skill.objects.select_related("group"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Jobs needing any of them. Hold Ctrl (⌘ on a Mac) to choose several."),
        error_messages={"invalid_choice": _("Choose skills from the list.")},
    )
    language = LanguageField(
        label=_("Working language"),
        queryset=Language.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("any language"),
        error_messages={"invalid_choice": _("Choose a language from the list.")},
    )
    category = forms.ChoiceField(
        label=_("Kind of work"),
        choices=[("", _("any kind of work")), *JobCategory.choices],
        required=False,
    )
    budget_min = forms.IntegerField(
        label=_("Budget from (euros)"), min_value=0, max_value=MAX_BUDGET_EUROS, required=False
    )
    budget_max = forms.IntegerField(
        label=_("Budget up to (euros)"), min_value=0, max_value=MAX_BUDGET_EUROS, required=False
    )
    commune = forms.ChoiceField(
        label=_("Commune"), choices=[("", _("any commune")), *COMMUNE_CHOICES], required=False
    )
    remote = forms.BooleanField(label=_("Remote work possible"), required=False)
    posted_since = forms.TypedChoiceField(
        label=_("Published"),
        choices=POSTED_SINCE_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    sort = forms.ChoiceField(
        label=_("Sort"), choices=JobSort.choices, initial=JobSort.NEWEST, required=False
    )
    # Never rendered in the form: changing a filter starts again from the first page.
    cursor = forms.CharField(max_length=300, required=False, widget=forms.HiddenInput)

    def clean_cursor(self) -> Cursor | None:
        token = self.cleaned_data["cursor"]
        if not token:
            return None
        try:
            return Cursor.decode(token)
        except ValueError:
            raise forms.ValidationError(STALE_CURSOR_MESSAGE, code="cursor") from None

    def clean(self) -> dict:
        cleaned = super().clean()
        low, high = cleaned.get("budget_min"), cleaned.get("budget_max")
        if low is not None and high is not None and low > high:
            self.add_error("budget_max", _("The highest budget is below the lowest."))
        if cleaned.get("sort") == JobSort.RELEVANCE and not cleaned.get("q", "").strip():
            self.add_error("sort", _("Best match needs search words: the newest jobs come first."))
        cursor = cleaned.get("cursor")
        if cursor is not None and cursor.sort != (cleaned.get("sort") or JobSort.NEWEST):
            self.add_error("cursor", STALE_CURSOR_MESSAGE)
        return cleaned

    def params(self) -> JobBoardParams:
        """The selector's parameters from the values that passed validation. Call is_valid()
        first."""
        data = self.cleaned_data
        language = data.get("language")
        return JobBoardParams(
            q=data.get("q", "").strip(),
            skill_ids=tuple(sorted(skill.pk for skill in data.get("skill") or ())),
            language=language.code if language else "",
            category=data.get("category", ""),
            budget_min_euros=data.get("budget_min"),
            budget_max_euros=data.get("budget_max"),
            commune=data.get("commune", ""),
            remote_only=data.get("remote", False),
            posted_within_days=data.get("posted_since"),
            sort=data.get("sort") or JobSort.NEWEST,
            cursor=data.get("cursor"),
        )

    def url(self, *, cursor: Cursor | None) -> str:
        """The board's URL with the filters as submitted and the given page cursor. Empty and
        default values are dropped to keep it short; values in error are kept, so that the
        same message shows again."""
        query = QueryDict(mutable=True)
        for name, field in self.fields.items():
            values = [
                value
                for value in self.data.getlist(name)
                if value.strip() and value != field.initial
            ]
            if values and name != "cursor":
                query.setlist(name, values)
        if cursor is not None:
            query["cursor"] = cursor.encode()
        path = reverse("job_board")
        return f"{path}?{query.urlencode()}" if query else path


@cache_anonymous_page
def job_board(request: HttpRequest) -> HttpResponse:
    form = JobBoardForm(request.GET)
    form.is_valid()  # errors are shown beside their fields; params() keeps the valid values
    page = job_board_search(params=form.params())
    context = {
        "form": form,
        "page": page,
        "next_url": form.url(cursor=page.next_cursor) if page.next_cursor else "",
        "previous_url": form.url(cursor=page.previous_cursor) if page.previous_cursor else "",
    }
    # A history restore (back button, page not in htmx's cache) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = TemplateResponse(request, "marketplace/job_board.html#board_update", context)
        # The tidy URL (no empty fields) rather than everything the form serialised.
        push_url(response, form.url(cursor=form.cleaned_data.get("cursor")))
    else:
        response = TemplateResponse(request, "marketplace/job_board.html", context)
    # The same URL answers a partial or a page: caches and the browser must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
