"""Moderation pages (admins): the queue of jobs and reports, decisions, suspensions, the log."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from marketplace import access, job_states
from marketplace.forms_moderation import JobDecisionForm, ReasonForm, ReportForm
from marketplace.models import Job, MemberProfile, Report, User
from marketplace.selectors import moderation as selectors
from marketplace.services import jobs as job_services
from marketplace.services import moderation as services


def moderator_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not access.is_moderator(request.user):
            raise PermissionDenied(_("This page is for the cooperative's moderators."))
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def report_new(request: HttpRequest, kind: str, object_id: int) -> HttpResponse:
    model = selectors.reportable(kind)
    if model is None:
        raise Http404
    if model is Job:
        target = access.access_job(viewer=request.user, job_id=object_id)
    elif model is MemberProfile:
        target = access.access_public_member_profile(viewer=request.user, member_id=object_id)
    else:
        target = access.access_bid(viewer=request.user, bid_id=object_id)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                reporter=request.user,
                target=target,
                reason=form.cleaned_data["reason"],
                details=form.cleaned_data["details"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Thank you: the moderators will look at your report."))
            if model is Job:
                return redirect("job_detail", job_id=target.pk)
            if model is MemberProfile:
                return redirect("member_profile_detail", member_id=target.pk)
            return redirect("bid_detail", bid_id=target.pk)
    return TemplateResponse(
        request, "marketplace/report_form.html", {"form": form, "target": target, "kind": kind}
    )


QUEUE_SHOWN = 100


@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    """The oldest waiting first, at most QUEUE_SHOWN of each (a backlog of thousands would
    otherwise be one page of thousands of rows), and how many wait in all."""
    jobs, reports = selectors.jobs_to_review(), selectors.open_reports()
    context = {
        "jobs": list(jobs[:QUEUE_SHOWN]),
        "jobs_waiting": jobs.count(),
        "reports": list(reports[:QUEUE_SHOWN]),
        "reports_waiting": reports.count(),
    }
    return TemplateResponse(request, "marketplace/moderation_queue.html", context)


@moderator_required
def job_review(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(
        Job.objects.select_related("client").prefetch_related(
            "skills__skill", "languages__language", "attachments"
        ),
        pk=job_id,
    )
    form = JobDecisionForm(request.POST or None)
    hide_form = ReasonForm(request.POST or None, prefix="hide")
    if request.method == "POST" and "hide-reason" in request.POST:
        if hide_form.is_valid():
            services.content_set_hidden(
                target=job,
                moderator=request.user,
                hidden=not job.is_hidden,
                reason=hide_form.cleaned_data["reason"],
            )
            messages.success(request, _("Done."))
            return redirect("moderation_job", job_id=job.pk)
    elif request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                job_services.job_approve(job=job, moderator=request.user)
                messages.success(request, _("The job is published."))
            else:
                job_services.job_reject(
                    job=job, moderator=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("The job is rejected; the client is told why."))
        except (ValidationError, job_states.IllegalTransition) as error:
            form.add_error(
                None, str(error) if isinstance(error, job_states.IllegalTransition) else error
            )
        else:
            return redirect("moderation_queue")
    context = {
        "job": job,
        "form": form,
        "hide_form": hide_form,
        "reports": selectors.reports_about(job),
        "can_decide": job.status == "submitted",
    }
    return TemplateResponse(request, "marketplace/moderation_job.html", context)


@moderator_required
def report_review(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(
        Report.objects.select_related("reporter", "target_type"), pk=report_id
    )
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_dismiss(
                report=report, moderator=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The report is dismissed."))
            return redirect("moderation_queue")
    target = report.target
    context = {
        "report": report,
        "target": target,
        "form": form,
        "target_user": _user_behind(target),
    }
    return TemplateResponse(request, "marketplace/moderation_report.html", context)


def _user_behind(target) -> User | None:
    from marketplace.models import Bid

    if isinstance(target, Job):
        return target.client
    if isinstance(target, Bid):
        return target.member.user
    if isinstance(target, MemberProfile):
        return target.user
    return None


@moderator_required
def user_review(request: HttpRequest, user_id: int) -> HttpResponse:
    """Suspend or reinstate an account; hide or show a member profile."""
    person = get_object_or_404(User, pk=user_id)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        action = request.POST.get("action")
        try:
            if action == "suspend":
                services.user_suspend(user=person, moderator=request.user, reason=reason)
                messages.success(request, _("The account is suspended."))
            elif action == "reinstate":
                services.user_reinstate(user=person, moderator=request.user, reason=reason)
                messages.success(request, _("The account is active again."))
            elif action in ("hide_profile", "show_profile") and hasattr(person, "member_profile"):
                services.content_set_hidden(
                    target=person.member_profile,
                    moderator=request.user,
                    hidden=action == "hide_profile",
                    reason=reason,
                )
                messages.success(request, _("Done."))
            else:
                raise Http404
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("moderation_user", user_id=person.pk)
    context = {
        "person": person,
        "form": form,
        "profile": getattr(person, "member_profile", None),
        "open_jobs": Job.objects.filter(client=person, status__in=job_states.OPEN).count(),
    }
    return TemplateResponse(request, "marketplace/moderation_user.html", context)


@moderator_required
def log(request: HttpRequest) -> HttpResponse:
    entries = selectors.moderation_log()[:200]
    return TemplateResponse(request, "marketplace/moderation_log.html", {"entries": entries})


@moderator_required
def job_ranking(request: HttpRequest, job_id: int) -> HttpResponse:
    """Admins see the full breakdown of a ranking: every eligible member, every component."""
    from matching import explain
    from matching.candidates import rank_members_for_job

    job = get_object_or_404(Job, pk=job_id)
    explainer = explain.Explainer()
    rows = [
        {
            "position": position,
            "ranked": ranked,
            "why": explainer.text(ranked),
        }
        for position, ranked in enumerate(rank_members_for_job(job, limit=200), start=1)
    ]
    components = ["essential", "nice", "language", "track_record", "availability", "newcomer_boost"]
    return TemplateResponse(
        request,
        "marketplace/moderation_job_ranking.html",
        {"job": job, "rows": rows, "components": components},
    )
