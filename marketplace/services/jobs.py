"""Writes of jobs: create, edit, submit, approve, reject, cancel, expire.

Every change takes the job's row lock and goes through marketplace.job_states."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace import job_states, locks
from marketplace.content import find_contact_details, render_markdown
from marketplace.models import Job, JobAttachment, JobLanguage, JobSkill, JobStatus, User
from marketplace.services.moderation import log_action
from marketplace.services.notifications import notify
from matching import evidence
from matching.models import Language, Skill
from matching.search import normalise
from matching.tasks import notify_job_matches

SEARCH_CONFIG = "french_unaccent"
MAX_ATTACHMENTS = 10
JOB_FIELDS = (
    "title",
    "description",
    "category",
    "budget_type",
    "budget_min_cents",
    "budget_max_cents",
    "hourly_rate_cents",
    "estimated_hours",
    "desired_start",
    "deadline",
    "closes_on",
    "commune",
    "work_mode",
)


@dataclass(frozen=True)
class SkillNeed:
    skill: Skill
    importance: str
    min_level: str


@dataclass(frozen=True)
class LanguageNeed:
    language: Language
    min_level: str


@dataclass
class JobInput:
    fields: dict
    skills: list[SkillNeed] = field(default_factory=list)
    languages: list[LanguageNeed] = field(default_factory=list)
    attachments: list[UploadedFile] = field(default_factory=list)


def _apply(job: Job, data: JobInput) -> None:
    for name in JOB_FIELDS:
        if name in data.fields:
            setattr(job, name, data.fields[name])
    if job.budget_type == "fixed":
        job.hourly_rate_cents = job.estimated_hours = None
    else:
        job.budget_min_cents = job.budget_max_cents = None
    job.budget_cents = job.compute_budget_cents()
    job.description_html = render_markdown(job.description)
    job.contact_flags = find_contact_details(f"{job.title}\n{job.description}")
    job.full_clean(exclude=["client"])
    job.save()
    JobSkill.objects.filter(job=job).delete()
    JobSkill.objects.bulk_create(
        JobSkill(job=job, skill=need.skill, importance=need.importance, min_level=need.min_level)
        for need in {need.skill.pk: need for need in data.skills}.values()
    )
    JobLanguage.objects.filter(job=job).delete()
    JobLanguage.objects.bulk_create(
        JobLanguage(job=job, language=need.language, min_level=need.min_level)
        for need in {need.language.pk: need for need in data.languages}.values()
    )
    _add_attachments(job, data.attachments)
    essential = JobSkill.objects.filter(job=job, importance="essential")
    essential.update(job_essential_count=essential.count())
    _refresh_search(job, data.skills)


def _add_attachments(job: Job, uploads: Iterable[UploadedFile]) -> None:
    uploads = list(uploads)
    if job.attachments.count() + len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError(
            _("At most %(max)d attachments per job.") % {"max": MAX_ATTACHMENTS}, code="too_many"
        )
    checked = [(upload, evidence.check_upload(upload)) for upload in uploads]
    for upload, info in checked:
        JobAttachment(job=job).store(upload, info)


def _refresh_search(job: Job, skills: Iterable[SkillNeed]) -> None:
    labels = " ".join(f"{need.skill.label_en} {need.skill.label_fr}" for need in skills)
    job.search_text = normalise(f"{job.title} {job.description} {labels}")
    Job.objects.filter(pk=job.pk).update(search_text=job.search_text)
    if connection.vendor == "postgresql":
        Job.objects.filter(pk=job.pk).update(
            search_vector=SearchVector("title", weight="A", config=SEARCH_CONFIG)
            + SearchVector("description", weight="B", config=SEARCH_CONFIG)
            + SearchVector(Value(labels), weight="B", config=SEARCH_CONFIG)
        )


def _check_owner(job: Job, user: User) -> None:
    if job.client_id != user.pk:
        raise PermissionDenied(_("Only the client who posted this job can change it."))


def job_create(*, client: User, data: JobInput) -> Job:
    """A client writes a job; it starts as a draft."""
    if not client.is_client:
        raise PermissionDenied(_("Only clients can post jobs."))
    with transaction.atomic():
        job = Job(client=client, status=JobStatus.DRAFT)
        _apply(job, data)
    return job


def job_update(*, job: Job, by: User, data: JobInput) -> Job:
    """The client edits their job. A published job goes back to review (and its bidders hear
    of it): an edit could bring back what the moderator refused."""
    with transaction.atomic():
        job = locks.lock_job(job.pk)
        _check_owner(job, by)
        if job.status not in job_states.EDITABLE:
            raise ValidationError(
                _("A job that is “%(status)s” can no longer be edited.")
                % {"status": job.get_status_display()},
                code="not_editable",
            )
        was_published = job.status == JobStatus.PUBLISHED
        _apply(job, data)
        if was_published:
            job_states.transition(job, JobStatus.SUBMITTED)
            job.save()
            for bidder in job_bidders(job):
                notify(
                    user=bidder,
                    message=gettext_lazy(
                        "The job “%(title)s” you bid on was changed by the client; it is back "
                        "in review. Check your bid."
                    ),
                    params={"title": job.title},
                    url=reverse("job_detail", args=[job.pk]),
                )
    return job


def job_bidders(job: Job) -> list[User]:
    """Members with an active bid on this job."""
    return list(
        User.objects.filter(member_profile__bids__job=job, member_profile__bids__status="active")
    )


def job_submit(*, job: Job, by: User) -> Job:
    """Send a draft (or a rejected job, after changes) to the moderators."""
    with transaction.atomic():
        job = locks.lock_job(job.pk)
        _check_owner(job, by)
        problems = []
        if not job.skills.filter(importance="essential").exists():
            problems.append(_("Add at least one essential skill."))
        if not job.languages.exists():
            problems.append(_("Add at least one language you want to work in."))
        if job.closes_on < timezone.localdate():
            problems.append(_("The closing date for bids is in the past."))
        if problems:
            raise ValidationError(problems, code="incomplete")
        job_states.transition(job, JobStatus.SUBMITTED)
        job.save()
    return job


def job_approve(*, job: Job, moderator: User) -> Job:
    _check_moderator(moderator)
    with transaction.atomic():
        job = locks.lock_job(job.pk)
        job_states.transition(job, JobStatus.PUBLISHED)
        job.save()
        log_action(actor=moderator, action="approve_job", target=job)
        notify(
            user=job.client,
            message=gettext_lazy("Your job “%(title)s” is published: members can now bid."),
            params={"title": job.title},
            url=reverse("job_detail", args=[job.pk]),
        )
        job_id = job.pk
        transaction.on_commit(lambda: notify_job_matches.enqueue(job_id=job_id))
    return job


def job_reject(*, job: Job, moderator: User, reason: str) -> Job:
    _check_moderator(moderator)
    if not reason.strip():
        raise ValidationError(_("Give the client the reason, so they can fix it."), code="reason")
    with transaction.atomic():
        job = locks.lock_job(job.pk)
        job_states.transition(job, JobStatus.REJECTED)
        job.rejection_reason = reason.strip()
        job.save()
        log_action(actor=moderator, action="reject_job", target=job, reason=reason)
        notify(
            user=job.client,
            message=gettext_lazy(
                "Your job “%(title)s” was not published: %(reason)s. You can edit it and send "
                "it again."
            ),
            params={"title": job.title, "reason": reason.strip()},
            url=reverse("job_detail", args=[job.pk]),
        )
    return job


def job_cancel(*, job: Job, by: User, reason: str = "") -> Job:
    """The client cancels their job (or a moderator, when suspending the client)."""
    with transaction.atomic():
        job = locks.lock_job(job.pk)
        if not by.is_staff:
            _check_owner(job, by)
        job_states.transition(job, JobStatus.CANCELLED)
        job.save()
        for bidder in job_bidders(job):
            notify(
                user=bidder,
                message=gettext_lazy("The job “%(title)s” you bid on was cancelled."),
                params={"title": job.title},
                url=reverse("job_detail", args=[job.pk]),
            )
    return job


def jobs_expire(*, today: datetime.date | None = None) -> int:
    """Close published jobs whose closing date has passed. Idempotent: run it daily."""
    today = today or timezone.localdate()
    expired = 0
    due = Job.objects.filter(status=JobStatus.PUBLISHED, closes_on__lt=today).values_list(
        "pk", flat=True
    )
    for job_id in list(due):
        with transaction.atomic():
            job = locks.lock_job(job_id)
            if job.status != JobStatus.PUBLISHED or job.closes_on >= today:
                continue  # changed since we looked
            job_states.transition(job, JobStatus.EXPIRED)
            job.save()
            notify(
                user=job.client,
                message=gettext_lazy(
                    "Your job “%(title)s” reached its closing date and no longer takes bids."
                ),
                params={"title": job.title},
                url=reverse("job_detail", args=[job.pk]),
            )
            expired += 1
    return expired


def _check_moderator(user: User) -> None:
    if not (user.is_active and user.is_staff):
        raise PermissionDenied(_("Only moderators can do this."))
