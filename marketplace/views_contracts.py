"""Contract pages: the contract, its milestones and its history, for both sides and admins."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from marketplace import access
from marketplace.models import Contract


@login_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = access.access_contract(viewer=request.user, contract_id=contract_id)
    context = {
        "contract": contract,
        "milestones": contract.milestones.all(),
        "events": contract.events.select_related("actor", "milestone"),
        "is_client": contract.client_id == request.user.pk,
        "is_member": contract.member.user_id == request.user.pk,
    }
    return TemplateResponse(request, "marketplace/contract_detail.html", context)


@login_required
def my_contracts(request: HttpRequest) -> HttpResponse:
    contracts = (
        Contract.objects.filter(Q(client=request.user) | Q(member__user=request.user))
        .select_related("job", "member", "client")
        .order_by("-created_at")
    )
    return TemplateResponse(request, "marketplace/my_contracts.html", {"contracts": contracts})
