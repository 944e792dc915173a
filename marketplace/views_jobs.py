"""Pages of a job for its client (write, edit, submit, cancel) and for everybody (detail)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace import access, job_states
from marketplace.forms_jobs import (
    JobForm,
    JobLanguageFormSet,
    JobSkillFormSet,
    formset_initial,
    job_input,
)
from marketplace.models import Job, JobLanguage, JobSkill, JobStatus, Notification, Role
from marketplace.page_cache import cache_anonymous_page
from marketplace.private_files import private_file_response
from marketplace.services import jobs as job_services
from marketplace.services.notifications import notifications_mark_read


def _job_forms(request: HttpRequest, job: Job | None):
    data = request.POST if request.method == "POST" else None
    skills_initial, languages_initial = formset_initial(job)
    form = JobForm(
        data,
        request.FILES or None,
        initial=JobForm.initial_for(job)
        if job
        else {"closes_on": Job._meta.get_field("closes_on").default()},
    )
    skills = JobSkillFormSet(data, prefix="skills", initial=skills_initial)
    languages = JobLanguageFormSet(data, prefix="languages", initial=languages_initial)
    return form, skills, languages


def _render_form(request, form, skills, languages, job=None, status=200):
    context = {"form": form, "skill_forms": skills, "language_forms": languages, "job": job}
    return TemplateResponse(request, "marketplace/job_form.html", context, status=status)


@access.role_required(Role.CLIENT)
def job_create(request: HttpRequest) -> HttpResponse:
    form, skills, languages = _job_forms(request, None)
    if request.method == "POST" and all([form.is_valid(), skills.is_valid(), languages.is_valid()]):
        try:
            job = job_services.job_create(
                client=request.user, data=job_input(form, skills, languages)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if "submit" in request.POST:
                return _submit_and_redirect(request, job)
            messages.success(request, _("Your draft is saved."))
            return redirect("job_detail", job_id=job.pk)
    return _render_form(request, form, skills, languages)


@access.role_required(Role.CLIENT)
def job_edit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access.access_own_job(user=request.user, job_id=job_id)
    if job.status not in job_states.EDITABLE:
        messages.error(request, _("This job can no longer be edited."))
        return redirect("job_detail", job_id=job.pk)
    form, skills, languages = _job_forms(request, job)
    if request.method == "POST" and all([form.is_valid(), skills.is_valid(), languages.is_valid()]):
        was_published = job.status == JobStatus.PUBLISHED
        try:
            job = job_services.job_update(
                job=job, by=request.user, data=job_input(form, skills, languages)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if "submit" in request.POST and job.status in (JobStatus.DRAFT, JobStatus.REJECTED):
                return _submit_and_redirect(request, job)
            if was_published:
                messages.info(request, _("Your changes are saved; the job goes back to review."))
            else:
                messages.success(request, _("Your changes are saved."))
            return redirect("job_detail", job_id=job.pk)
    return _render_form(request, form, skills, languages, job=job)


def _submit_and_redirect(request: HttpRequest, job: Job) -> HttpResponse:
    try:
        job_services.job_submit(job=job, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except job_states.IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your job is sent to the cooperative for review."))
    return redirect("job_detail", job_id=job.pk)


@require_POST
@access.role_required(Role.CLIENT)
def job_submit(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access.access_own_job(user=request.user, job_id=job_id)
    return _submit_and_redirect(request, job)


@require_POST
@access.role_required(Role.CLIENT)
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access.access_own_job(user=request.user, job_id=job_id)
    try:
        job_services.job_cancel(job=job, by=request.user)
    except job_states.IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your job is cancelled."))
    return redirect("job_detail", job_id=job.pk)


@cache_anonymous_page
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    # Four queries: the job with its client, then its skills, languages (each joined to its
    # reference row) and attachments.
    queryset = Job.objects.select_related("client__client_profile").prefetch_related(
        Prefetch("skills", queryset=JobSkill.objects.select_related("skill")),
        Prefetch("languages", queryset=JobLanguage.objects.select_related("language")),
        "attachments",
    )
    job = access.access_job(viewer=request.user, job_id=job_id, queryset=queryset)
    is_owner = request.user.is_authenticated and job.client_id == request.user.pk
    context = {**_matching_context(request, job, is_owner)}
    context |= {
        "job": job,
        "is_owner": is_owner,
        "can_edit": is_owner and job.status in job_states.EDITABLE,
        "can_submit": is_owner
        and job_states.can_transition(job, JobStatus.SUBMITTED)
        and job.status != JobStatus.PUBLISHED,
        "can_cancel": is_owner and job_states.can_transition(job, JobStatus.CANCELLED),
        "can_see_attachments": request.user.is_authenticated
        and (is_owner or request.user.is_member or request.user.is_staff),
    }
    return TemplateResponse(request, "marketplace/job_detail.html", context)


def _matching_context(request: HttpRequest, job: Job, is_owner: bool) -> dict:
    """For the client: the recommended members and the invitations. For a member: how well
    they fit. The ranking suggests; the client chooses."""
    from matching import explain
    from matching.candidates import rank_members_for_job, score_member_for_job
    from matching.models import Exposure, Invitation
    from matching.recommendations import exposure_record

    context: dict = {}
    if is_owner and job.status == JobStatus.PUBLISHED:
        ranked = rank_members_for_job(job, limit=10)
        exposure_record(job=job, ranked=ranked, context=Exposure.Context.CLIENT_LIST)
        explainer = explain.Explainer()
        invited = set(Invitation.objects.filter(job=job).values_list("member_id", flat=True))
        context["recommended"] = [
            {
                "member_id": r.candidate.member_id,
                "name": r.candidate.name,
                "score": r.score,
                "why": explainer.text(r),
                "invited": r.candidate.member_id in invited,
            }
            for r in ranked
        ]
    if is_owner:
        context["invitations"] = Invitation.objects.filter(job=job).select_related("member")
        context["bid_count"] = job.bids.filter(status="active").count()
        context["contract"] = (
            getattr(job, "contract", None) if job.status != JobStatus.PUBLISHED else None
        )
    elif (
        request.user.is_authenticated
        and request.user.is_member
        and job.status == JobStatus.PUBLISHED
    ):
        member = getattr(request.user, "member_profile", None)
        if member is not None:
            ranked = score_member_for_job(member, job)
            context["my_fit"] = (
                {"score": ranked.score, "why": explain.Explainer().text(ranked)} if ranked else None
            )
            context["my_fit_checked"] = True
            context["invited_me"] = Invitation.objects.filter(job=job, member=member).exists()
            context["my_bid"] = job.bids.filter(member=member).exclude(status="withdrawn").first()
    return context


@require_POST
@access.role_required(Role.CLIENT)
def job_invite(request: HttpRequest, job_id: int, member_id: int) -> HttpResponse:
    from matching.recommendations import invitation_create

    job = access.access_own_job(user=request.user, job_id=job_id)
    member = access.access_public_member_profile(viewer=request.user, member_id=member_id)
    try:
        invitation_create(job=job, member=member, client=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s is invited to bid.") % {"name": member.display_name})
    return redirect("job_detail", job_id=job.pk)


@login_required
def job_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = access.access_job_attachment(viewer=request.user, attachment_id=attachment_id)
    return private_file_response(attachment)


@access.role_required(Role.CLIENT)
def client_jobs(request: HttpRequest) -> HttpResponse:
    """The client's dashboard of jobs, by status."""
    jobs = list(
        Job.objects.filter(client=request.user)
        .only("pk", "title", "status", "closes_on", "updated_at", "is_hidden")
        .annotate(active_bids=Count("bids", filter=Q(bids__status="active")))
        .order_by("status", "-updated_at")
    )
    counts = dict(
        Job.objects.filter(client=request.user)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    groups = [
        (status, label, [job for job in jobs if job.status == status])
        for status, label in JobStatus.choices
        if counts.get(status)
    ]
    return TemplateResponse(
        request, "marketplace/client_jobs.html", {"groups": groups, "total": len(jobs)}
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        notifications_mark_read(user=request.user)
        return redirect("notifications")
    items = Notification.objects.filter(user=request.user)[:100]
    unread = Notification.objects.filter(Q(user=request.user) & Q(read_at__isnull=True)).count()
    return TemplateResponse(
        request, "marketplace/notifications.html", {"items": items, "unread": unread}
    )


@access.role_required(Role.MEMBER)
def member_jobs(request: HttpRequest) -> HttpResponse:
    """Jobs that fit this member, with the reasons; and the invitations they received."""
    from matching import explain
    from matching.candidates import rank_jobs_for_member
    from matching.models import Exposure, Invitation

    member = access.access_member_profile_of(request.user)
    explainer = explain.Explainer()
    pairs = rank_jobs_for_member(member, limit=20)
    Exposure.objects.bulk_create(
        [
            Exposure(job=job, member=member, context=Exposure.Context.MEMBER_LIST, rank=position)
            for position, (job, _ranked) in enumerate(pairs, start=1)
        ],
        ignore_conflicts=True,
    )
    context = {
        "fits": [(job, ranked.score, explainer.text(ranked)) for job, ranked in pairs],
        "invitations": Invitation.objects.filter(
            member=member, job__status=JobStatus.PUBLISHED
        ).select_related("job"),
    }
    return TemplateResponse(request, "marketplace/member_jobs.html", context)
