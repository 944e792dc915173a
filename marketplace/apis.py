"""JSON API of jobs: the board with its filters, a job's detail, a client's drafts and edits, and
every change of status as its own endpoint.

Each operation parses its input, calls one service (marketplace.services.jobs) and renders a
JobOutput. Who may see or change a job is decided by marketplace.access, nowhere else."""

import re
from decimal import Decimal

import django_filters
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.fields import ModelMultipleChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.exceptions import APIException, NotAuthenticated, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from marketplace import access
from marketplace.apis_schema import (
    MAX_DATABASE_ID,
    ErrorOutput,
    EurosField,
    StrictBooleanFilter,
    StrictCursorPagination,
    text_field,
)
from marketplace.forms_jobs import to_cents
from marketplace.job_states import IllegalTransition
from marketplace.models import Job, JobCategory, JobLanguage, JobSkill, JobStatus, Role, WorkMode
from marketplace.models.jobs import BudgetType, SkillImportance, default_closing_date
from marketplace.page_cache import cache_anonymous_page
from marketplace.regions import COMMUNE_CHOICES
from marketplace.services import jobs as job_services
from marketplace.services.jobs import JobInput, LanguageNeed, SkillNeed
from matching.models import CEFRLevel, Language, Skill, SkillLevel
from matching.search import normalise

# --- Errors ------------------------------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The job's status does not allow this.")
    default_code = "illegal_transition"


# The service validates the model, whose field names differ from the API's for money.
API_NAME_OF_MODEL_FIELD = {
    "budget_min_cents": "budget_min",
    "budget_max_cents": "budget_max",
    "hourly_rate_cents": "hourly_rate",
    NON_FIELD_ERRORS: api_settings.NON_FIELD_ERRORS_KEY,
}


