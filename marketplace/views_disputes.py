"""Dispute pages: open a dispute from the contract page, the dispute itself (for its two sides
and staff) with its forms, the staff queue by deadline with the statistics.

Every dispute is fetched through marketplace.access.access_dispute (anybody else: 404); every
change goes through marketplace.services.disputes; a form refused by a service is shown again
with the error next to its field."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace import access
from marketplace.forms_disputes import (
    DisputeAnswerForm,
    DisputeDecisionForm,
    DisputeEvidenceForm,
    DisputeOpenForm,
    DisputeProposalForm,
)
from marketplace.models import Dispute, DisputeDecision, DisputeProposal
from marketplace.private_files import private_file_response
from marketplace.selectors import disputes as selectors
from marketplace.services import disputes as services
from marketplace.views_contracts import EVENT_SENTENCES

# Each kind of DisputeEvent in plain words.
DISPUTE_EVENT_SENTENCES = {
    "opened": gettext_lazy("Dispute opened; the milestone's payment is frozen."),
    "answered": gettext_lazy("The other side answered."),
    "evidence_added": gettext_lazy("Evidence added."),
    "proposed": gettext_lazy("Settlement proposed (to the member / back to the client)."),
    "settled": gettext_lazy("Settled by agreement (to the member / back to the client)."),
    "decided": gettext_lazy("Decided by the cooperative (to the member / back to the client)."),
    "corrected": gettext_lazy(
        "Decision corrected by another admin (to the member / back to the client)."
    ),
    "answer_overdue": gettext_lazy("No answer in time: the admins were told."),
    "evidence_closed": gettext_lazy("Evidence time over: the admins were told."),
}


def _timeline(events, sentences) -> list[tuple]:
    return [
        (
            event,
            str(sentences.get(event.kind, event.kind))
            % {"milestone": getattr(getattr(event, "milestone", None), "title", "")},
        )
        for event in events
    ]


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not access.is_moderator(request.user):
            raise PermissionDenied(_("This page is for the cooperative's admins."))
        return view(request, *args, **kwargs)

    return wrapper


def _refused(form, error: ValidationError) -> None:
    """A service's refusal, next to the field it names (or above the form)."""
    form.add_error(None, error)


def _render_dispute(request: HttpRequest, dispute: Dispute, **bound) -> TemplateResponse:
    """The dispute page; ``bound`` holds a form with errors, to show again."""
    page = selectors.dispute_page(dispute=dispute, viewer=request.user)
    flags = page.flags
    latest = page.latest_decision
    context = {
        "page": page,
        "dispute": dispute,
        "contract": dispute.contract,
        "milestone": dispute.milestone,
        "next_deadline": selectors.dispute_next_deadline(dispute),
        "answer_form": (bound.get("answer") or DisputeAnswerForm())
        if flags["can_answer"]
        else None,
        "evidence_form": (bound.get("evidence") or DisputeEvidenceForm())
        if flags["can_add_evidence"]
        else None,
        "proposal_form": (bound.get("proposal") or DisputeProposalForm())
        if flags["can_propose"]
        else None,
        "decision_form": (bound.get("decision") or DisputeDecisionForm())
        if flags["can_decide"]
        else None,
        "correction_form": (bound.get("correction") or DisputeDecisionForm(prefix="correction"))
        if flags["can_correct"]
        else None,
        "latest_decision": latest,
        "timeline": _timeline(page.events, DISPUTE_EVENT_SENTENCES),
        "contract_timeline": _timeline(page.contract_events, EVENT_SENTENCES),
    }
    return TemplateResponse(request, "marketplace/disputes/detail.html", context)


