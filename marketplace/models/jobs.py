"""Jobs posted by clients, with the skills and languages they need."""

import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.regions import COMMUNE_CHOICES
from marketplace.uploads import PrivateUpload, private_upload_to
from matching.models import CEFRLevel, SkillLevel

DEFAULT_OPEN_DAYS = 30


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("waiting for review")
    PUBLISHED = "published", _("published")
    IN_PROGRESS = "in_progress", _("in progress")
    COMPLETED = "completed", _("completed")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


class JobCategory(models.TextChoices):
    SHOWCASE = "showcase", _("showcase website")
    ESHOP = "eshop", _("online shop")
    MAINTENANCE = "maintenance", _("maintenance and updates")
    REDESIGN = "redesign", _("redesign")
    ACCESSIBILITY = "accessibility", _("accessibility audit")
    SEO = "seo", _("search engine optimisation")
    WEB_APP = "web_app", _("web application")
    OTHER = "other", _("other")


class WorkMode(models.TextChoices):
    ON_SITE = "on_site", _("on site")
    REMOTE = "remote", _("remote")
    HYBRID = "hybrid", _("on site and remote")


class BudgetType(models.TextChoices):
    FIXED = "fixed", _("fixed price")
    HOURLY = "hourly", _("hourly rate")


class SkillImportance(models.TextChoices):
    ESSENTIAL = "essential", _("essential")
    NICE = "nice", _("nice to have")


def default_closing_date() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=DEFAULT_OPEN_DAYS)


class Job(models.Model):
    """A web job. Its status changes only through marketplace.job_states (one place)."""

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="jobs",
        verbose_name=_("client"),
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(
        _("description"), max_length=10000, help_text=_("Markdown: **bold**, lists, links.")
    )
    # The description rendered from Markdown and sanitised (nh3) by the service that saves it.
    description_html = models.TextField(editable=False, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=JobCategory.choices)
    budget_type = models.CharField(
        _("budget"), max_length=8, choices=BudgetType.choices, default=BudgetType.FIXED
    )
    budget_min_cents = models.PositiveIntegerField(_("budget from (cents)"), null=True, blank=True)
    budget_max_cents = models.PositiveIntegerField(_("budget up to (cents)"), null=True, blank=True)
    hourly_rate_cents = models.PositiveIntegerField(_("hourly rate (cents)"), null=True, blank=True)
    estimated_hours = models.PositiveIntegerField(_("estimated hours"), null=True, blank=True)
    # Kept by the services from the fields above (compute_budget_cents): sorted and filtered on.
    budget_cents = models.PositiveBigIntegerField(_("budget (cents)"), default=0, editable=False)
    desired_start = models.DateField(_("desired start"), null=True, blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    closes_on = models.DateField(_("bids close on"), default=default_closing_date)
    commune = models.CharField(_("commune"), max_length=24, choices=COMMUNE_CHOICES)
    work_mode = models.CharField(
        _("where"), max_length=8, choices=WorkMode.choices, default=WorkMode.HYBRID
    )
    status = models.CharField(
        _("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.DRAFT
    )
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    # Contact details found in the text (deals must go through the cooperative).
    contact_flags = models.JSONField(_("contact details found"), default=list, blank=True)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    # Normalised words of the title, description and skills: the search of the SQLite fallback.
    search_text = models.TextField(editable=False, blank=True)
    # PostgreSQL full-text vector (French, unaccented), kept up to date by the services.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        indexes = [
            models.Index(fields=["status", "-published_at", "-id"], name="job_board"),
            models.Index(fields=["status", "submitted_at"], name="job_review_queue"),
            models.Index(fields=["client", "status"], name="job_client_status"),
            models.Index(fields=["status", "closes_on"], name="job_status_closes"),
            models.Index(fields=["status", "budget_cents"], name="job_status_budget"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        budget_type="fixed",
                        budget_min_cents__isnull=False,
                        budget_max_cents__isnull=False,
                        budget_min_cents__gt=0,
                        budget_min_cents__lte=models.F("budget_max_cents"),
                    )
                    | models.Q(
                        budget_type="hourly",
                        hourly_rate_cents__gt=0,
                        estimated_hours__gt=0,
                    )
                ),
                name="job_budget_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(desired_start__isnull=True)
                | models.Q(deadline__isnull=True)
                | models.Q(desired_start__lte=models.F("deadline")),
                name="job_start_before_deadline",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="job_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def compute_budget_cents(self) -> int:
        """One figure to sort and filter on: the top of a fixed range, or rate times hours."""
        if self.budget_type == BudgetType.FIXED:
            return self.budget_max_cents or 0
        return (self.hourly_rate_cents or 0) * (self.estimated_hours or 0)

    @property
    def is_public(self) -> bool:
        return self.status == JobStatus.PUBLISHED and not self.is_hidden


class JobSkill(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(
        "matching.Skill", on_delete=models.PROTECT, related_name="+", verbose_name=_("skill")
    )
    importance = models.CharField(
        _("importance"),
        max_length=9,
        choices=SkillImportance.choices,
        default=SkillImportance.ESSENTIAL,
    )
    min_level = models.CharField(
        _("minimum level"),
        max_length=12,
        choices=SkillLevel.choices,
        default=SkillLevel.INTERMEDIATE,
    )
    # On essential rows: how many essential skills the job asks in all (kept by the services).
    # Matching finds the jobs whose essential skills a member holds by counting, per job, the
    # held ones and comparing, without touching the job table.
    job_essential_count = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["importance", "pk"]
        verbose_name = _("required skill")
        verbose_name_plural = _("required skills")
        constraints = [
            models.UniqueConstraint(fields=["job", "skill"], name="job_skill_once"),
        ]
        indexes = [
            # Matching: the jobs that need one of these skills as essential.
            models.Index(
                fields=["skill", "job"],
                name="job_skill_essential",
                condition=models.Q(importance="essential"),
                include=["job_essential_count"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill} ({self.get_importance_display()})"


class JobLanguage(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="languages")
    language = models.ForeignKey(
        "matching.Language", on_delete=models.PROTECT, related_name="+", verbose_name=_("language")
    )
    min_level = models.CharField(
        _("minimum CEFR level"), max_length=2, choices=CEFRLevel.choices, default=CEFRLevel.B1
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("working language")
        verbose_name_plural = _("working languages")
        constraints = [
            models.UniqueConstraint(fields=["job", "language"], name="job_language_once"),
        ]

    def __str__(self) -> str:
        return f"{self.language.code} ≥ {self.min_level}"


# Named by earlier migrations; the files' paths now come from PrivateUpload.upload_folder().
attachment_upload_to = private_upload_to


class JobAttachment(PrivateUpload):
    """A PDF, PNG or JPEG attached to a job (see marketplace.uploads)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attachments")
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta(PrivateUpload.Meta):
        ordering = ["added_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def upload_folder(self) -> str:
        return f"jobs/{self.job_id}"