class ServiceErrorsMixin:
    """Services speak Django (ValidationError, PermissionDenied) and the job state machine
    (IllegalTransition): answer 400 with the errors by field, 403, and 409 with the message.
    DRF already turns Django's PermissionDenied and Http404 into 403 and 404."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            if hasattr(exc, "error_dict"):
                detail = {
                    API_NAME_OF_MODEL_FIELD.get(name, name): messages
                    for name, messages in exc.message_dict.items()
                }
            else:
                detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
            exc = ValidationError(detail)
        elif isinstance(exc, IllegalTransition):
            exc = Conflict(str(exc))
        return super().handle_exception(exc)


# --- Permissions (the rules themselves live in marketplace.access and the User model) -----------


class IsClient(permissions.BasePermission):
    message = gettext_lazy("Only clients can post jobs.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_authenticated and request.user.has_role(Role.CLIENT)


class IsModerator(permissions.BasePermission):
    message = gettext_lazy("Only moderators can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return access.is_moderator(request.user)


# --- Output -------------------------------------------------------------------------------------


def format_euros(cents: int) -> str:
    """12345 -> '123,45', 250000 -> '2 500' (in the viewer's language; whole euros without
    decimals)."""
    return formats.number_format(
        Decimal(cents) / 100,
        decimal_pos=0 if cents % 100 == 0 else 2,
        use_l10n=True,
        force_grouping=True,
    )


def format_budget(job: Job) -> str:
    if job.budget_type == BudgetType.HOURLY:
        if not (job.hourly_rate_cents and job.estimated_hours):
            return ""
        # The multiplication sign is deliberate typography in user-facing text.
        return _("%(rate)s €/h × %(hours)s h (%(total)s €)") % {
            "rate": format_euros(job.hourly_rate_cents),
            "hours": job.estimated_hours,
            "total": format_euros(job.hourly_rate_cents * job.estimated_hours),
        }
    low, high = job.budget_min_cents, job.budget_max_cents
    if low is None or high is None:
        return ""
    if low == high:
        return _("%(amount)s €") % {"amount": format_euros(high)}
    return _("%(low)s – %(high)s €") % {"low": format_euros(low), "high": format_euros(high)}


class JobSkillOutput(serializers.Serializer):
    id = serializers.IntegerField(source="skill.id")
    label = serializers.CharField(source="skill.label")
    importance = serializers.ChoiceField(choices=SkillImportance.choices)
    min_level = serializers.ChoiceField(choices=SkillLevel.choices)


class JobLanguageOutput(serializers.Serializer):
    code = serializers.CharField(source="language.code")
    min_level = serializers.ChoiceField(choices=CEFRLevel.choices)


class JobOutput(serializers.Serializer):
    """A job as the API shows it. Listed field by field: the client's e-mail, the contact details
    found in the text and the moderators' hiding flag never leave the server."""

    # Shown to the job's client and to moderators only (dropped for anybody else).
    PRIVATE_FIELDS = ("description", "rejection_reason")

    id = serializers.IntegerField()
    title = serializers.CharField()
    description_html = serializers.CharField(help_text="The description, rendered and sanitised.")
    # required=False (not read_only) so that the schema shows these as optional.
    description = serializers.CharField(
        required=False, help_text="Markdown source: for the job's client and moderators only."
    )
    rejection_reason = serializers.CharField(
        required=False, help_text="Why moderators refused it: for the job's client and moderators."
    )
    category = serializers.ChoiceField(choices=JobCategory.choices)
    budget_type = serializers.ChoiceField(choices=BudgetType.choices)
    budget_min_cents = serializers.IntegerField(allow_null=True)
    budget_max_cents = serializers.IntegerField(allow_null=True)
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
    estimated_hours = serializers.IntegerField(allow_null=True)
    budget_cents = serializers.IntegerField(
        help_text="One figure to compare: the top of a fixed range, or rate times hours."
    )
    budget = serializers.SerializerMethodField(help_text="The budget, written for people.")
    desired_start = serializers.DateField(allow_null=True)
    deadline = serializers.DateField(allow_null=True)
    closes_on = serializers.DateField()
    commune = serializers.ChoiceField(choices=COMMUNE_CHOICES)
    work_mode = serializers.ChoiceField(choices=WorkMode.choices)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    skills = JobSkillOutput(many=True)
    languages = JobLanguageOutput(many=True)
    url = serializers.SerializerMethodField(help_text="The job's page on the site.")

    def get_budget(self, job: Job) -> str:
        return format_budget(job)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job: Job) -> str:
        path = reverse("job_detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def to_representation(self, job: Job) -> dict:
        data = super().to_representation(job)
        request = self.context.get("request")
        viewer = request.user if request is not None else None
        may_see_private = viewer is not None and (
            (viewer.is_authenticated and job.client_id == viewer.pk) or access.is_moderator(viewer)
        )
        if not may_see_private:
            for name in self.PRIVATE_FIELDS:
                data.pop(name, None)
        return data


def jobs_for_output() -> QuerySet[Job]:
    """Jobs with what JobOutput reads, in three queries whatever their number."""
    return Job.objects.prefetch_related(
        Prefetch("skills", queryset=JobSkill.objects.select_related("skill")),
        Prefetch("languages", queryset=JobLanguage.objects.select_related("language")),
    )


def job_response(request: Request, job: Job, status_code: int = status.HTTP_200_OK) -> Response:
    job = jobs_for_output().get(pk=job.pk)
    return Response(JobOutput(job, context={"request": request}).data, status=status_code)


# --- Input --------------------------------------------------------------------------------------


def euros_field() -> EurosField:
    return EurosField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Euros, excluding VAT, as a decimal string: “1500.00”.",
    )


class SkillNeedInput(serializers.Serializer):
    skill = serializers.PrimaryKeyRelatedField(queryset=Skill.objects.all())
    importance = serializers.ChoiceField(
        choices=SkillImportance.choices, default=SkillImportance.ESSENTIAL
    )
    min_level = serializers.ChoiceField(choices=SkillLevel.choices, default=SkillLevel.INTERMEDIATE)