@login_required
def dispute_open(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
    if milestone.contract_id != contract_id:
        raise Http404
    contract = milestone.contract
    if selectors.dispute_side_of(contract, request.user) is None:
        raise PermissionDenied(
            _("Only the client and the member of this contract can open a dispute.")
        )
    existing = selectors.dispute_open_for_milestone(milestone)
    if existing is not None:
        return redirect("dispute_detail", dispute_id=existing.pk)
    form = DisputeOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute = services.dispute_open(
                milestone=milestone,
                by=request.user,
                reason=form.cleaned_data["reason"],
                account=form.cleaned_data["account"],
                member_cents=form.member_cents(),
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(
                request,
                _("The dispute is open: the payment of this milestone is frozen until it ends."),
            )
            return redirect("dispute_detail", dispute_id=dispute.pk)
    context = {"form": form, "contract": contract, "milestone": milestone}
    return TemplateResponse(request, "marketplace/disputes/open.html", context)


@login_required
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    return _render_dispute(request, dispute)


@require_POST
@login_required
def dispute_answer(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    form = DisputeAnswerForm(request.POST)
    if form.is_valid():
        try:
            services.dispute_answer(
                dispute=dispute,
                by=request.user,
                answer=form.cleaned_data["answer"],
                member_cents=form.member_cents(),
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Your answer is recorded."))
            return redirect("dispute_detail", dispute_id=dispute.pk)
    return _render_dispute(request, dispute, answer=form)


@require_POST
@login_required
def dispute_evidence(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    form = DisputeEvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.dispute_add_evidence(
                dispute=dispute,
                by=request.user,
                text=form.cleaned_data["text"],
                links=form.cleaned_data["links"],
                files=form.cleaned_data["files"],
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Your evidence is added."))
            return redirect("dispute_detail", dispute_id=dispute.pk)
    return _render_dispute(request, dispute, evidence=form)


@require_POST
@login_required
def dispute_propose(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    form = DisputeProposalForm(request.POST)
    if form.is_valid():
        try:
            services.dispute_propose(
                dispute=dispute,
                by=request.user,
                member_cents=form.member_cents(),
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("Your proposal is sent to the other side."))
            return redirect("dispute_detail", dispute_id=dispute.pk)
    return _render_dispute(request, dispute, proposal=form)


@require_POST
@login_required
def dispute_accept(request: HttpRequest, dispute_id: int, proposal_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    proposal = get_object_or_404(DisputeProposal, pk=proposal_id, dispute=dispute)
    try:
        services.dispute_accept_proposal(proposal=proposal, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The dispute is settled by agreement."))
    return redirect("dispute_detail", dispute_id=dispute.pk)


@require_POST
@login_required
def dispute_decide(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    form = DisputeDecisionForm(request.POST)
    if form.is_valid():
        member_cents, client_cents = form.amounts_cents()
        try:
            services.dispute_decide(
                dispute=dispute,
                admin=request.user,
                outcome=form.cleaned_data["outcome"],
                reasoning=form.cleaned_data["reasoning"],
                member_cents=member_cents,
                client_cents=client_cents,
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("The decision is recorded and the money moved."))
            return redirect("dispute_detail", dispute_id=dispute.pk)
    return _render_dispute(request, dispute, decision=form)


@require_POST
@login_required
def dispute_correct(request: HttpRequest, dispute_id: int, decision_id: int) -> HttpResponse:
    dispute = access.access_dispute(viewer=request.user, dispute_id=dispute_id)
    decision = get_object_or_404(DisputeDecision, pk=decision_id, dispute=dispute)
    form = DisputeDecisionForm(request.POST, prefix="correction")
    if form.is_valid():
        member_cents, client_cents = form.amounts_cents()
        try:
            services.dispute_correct(
                decision=decision,
                admin=request.user,
                outcome=form.cleaned_data["outcome"],
                reasoning=form.cleaned_data["reasoning"],
                member_cents=member_cents,
                client_cents=client_cents,
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, _("The correction is recorded and the difference moved."))
            return redirect("dispute_detail", dispute_id=dispute.pk)
    return _render_dispute(request, dispute, correction=form)


@login_required
def dispute_evidence_file(request: HttpRequest, file_id: int) -> HttpResponse:
    stored = access.access_dispute_evidence_file(viewer=request.user, file_id=file_id)
    return private_file_response(stored)


@staff_required
def dispute_queue(request: HttpRequest) -> HttpResponse:
    context = {"disputes": selectors.disputes_queue(), "stats": selectors.dispute_stats()}
    return TemplateResponse(request, "marketplace/disputes/queue.html", context)
