"""Contract pages: the contract, its milestones and its history, for both sides and admins.

Every contract is fetched through marketplace.access; every change goes through
marketplace.services.milestones. A refused step (wrong status, contract closed) comes back as a
message on the contract page; a form with errors is shown again with each error by its field."""

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace import access
from marketplace.forms_contracts import (
    ChangesRequestForm,
    ContractCancelForm,
    DeliveryForm,
    milestone_prefix,
)
from marketplace.milestone_states import IllegalTransition
from marketplace.models import Contract, ContractEvent, Delivery, Milestone
from marketplace.private_files import private_file_response
from marketplace.selectors.disputes import dispute_panel_for
from marketplace.services import milestones as milestone_services

# Each kind of ContractEvent in plain words; %(milestone)s is the milestone's title.
EVENT_SENTENCES = {
    "contract_created": gettext_lazy("Contract made: the client accepted the bid."),
    "funded": gettext_lazy("“%(milestone)s” is paid: the member can start."),
    "started": gettext_lazy("The member started “%(milestone)s”."),
    "delivered": gettext_lazy("The member delivered “%(milestone)s”."),
    "changes_requested": gettext_lazy("The client asked for changes to “%(milestone)s”."),
    "approved": gettext_lazy("The client approved “%(milestone)s”."),
    "approval_reminder": gettext_lazy(
        "The client was reminded that “%(milestone)s” will be approved automatically."
    ),
    "auto_approved": gettext_lazy(
        "“%(milestone)s” was approved automatically: the client did not answer in time."
    ),
    "released": gettext_lazy(
        "“%(milestone)s” is released: the member's part is theirs, the solidarity share goes "
        "to the fund."
    ),
    "settled": gettext_lazy(
        "The cooperative settled “%(milestone)s”: part or all of it goes back to the client."
    ),
    "payment_to_refund": gettext_lazy(
        "A payment arrived for “%(milestone)s”, which was no longer due: it is paid back."
    ),
    "disputed": gettext_lazy("A dispute was opened about “%(milestone)s”."),
    "contract_completed": gettext_lazy("Contract completed: every milestone is approved."),
    "contract_cancelled": gettext_lazy("Contract cancelled."),
}


@dataclass(frozen=True)
class TimelineEntry:
    event: ContractEvent
    sentence: str


@dataclass
class MilestoneRow:
    milestone: Milestone
    auto_approve_at: datetime.datetime | None
    deliver_form: DeliveryForm | None = None
    changes_form: ChangesRequestForm | None = None


def _sentence(event: ContractEvent) -> str:
    sentence = EVENT_SENTENCES.get(event.kind)
    if sentence is None:
        return event.kind
    return str(sentence) % {"milestone": event.milestone.title if event.milestone else ""}


def _render_contract(
    request: HttpRequest,
    contract: Contract,
    *,
    bound: dict[int, dict] | None = None,
    cancel_form: ContractCancelForm | None = None,
) -> TemplateResponse:
    """The contract page; `bound` holds the forms with errors of one milestone, to show again."""
    bound = bound or {}
    milestones = list(
        contract.milestones.prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.prefetch_related("files"))
        )
    )
    is_client = contract.client_id == request.user.pk
    is_member = contract.member.user_id == request.user.pk
    rows = []
    for milestone in milestones:
        forms = bound.get(milestone.pk, {})
        prefix = milestone_prefix(milestone.pk)
        row = MilestoneRow(milestone, milestone_services.auto_approve_at(milestone))
        if is_member and milestone.status == "in_progress":
            row.deliver_form = forms.get("deliver") or DeliveryForm(prefix=prefix)
        if is_client and milestone.status == "submitted":
            row.changes_form = forms.get("changes") or ChangesRequestForm(prefix=prefix)
        rows.append(row)
    events = list(contract.events.select_related("actor", "milestone"))
    can_cancel = (is_client or is_member) and milestone_services.contract_can_be_cancelled(
        contract, milestones
    )
    context = {
        "contract": contract,
        "milestones": milestones,
        "rows": rows,
        "events": events,
        "timeline": [TimelineEntry(event, _sentence(event)) for event in events],
        "is_client": is_client,
        "is_member": is_member,
        "is_staff_viewer": access.is_moderator(request.user),
        "awaiting_funding": any(m.status == "awaiting_funding" for m in milestones),
        "can_cancel": can_cancel,
        "cancel_form": (cancel_form or ContractCancelForm()) if can_cancel else None,
        "dispute_panel": dispute_panel_for(
            contract=contract, viewer=request.user, milestones=milestones
        ),
    }
    return TemplateResponse(request, "marketplace/contract_detail.html", context)


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = access.access_contract(viewer=request.user, contract_id=contract_id)
    return _render_contract(request, contract)