class LanguageNeedInput(serializers.Serializer):
    code = serializers.SlugRelatedField(slug_field="code", queryset=Language.objects.all())
    min_level = serializers.ChoiceField(choices=CEFRLevel.choices, default=CEFRLevel.B1)


def complete_items(items: list[dict], *, required: str, defaults: dict) -> list[dict]:
    """The items of a nested list, whole. On PATCH, DRF validates nested items partially too
    (their required fields and defaults skipped): a list given at all is given in full."""
    if any(required not in item for item in items):
        raise serializers.ValidationError(
            _("Each item needs its “%(field)s”.") % {"field": required}
        )
    return [{**defaults, **item} for item in items]


class JobWriteInput(serializers.Serializer):
    """What a client writes. Missing optional fields take their defaults on POST and PUT and are
    left as they are on PATCH (skills and languages included)."""

    # Money in euros here, in cents in the database.
    EUROS_TO_CENTS = {
        "budget_min": "budget_min_cents",
        "budget_max": "budget_max_cents",
        "hourly_rate": "hourly_rate_cents",
    }

    title = text_field(max_length=120)
    description = text_field(max_length=10000, help_text="Markdown.")
    category = serializers.ChoiceField(choices=JobCategory.choices)
    budget_type = serializers.ChoiceField(choices=BudgetType.choices, default=BudgetType.FIXED)
    budget_min = euros_field()
    budget_max = euros_field()
    hourly_rate = euros_field()
    estimated_hours = serializers.IntegerField(
        min_value=1, max_value=2000, required=False, allow_null=True, default=None
    )
    desired_start = serializers.DateField(required=False, allow_null=True, default=None)
    deadline = serializers.DateField(required=False, allow_null=True, default=None)
    closes_on = serializers.DateField(default=default_closing_date)
    commune = serializers.ChoiceField(choices=COMMUNE_CHOICES)
    work_mode = serializers.ChoiceField(choices=WorkMode.choices, default=WorkMode.HYBRID)
    skills = SkillNeedInput(many=True, default=list, max_length=20)
    languages = LanguageNeedInput(many=True, default=list, max_length=6)

    def validate_title(self, value: str) -> str:
        return value.strip()

    def validate_closes_on(self, value):
        if value < timezone.localdate():
            raise serializers.ValidationError(_("The closing date is in the past."))
        return value

    def validate_skills(self, value: list[dict]) -> list[dict]:
        value = complete_items(
            value,
            required="skill",
            defaults={
                "importance": SkillImportance.ESSENTIAL,
                "min_level": SkillLevel.INTERMEDIATE,
            },
        )
        ids = [need["skill"].pk for need in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("This skill is already in the list."))
        return value

    def validate_languages(self, value: list[dict]) -> list[dict]:
        value = complete_items(value, required="code", defaults={"min_level": CEFRLevel.B1})
        codes = [need["code"].code for need in value]
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError(_("This language is already in the list."))
        return value

    def validate(self, attrs: dict) -> dict:
        # The same rules as the job form, with a message by field; the database constraints on
        # Job make them impossible to bypass. On PATCH a field not given keeps the job's value.
        job: Job | None = self.context.get("job")

        def value(name: str):
            if name in attrs or job is None:
                return attrs.get(name)
            if name in self.EUROS_TO_CENTS:
                cents = getattr(job, self.EUROS_TO_CENTS[name])
                return None if cents is None else Decimal(cents) / 100
            return getattr(job, name)

        errors: dict[str, str] = {}
        if value("budget_type") == BudgetType.HOURLY:
            if value("hourly_rate") is None:
                errors["hourly_rate"] = _("Give the hourly rate.")
            if value("estimated_hours") is None:
                errors["estimated_hours"] = _("Give an estimate of the hours.")
        else:
            low, high = value("budget_min"), value("budget_max")
            if low is None:
                errors["budget_min"] = _("Give the lowest price you expect.")
            if high is None:
                errors["budget_max"] = _("Give the highest price you can pay.")
            if low is not None and high is not None and low > high:
                errors["budget_max"] = _("The highest price is below the lowest.")
        start, deadline = value("desired_start"), value("deadline")
        if start and deadline and start > deadline:
            errors["deadline"] = _("The deadline is before the desired start.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def job_input(self, job: Job | None = None) -> JobInput:
        """The service's input. On PATCH, skills and languages not given stay the job's."""
        data = self.validated_data
        fields = {}
        for name, value in data.items():
            if name in ("skills", "languages"):
                continue
            if name in self.EUROS_TO_CENTS:
                fields[self.EUROS_TO_CENTS[name]] = to_cents(value)
            else:
                fields[name] = value
        if "skills" in data:
            skills = [
                SkillNeed(need["skill"], need["importance"], need["min_level"])
                for need in data["skills"]
            ]
        else:
            skills = [
                SkillNeed(need.skill, need.importance, need.min_level)
                for need in job.skills.select_related("skill")
            ]
        if "languages" in data:
            languages = [
                LanguageNeed(need["code"], need["min_level"]) for need in data["languages"]
            ]
        else:
            languages = [
                LanguageNeed(need.language, need.min_level)
                for need in job.languages.select_related("language")
            ]
        return JobInput(fields=fields, skills=skills, languages=languages)


# --- Board: list and create ---------------------------------------------------------------------

# The SQLite search (one LIKE per word) stops at this many words whatever is typed.
MAX_SEARCH_WORDS = 10


# Budgets beyond these find nothing anyway; past them the cents overflow a database integer.
BUDGET_FILTER_LIMIT = Decimal("1000000000")


def clamp_euros(value: Decimal) -> Decimal:
    return max(-BUDGET_FILTER_LIMIT, min(value, BUDGET_FILTER_LIMIT))


class KnownIdsField(ModelMultipleChoiceField):
    """Django's field, except that an id beyond a database integer is refused like any unknown
    id (400) instead of overflowing the query (500)."""

    def _check_values(self, value):
        for pk in value:
            is_number = isinstance(pk, str) and pk.strip().lstrip("+-").isdigit()
            if is_number and not 0 < int(pk) <= MAX_DATABASE_ID:
                raise DjangoValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class KnownIdsFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = KnownIdsField


class JobFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        label="Words of the title, description or skills (accents ignored)",
    )
    skills = KnownIdsFilter(
        queryset=Skill.objects.all(),
        method="filter_skills",
        label="Skill ids: jobs that need any of them (repeat the parameter)",
    )
    language = django_filters.ModelChoiceFilter(
        queryset=Language.objects.all(),
        to_field_name="code",
        method="filter_language",
        label="A working language (BCP-47 code, e.g. fr)",
    )
    category = django_filters.ChoiceFilter(choices=JobCategory.choices)
    budget_min = django_filters.NumberFilter(
        method="filter_budget_min",
        label="Budget at least (euros; top of a range or rate times hours)",
    )
    budget_max = django_filters.NumberFilter(
        method="filter_budget_max",
        label="Budget at most (euros; top of a range or rate times hours)",
    )
    commune = django_filters.ChoiceFilter(choices=COMMUNE_CHOICES)
    remote = StrictBooleanFilter(
        method="filter_remote",
        label="true: can be done remotely (remote or hybrid); false: on site only",
    )
    posted_since = django_filters.DateFilter(
        field_name="published_at", lookup_expr="date__gte", label="Published on or after"
    )

    class Meta:
        model = Job
        fields = [
            "q",
            "skills",
            "language",
            "category",
            "budget_min",
            "budget_max",
            "commune",
            "remote",
            "posted_since",
        ]

    def filter_q(self, queryset: QuerySet[Job], name: str, value: str) -> QuerySet[Job]:
        if connections[queryset.db].vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery

            return queryset.filter(
                search_vector=SearchQuery(
                    value, config=job_services.SEARCH_CONFIG, search_type="websearch"
                )
            )
        # Words without their punctuation, and a bounded number of LIKE clauses.
        for word in re.findall(r"\w+", normalise(value))[:MAX_SEARCH_WORDS]:
            queryset = queryset.filter(search_text__contains=word)
        return queryset

    def filter_skills(self, queryset: QuerySet[Job], name: str, value) -> QuerySet[Job]:
        if not value:
            return queryset
        return queryset.filter(Exists(JobSkill.objects.filter(job=OuterRef("pk"), skill__in=value)))

    @extend_schema_field(OpenApiTypes.STR)
    def filter_language(self, queryset: QuerySet[Job], name: str, value) -> QuerySet[Job]:
        return queryset.filter(
            Exists(JobLanguage.objects.filter(job=OuterRef("pk"), language=value))
        )

    def filter_budget_min(self, queryset: QuerySet[Job], name: str, value) -> QuerySet[Job]:
        return queryset.filter(budget_cents__gte=to_cents(clamp_euros(value)))

    def filter_budget_max(self, queryset: QuerySet[Job], name: str, value) -> QuerySet[Job]:
        return queryset.filter(budget_cents__lte=to_cents(clamp_euros(value)))

    def filter_remote(self, queryset: QuerySet[Job], name: str, value: bool) -> QuerySet[Job]:
        if value:
            return queryset.filter(work_mode__in=[WorkMode.REMOTE, WorkMode.HYBRID])
        return queryset.filter(work_mode=WorkMode.ON_SITE)


