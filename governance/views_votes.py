"""Vote pages: the public record of decisions, the members' list of proposals, one proposal
(its result once closed; the vote, the signatures or the scheduling before), and the forms.

Every proposal is fetched through governance.access.access_proposal; every change goes through
governance.services; a refusal of a service comes back next to its field. No page ever shows a
member's choice: after voting, the page says that they voted, not what."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from governance import selectors, services
from governance.access import (
    access_proposal,
    can_see_unpublished_proposals,
    staff_required,
)
from governance.forms import ProposalForm, ScheduleForm, VoteForm, add_service_errors
from governance.models import Proposal, ProposalStatus
from marketplace.access import is_moderator


def decisions(request: HttpRequest) -> HttpResponse:
    """Public: every closed proposal with its full record."""
    return TemplateResponse(
        request, "governance/decisions.html", {"proposals": list(selectors.decisions())}
    )


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    if not can_see_unpublished_proposals(request.user):
        raise PermissionDenied(_("Votes are for the cooperative's members."))
    lists = selectors.proposals_for(request.user)
    return TemplateResponse(
        request,
        "governance/proposal_list.html",
        {"lists": lists, "is_staff_viewer": is_moderator(request.user)},
    )


def _render_proposal(request: HttpRequest, proposal: Proposal, **bound) -> TemplateResponse:
    page = selectors.proposal_page(proposal=proposal, viewer=request.user)
    staff = is_moderator(request.user)
    refusal = selectors.vote_refusal(proposal=proposal, viewer=request.user, page=page)
    can_vote = refusal is None
    context = {
        "page": page,
        "proposal": proposal,
        "options": page.options,
        "is_staff_viewer": staff,
        # Never bound to the member's ballot: the form starts blank every time.
        "vote_form": (bound.get("vote") or VoteForm(options=page.options)) if can_vote else None,
        "schedule_form": (
            bound.get("schedule")
            or ScheduleForm(
                initial={
                    "opens_at": timezone.localtime(proposal.opens_at),
                    "closes_at": timezone.localtime(proposal.closes_at),
                    "quorum_percent": proposal.quorum_percent,
                }
            )
        )
        if staff and proposal.status in (ProposalStatus.DRAFT, ProposalStatus.SCHEDULED)
        else None,
        "vote_refusal": refusal if proposal.status == ProposalStatus.OPEN else None,
    }
    return TemplateResponse(request, "governance/proposal_detail.html", context)


def proposal_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    try:
        proposal = access_proposal(viewer=request.user, proposal_id=proposal_id)
    except Http404:
        if request.user.is_authenticated:
            raise
        # A member following the link of a notice while logged out: log in first (sent for
        # any number, existing or not, so it says nothing about which exist).
        return redirect_to_login(request.get_full_path())
    return _render_proposal(request, proposal)


@login_required
def proposal_create(request: HttpRequest) -> HttpResponse:
    if not can_see_unpublished_proposals(request.user):
        raise PermissionDenied(
            _("Only cooperative members and admins can put a question to a vote.")
        )
    form = ProposalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            proposal = services.proposal_create(
                author=request.user,
                data=services.ProposalInput(
                    kind=data["kind"],
                    question=data["question"],
                    explanation=data["explanation"],
                    opens_at=data["opens_at"],
                    closes_at=data["closes_at"],
                    quorum_percent=data["quorum_percent"],
                    options=data["option_values"],
                ),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if proposal.status == ProposalStatus.DRAFT:
                messages.success(
                    request,
                    _(
                        "Your proposal is saved as a draft: it opens once %(count)d other "
                        "members have signed it."
                    )
                    % {"count": selectors.governance_setting("INITIATIVE_SIGNATURES")},
                )
            else:
                messages.success(request, _("The vote is scheduled."))
            return redirect("governance:proposal_detail", proposal_id=proposal.pk)
    low, high = services.rate_bounds()
    context = {"form": form, "rate_low": low / 100, "rate_high": high / 100}
    return TemplateResponse(request, "governance/proposal_form.html", context)


@require_POST
@login_required
def proposal_vote(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access_proposal(viewer=request.user, proposal_id=proposal_id)
    page = selectors.proposal_page(proposal=proposal, viewer=request.user)
    refusal = selectors.vote_refusal(proposal=proposal, viewer=request.user, page=page)
    if refusal:
        raise PermissionDenied(refusal)
    form = VoteForm(request.POST, options=page.options)
    if form.is_valid():
        try:
            services.ballot_cast(
                proposal=proposal, voter=request.user, option_id=form.cleaned_data["option"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Your vote is recorded. You can change it until %(closes)s.")
                % {"closes": timezone.localtime(proposal.closes_at).strftime("%Y-%m-%d %H:%M")},
            )
            return redirect("governance:proposal_detail", proposal_id=proposal.pk)
    # The refused form is shown again with its errors but without the choice: no page ever
    # echoes a vote.
    blank = VoteForm(options=page.options)
    blank._errors = form.errors
    return _render_proposal(request, proposal, vote=blank)


@require_POST
@login_required
def proposal_sign(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access_proposal(viewer=request.user, proposal_id=proposal_id)
    try:
        services.proposal_sign(proposal=proposal, signer=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your signature is recorded."))
    return redirect("governance:proposal_detail", proposal_id=proposal.pk)


@require_POST
@staff_required
def proposal_schedule(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access_proposal(viewer=request.user, proposal_id=proposal_id)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_schedule(proposal=proposal, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The vote is scheduled."))
            return redirect("governance:proposal_detail", proposal_id=proposal.pk)
    return _render_proposal(request, proposal, schedule=form)


@require_POST
@staff_required
def proposal_cancel(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = access_proposal(viewer=request.user, proposal_id=proposal_id)
    try:
        services.proposal_cancel(proposal=proposal, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The proposal is cancelled."))
    return redirect("governance:proposal_detail", proposal_id=proposal.pk)