@login_required
def my_contracts(request: HttpRequest) -> HttpResponse:
    contracts = (
        Contract.objects.filter(Q(client=request.user) | Q(member__user=request.user))
        .select_related("job", "member", "client")
        .order_by("-created_at")
    )
    return TemplateResponse(request, "marketplace/my_contracts.html", {"contracts": contracts})


def _access_milestone(request: HttpRequest, contract_id: int, milestone_id: int):
    """The milestone through marketplace.access; a milestone of another contract than the one
    in the address is 'not found'."""
    milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
    if milestone.contract_id != contract_id:
        raise Http404
    return milestone.contract, milestone


def _refused(request: HttpRequest, contract: Contract, error: Exception) -> HttpResponse:
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, text)
    return redirect("contract_detail", contract_id=contract.pk)


@require_POST
@login_required
def milestone_start(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    contract, milestone = _access_milestone(request, contract_id, milestone_id)
    try:
        milestone_services.milestone_start(milestone=milestone, member=request.user)
    except (IllegalTransition, ValidationError) as error:
        return _refused(request, contract, error)
    messages.success(request, _("Work on this milestone has started."))
    return redirect("contract_detail", contract_id=contract.pk)


@require_POST
@login_required
def milestone_deliver(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    contract, milestone = _access_milestone(request, contract_id, milestone_id)
    form = DeliveryForm(request.POST, request.FILES, prefix=milestone_prefix(milestone.pk))
    if form.is_valid():
        try:
            milestone_services.milestone_deliver(
                milestone=milestone,
                member=request.user,
                message=form.cleaned_data["message"],
                links=form.cleaned_data["links"],
                files=form.cleaned_data["files"],
            )
        except IllegalTransition as error:
            return _refused(request, contract, error)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                return _refused(request, contract, error)
            form.add_error(None, error)
        else:
            messages.success(request, _("Your delivery is sent to the client."))
            return redirect("contract_detail", contract_id=contract.pk)
    return _render_contract(request, contract, bound={milestone.pk: {"deliver": form}})


@require_POST
@login_required
def milestone_approve(request: HttpRequest, contract_id: int, milestone_id: int) -> HttpResponse:
    contract, milestone = _access_milestone(request, contract_id, milestone_id)
    try:
        milestone_services.milestone_approve(milestone=milestone, client=request.user)
    except (IllegalTransition, ValidationError) as error:
        return _refused(request, contract, error)
    messages.success(request, _("Milestone approved. Thank you."))
    return redirect("contract_detail", contract_id=contract.pk)


@require_POST
@login_required
def milestone_request_changes(
    request: HttpRequest, contract_id: int, milestone_id: int
) -> HttpResponse:
    contract, milestone = _access_milestone(request, contract_id, milestone_id)
    form = ChangesRequestForm(request.POST, prefix=milestone_prefix(milestone.pk))
    if form.is_valid():
        try:
            milestone_services.milestone_request_changes(
                milestone=milestone, client=request.user, reason=form.cleaned_data["reason"]
            )
        except IllegalTransition as error:
            return _refused(request, contract, error)
        except ValidationError as error:
            if not hasattr(error, "error_dict"):
                return _refused(request, contract, error)
            form.add_error(None, error)
        else:
            messages.success(request, _("Your request for changes is sent to the member."))
            return redirect("contract_detail", contract_id=contract.pk)
    return _render_contract(request, contract, bound={milestone.pk: {"changes": form}})


@require_POST
@login_required
def contract_cancel(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = access.access_contract(viewer=request.user, contract_id=contract_id)
    form = ContractCancelForm(request.POST)
    if form.is_valid():
        try:
            milestone_services.contract_cancel(
                contract=contract, by=request.user, reason=form.cleaned_data["reason"]
            )
        except (IllegalTransition, ValidationError) as error:
            if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
                form.add_error(None, error)
                return _render_contract(request, contract, cancel_form=form)
            return _refused(request, contract, error)
        messages.success(request, _("The contract is cancelled."))
        return redirect("contract_detail", contract_id=contract.pk)
    if not milestone_services.contract_can_be_cancelled(contract, contract.milestones.all()):
        return _refused(
            request,
            contract,
            ValidationError(_("This contract can no longer be cancelled from this page.")),
        )
    return _render_contract(request, contract, cancel_form=form)


@login_required
def delivery_file(request: HttpRequest, file_id: int) -> HttpResponse:
    stored = access.access_delivery_file(viewer=request.user, file_id=file_id)
    return private_file_response(stored)