class JobBoardPagination(StrictCursorPagination):
    ordering = ("-published_at", "-id")


class MyJobsPagination(JobBoardPagination):
    # A client's drafts have no publication date: a cursor needs a column without NULLs.
    ordering = ("-created_at", "-id")


class JobListScopeInput(serializers.Serializer):
    mine = serializers.BooleanField(
        default=False,
        help_text="true: the jobs you posted, in every status (log in as a client).",
    )


class JobListCreateApi(ServiceErrorsMixin, generics.ListAPIView):
    """GET: the job board, published jobs newest first (or, with mine=true, your own jobs).
    POST: a client writes a job; it starts as a draft."""

    serializer_class = JobOutput
    filterset_class = JobFilter
    # JSON only: the skills and languages lists have no form encoding.
    parser_classes = [JSONParser]
    pagination_class = JobBoardPagination  # MyJobsPagination for mine=true, see paginator

    @classmethod
    def as_view(cls, **initkwargs):
        # Anonymous reads of the board are served from the page cache (marketplace.page_cache):
        # a request with credentials or a session is always answered afresh.
        return cache_anonymous_page(super().as_view(**initkwargs))

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [IsClient()]
        return [permissions.AllowAny()]

    def lists_own_jobs(self) -> bool:
        if not hasattr(self, "_lists_own_jobs"):
            scope = JobListScopeInput(data=self.request.query_params)
            scope.is_valid(raise_exception=True)
            self._lists_own_jobs = scope.validated_data["mine"]
        return self._lists_own_jobs

    @property
    def paginator(self) -> CursorPagination:
        if not hasattr(self, "_paginator"):
            mine = not getattr(self, "swagger_fake_view", False) and self.lists_own_jobs()
            self._paginator = MyJobsPagination() if mine else JobBoardPagination()
        return self._paginator

    def get_queryset(self) -> QuerySet[Job]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Job.objects.none()
        if self.lists_own_jobs():
            if not self.request.user.is_authenticated:
                raise NotAuthenticated
            return jobs_for_output().filter(client=self.request.user)
        # The search columns are the bulk of a row and the output never shows them.
        return (
            jobs_for_output()
            .filter(status=JobStatus.PUBLISHED, is_hidden=False)
            .defer("search_text", "search_vector", "contact_flags")
        )

    @extend_schema(parameters=[JobListScopeInput])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=JobWriteInput,
        responses={201: JobOutput, 400: OpenApiTypes.OBJECT, 403: ErrorOutput},
    )
    def post(self, request: Request) -> Response:
        serializer = JobWriteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_services.job_create(client=request.user, data=serializer.job_input())
        return job_response(request, job, status.HTTP_201_CREATED)


# --- One job: detail and edit -------------------------------------------------------------------


class JobDetailApi(ServiceErrorsMixin, APIView):
    """A job, if you may see it (a draft is 'not found' to anybody but its client and moderators).
    PUT and PATCH: its client edits it; an edited published job goes back to review."""

    parser_classes = [JSONParser]

    @extend_schema(responses={200: JobOutput, 404: ErrorOutput})
    def get(self, request: Request, job_id: int) -> Response:
        job = access.access_job(viewer=request.user, job_id=job_id, queryset=jobs_for_output())
        return Response(JobOutput(job, context={"request": request}).data)

    @extend_schema(
        request=JobWriteInput,
        responses={200: JobOutput, 400: OpenApiTypes.OBJECT, 404: ErrorOutput},
    )
    def put(self, request: Request, job_id: int) -> Response:
        return self.update(request, job_id, partial=False)

    @extend_schema(
        request=JobWriteInput,
        responses={200: JobOutput, 400: OpenApiTypes.OBJECT, 404: ErrorOutput},
    )
    def patch(self, request: Request, job_id: int) -> Response:
        return self.update(request, job_id, partial=True)

    def update(self, request: Request, job_id: int, *, partial: bool) -> Response:
        job = access.access_own_job(user=request.user, job_id=job_id)
        serializer = JobWriteInput(data=request.data, partial=partial, context={"job": job})
        serializer.is_valid(raise_exception=True)
        job = job_services.job_update(job=job, by=request.user, data=serializer.job_input(job))
        return job_response(request, job)


# --- Changes of status: one endpoint each -------------------------------------------------------

TRANSITION_RESPONSES = {
    200: JobOutput,
    400: OpenApiTypes.OBJECT,
    403: ErrorOutput,
    404: ErrorOutput,
    409: ErrorOutput,
}


class JobSubmitApi(ServiceErrorsMixin, APIView):
    """The client sends a draft (or a rejected job, after changes) to the moderators."""

    @extend_schema(operation_id="jobs_submit", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: Request, job_id: int) -> Response:
        job = access.access_own_job(user=request.user, job_id=job_id)
        job = job_services.job_submit(job=job, by=request.user)
        return job_response(request, job)


class JobCancelApi(ServiceErrorsMixin, APIView):
    """The client withdraws their job."""

    @extend_schema(operation_id="jobs_cancel", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: Request, job_id: int) -> Response:
        job = access.access_own_job(user=request.user, job_id=job_id)
        job = job_services.job_cancel(job=job, by=request.user)
        return job_response(request, job)


class JobApproveApi(ServiceErrorsMixin, APIView):
    """A moderator publishes a submitted job."""

    permission_classes = [IsModerator]

    @extend_schema(operation_id="jobs_approve", request=None, responses=TRANSITION_RESPONSES)
    def post(self, request: Request, job_id: int) -> Response:
        job = access.access_job(viewer=request.user, job_id=job_id)
        job = job_services.job_approve(job=job, moderator=request.user)
        return job_response(request, job)


class JobRejectApi(ServiceErrorsMixin, APIView):
    """A moderator refuses a submitted job and tells the client why."""

    permission_classes = [IsModerator]

    class RejectInput(serializers.Serializer):
        reason = text_field(max_length=2000)

    @extend_schema(operation_id="jobs_reject", request=RejectInput, responses=TRANSITION_RESPONSES)
    def post(self, request: Request, job_id: int) -> Response:
        job = access.access_job(viewer=request.user, job_id=job_id)
        serializer = self.RejectInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = job_services.job_reject(
            job=job, moderator=request.user, reason=serializer.validated_data["reason"]
        )
        return job_response(request, job)
