"""JSON API of bids and contracts: a member bids, edits and withdraws; the job's client reads the
bids and accepts one; both sides read their contracts and milestones.

The same rules as the pages: every object comes through marketplace.access (404 for what the
viewer may not see), every change through one service (marketplace.services.bids). Errors:
400 invalid input, 403 not yours to do, 404 not found, 409 already decided."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, permissions, serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import access
from marketplace.apis import (
    Conflict,
    ErrorOutput,
    ServiceErrorsMixin,
    complete_items,
    format_euros,
)
from marketplace.apis_schema import EurosField, StrictCursorPagination, text_field
from marketplace.forms_jobs import to_cents
from marketplace.milestone_states import IllegalTransition as IllegalMilestoneTransition
from marketplace.models import (
    Bid,
    BidMilestone,
    BidStatus,
    Contract,
    ContractStatus,
    MemberProfile,
    Milestone,
    MilestoneStatus,
    Role,
    User,
)
from marketplace.services import bids as bid_services
from marketplace.services import milestones as milestone_services
from marketplace.services.bids import AlreadyDecided, BidInput, MilestoneInput

# --- Errors and permissions ---------------------------------------------------------------------


class ContractErrorsMixin(ServiceErrorsMixin):
    """As for jobs, plus 409 for AlreadyDecided (another accept won, the bid was withdrawn) and
    for a milestone status that does not allow the change. AlreadyDecided is a ValidationError,
    so it is caught before the generic 400."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, AlreadyDecided):
            exc = Conflict(" ".join(exc.messages))
        elif isinstance(exc, IllegalMilestoneTransition):
            exc = Conflict(str(exc))
        return super().handle_exception(exc)


class IsMember(permissions.BasePermission):
    message = gettext_lazy("Only members of the cooperative can do this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.is_authenticated and request.user.has_role(Role.MEMBER)


def own_member_profile(user: User) -> MemberProfile:
    """The viewer's own member profile; somebody without one may not act as a member."""
    profile = MemberProfile.objects.filter(user=user).first() if user.is_authenticated else None
    if profile is None:
        raise PermissionDenied(_("Only members of the cooperative can do this."))
    return profile


# --- Output -------------------------------------------------------------------------------------


class MemberSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class BidMilestoneOutput(serializers.Serializer):
    position = serializers.IntegerField()
    title = serializers.CharField()
    amount_cents = serializers.IntegerField()
    due_date = serializers.DateField()


class BidOutput(serializers.Serializer):
    """A bid as its member and the job's client see it. The contact details found in the message
    never leave the server; the shortlist mark is the client's own (dropped for the member)."""

    CLIENT_ONLY_FIELDS = ("shortlisted",)

    id = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id")
    member = MemberSummaryOutput()
    status = serializers.ChoiceField(choices=BidStatus.choices)
    price_cents = serializers.IntegerField()
    price = serializers.SerializerMethodField(help_text="The price in euros, written for people.")
    hourly_rate_cents = serializers.IntegerField(allow_null=True)
    estimated_hours = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField()
    cover_message = serializers.CharField()
    milestones = BidMilestoneOutput(many=True)
    shortlisted = serializers.BooleanField(
        required=False, help_text="Marked by the client: for the job's client only."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_price(self, bid: Bid) -> str:
        return _("%(amount)s €") % {"amount": format_euros(bid.price_cents)}

    def to_representation(self, bid: Bid) -> dict:
        data = super().to_representation(bid)
        request = self.context.get("request")
        viewer = request.user if request is not None else None
        is_client_side = viewer is not None and (
            (viewer.is_authenticated and bid.job.client_id == viewer.pk)
            or access.is_moderator(viewer)
        )
        if not is_client_side:
            for name in self.CLIENT_ONLY_FIELDS:
                data.pop(name, None)
        return data


def bids_for_output() -> QuerySet[Bid]:
    """Bids with what BidOutput reads: two queries whatever their number."""
    return Bid.objects.select_related("job", "member").prefetch_related(
        Prefetch("milestones", queryset=BidMilestone.objects.order_by("position"))
    )


def bid_response(request: Request, bid: Bid, status_code: int = status.HTTP_200_OK) -> Response:
    bid = bids_for_output().get(pk=bid.pk)
    return Response(BidOutput(bid, context={"request": request}).data, status=status_code)


class MilestoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    title = serializers.CharField()
    amount_cents = serializers.IntegerField()
    due_date = serializers.DateField()
    status = serializers.ChoiceField(choices=MilestoneStatus.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)


class ContractOutput(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id")
    job_title = serializers.CharField(source="job.title")
    bid = serializers.IntegerField(source="bid_id")
    client_name = serializers.SerializerMethodField(help_text="The client's first name.")
    member = MemberSummaryOutput()
    status = serializers.ChoiceField(choices=ContractStatus.choices)
    total_cents = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    milestones = MilestoneOutput(many=True)
    url = serializers.SerializerMethodField(help_text="The contract's page on the site.")

    def get_client_name(self, contract: Contract) -> str:
        return contract.client.get_short_name()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, contract: Contract) -> str:
        path = reverse("contract_detail", args=[contract.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def contracts_for_output() -> QuerySet[Contract]:
    """Contracts with what ContractOutput reads: two queries whatever their number."""
    return Contract.objects.select_related("job", "client", "member").prefetch_related(
        Prefetch("milestones", queryset=Milestone.objects.order_by("position"))
    )


# --- Input --------------------------------------------------------------------------------------


def euros_input(**kwargs) -> EurosField:
    return EurosField(help_text="Euros, excluding VAT, as a decimal string: “800.00”.", **kwargs)


class BidMilestoneInput(serializers.Serializer):
    title = text_field(max_length=120)
    amount = euros_input()
    due_date = serializers.DateField()


class BidWriteInput(serializers.Serializer):
    """What a member offers. On PATCH, fields not given keep the bid's values (milestones too)."""

    price = euros_input()
    hourly_rate = euros_input(required=False, allow_null=True, default=None)
    estimated_hours = serializers.IntegerField(
        min_value=1, max_value=2000, required=False, allow_null=True, default=None
    )
    start_date = serializers.DateField()
    cover_message = text_field(max_length=5000)
    milestones = BidMilestoneInput(many=True, min_length=1, max_length=bid_services.MAX_MILESTONES)

    def validate_milestones(self, value: list[dict]) -> list[dict]:
        for name in ("title", "amount", "due_date"):
            value = complete_items(value, required=name, defaults={})
        return value

    def bid_input(self, bid: Bid | None = None) -> BidInput:
        """The service's input; the service checks the rules that span fields (amounts add up
        to the price, dates) and answers with the same messages as the bid form."""
        data = self.validated_data

        def value(name: str, model_value):
            return data[name] if name in data or bid is None else model_value

        if "milestones" in data or bid is None:
            milestones = [
                MilestoneInput(m["title"], to_cents(m["amount"]), m["due_date"])
                for m in data["milestones"]
            ]
        else:
            milestones = [
                MilestoneInput(m.title, m.amount_cents, m.due_date) for m in bid.milestones.all()
            ]
        price_cents = to_cents(data["price"]) if "price" in data or bid is None else bid.price_cents
        hourly = (
            to_cents(data.get("hourly_rate"))
            if "hourly_rate" in data or bid is None
            else bid.hourly_rate_cents
        )
        return BidInput(
            price_cents=price_cents,
            start_date=value("start_date", bid and bid.start_date),
            cover_message=value("cover_message", bid and bid.cover_message),
            milestones=milestones,
            hourly_rate_cents=hourly,
            estimated_hours=value("estimated_hours", bid and bid.estimated_hours),
        )


# --- Bids of a job ------------------------------------------------------------------------------


class NewestFirstPagination(StrictCursorPagination):
    ordering = ("-created_at", "-id")


class JobBidsApi(ContractErrorsMixin, generics.ListAPIView):
    """GET: the job's client reads every bid on it; a member reads only their own.
    POST: a member bids on a published job."""

    serializer_class = BidOutput
    pagination_class = NewestFirstPagination
    filter_backends: list = []
    # JSON only: the milestones list has no form encoding.
    parser_classes = [JSONParser]

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.request.method == "POST":
            return [IsMember()]
        return [permissions.IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Bid]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Bid.objects.none()
        job = access.access_job(viewer=self.request.user, job_id=self.kwargs["job_id"])
        bids = bids_for_output().filter(job=job)
        if job.client_id == self.request.user.pk:
            return bids
        return bids.filter(member__user=self.request.user)

    @extend_schema(operation_id="jobs_bids_list", responses={200: BidOutput(many=True)})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="jobs_bids_create",
        request=BidWriteInput,
        responses={
            201: BidOutput,
            400: OpenApiTypes.OBJECT,
            403: ErrorOutput,
            404: ErrorOutput,
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = access.access_job(viewer=request.user, job_id=job_id)
        member = own_member_profile(request.user)
        serializer = BidWriteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        bid = bid_services.bid_submit(member=member, job=job, data=serializer.bid_input())
        return bid_response(request, bid, status.HTTP_201_CREATED)


# --- One bid ------------------------------------------------------------------------------------


class BidDetailApi(ContractErrorsMixin, APIView):
    """GET: the bid, for its member, the job's client and moderators ('not found' to anybody
    else). PATCH: its member changes it while it is active and the job takes bids."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="bids_retrieve", responses={200: BidOutput, 404: ErrorOutput})
    def get(self, request: Request, bid_id: int) -> Response:
        bid = access.access_bid(viewer=request.user, bid_id=bid_id)
        return bid_response(request, bid)

    @extend_schema(
        operation_id="bids_partial_update",
        request=BidWriteInput,
        responses={200: BidOutput, 400: OpenApiTypes.OBJECT, 403: ErrorOutput, 404: ErrorOutput},
    )
    def patch(self, request: Request, bid_id: int) -> Response:
        bid = access.access_bid(viewer=request.user, bid_id=bid_id)
        if bid.member.user_id != request.user.pk:
            raise PermissionDenied(_("Only the member who made this bid can change it."))
        serializer = BidWriteInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        bid = bid_services.bid_update(bid=bid, member=bid.member, data=serializer.bid_input(bid))
        return bid_response(request, bid)


BID_ACTION_RESPONSES = {
    200: BidOutput,
    400: OpenApiTypes.OBJECT,
    403: ErrorOutput,
    404: ErrorOutput,
}


class BidWithdrawApi(ContractErrorsMixin, APIView):
    """The member withdraws their active bid."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(operation_id="bids_withdraw", request=None, responses=BID_ACTION_RESPONSES)
    def post(self, request: Request, bid_id: int) -> Response:
        bid = access.access_bid(viewer=request.user, bid_id=bid_id)
        if bid.member.user_id != request.user.pk:
            raise PermissionDenied(_("Only the member who made this bid can withdraw it."))
        bid = bid_services.bid_withdraw(bid=bid, member=bid.member)
        return bid_response(request, bid)


class BidAcceptApi(ContractErrorsMixin, APIView):
    """The job's client accepts a bid: the contract is made, the other bids are declined.
    409 when the job already has a contract or the bid was withdrawn meanwhile."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="bids_accept",
        request=None,
        responses={
            201: ContractOutput,
            403: ErrorOutput,
            404: ErrorOutput,
            409: ErrorOutput,
        },
    )
    def post(self, request: Request, bid_id: int) -> Response:
        bid = access.access_bid(viewer=request.user, bid_id=bid_id)
        if bid.job.client_id != request.user.pk:
            raise PermissionDenied(_("Only the job's client can accept a bid."))
        contract = bid_services.bid_accept(bid=bid, client=request.user)
        return contract_response(request, contract, status.HTTP_201_CREATED)


# --- Contracts ----------------------------------------------------------------------------------


def contract_response(
    request: Request, contract: Contract, status_code: int = status.HTTP_200_OK
) -> Response:
    contract = contracts_for_output().get(pk=contract.pk)
    return Response(ContractOutput(contract, context={"request": request}).data, status=status_code)


class ContractListApi(generics.ListAPIView):
    """Your contracts, as client or as member, newest first, with their milestones."""

    serializer_class = ContractOutput
    pagination_class = NewestFirstPagination
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Contract]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Contract.objects.none()
        user = self.request.user
        return contracts_for_output().filter(Q(client=user) | Q(member__user=user))

    @extend_schema(operation_id="contracts_list")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ContractDetailApi(APIView):
    """A contract and its milestones, for its client, its member and moderators."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="contracts_retrieve", responses={200: ContractOutput, 404: ErrorOutput}
    )
    def get(self, request: Request, contract_id: int) -> Response:
        contract = access.access_contract(viewer=request.user, contract_id=contract_id)
        return contract_response(request, contract)


# --- Milestones: one endpoint per change ---------------------------------------------------------


def milestone_response(request: Request, milestone: Milestone) -> Response:
    milestone.refresh_from_db()
    return Response(MilestoneOutput(milestone, context={"request": request}).data)


MILESTONE_ACTION_RESPONSES = {
    200: MilestoneOutput,
    400: OpenApiTypes.OBJECT,
    403: ErrorOutput,
    404: ErrorOutput,
    409: ErrorOutput,
}


class MilestoneStartApi(ContractErrorsMixin, APIView):
    """The member starts work on a paid milestone."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="milestones_start", request=None, responses=MILESTONE_ACTION_RESPONSES
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
        milestone = milestone_services.milestone_start(milestone=milestone, member=request.user)
        return milestone_response(request, milestone)


class MilestoneDeliverApi(ContractErrorsMixin, APIView):
    """The member hands in a milestone: a message, links, and files (PDF, PNG or JPEG; send
    multipart/form-data to attach files)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser]

    class DeliverInput(serializers.Serializer):
        message = text_field(max_length=milestone_services.MAX_MESSAGE_LENGTH)
        links = serializers.ListField(
            child=serializers.CharField(max_length=500),
            required=False,
            default=list,
            max_length=milestone_services.MAX_DELIVERY_LINKS,
        )

    class DeliverWithFilesInput(DeliverInput):
        # Files only travel in multipart/form-data; in JSON the key is not read at all.
        files = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            default=list,
            max_length=milestone_services.MAX_DELIVERY_FILES,
        )

    @extend_schema(
        operation_id="milestones_deliver",
        request={
            "application/json": DeliverInput,
            "multipart/form-data": DeliverWithFilesInput,
        },
        responses=MILESTONE_ACTION_RESPONSES,
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
        is_multipart = request.content_type.startswith("multipart/form-data")
        input_class = self.DeliverWithFilesInput if is_multipart else self.DeliverInput
        serializer = input_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        milestone_services.milestone_deliver(
            milestone=milestone,
            member=request.user,
            message=data["message"],
            links=data["links"],
            files=data.get("files", []),
        )
        return milestone_response(request, milestone)


class MilestoneApproveApi(ContractErrorsMixin, APIView):
    """The client approves a delivered milestone; the last approval completes the contract."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="milestones_approve", request=None, responses=MILESTONE_ACTION_RESPONSES
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
        milestone = milestone_services.milestone_approve(milestone=milestone, client=request.user)
        return milestone_response(request, milestone)


class MilestoneRequestChangesApi(ContractErrorsMixin, APIView):
    """The client sends a delivery back to the member, saying what to change."""

    permission_classes = [permissions.IsAuthenticated]

    class RequestChangesInput(serializers.Serializer):
        reason = text_field(max_length=2000)

    @extend_schema(
        operation_id="milestones_request_changes",
        request=RequestChangesInput,
        responses=MILESTONE_ACTION_RESPONSES,
    )
    def post(self, request: Request, milestone_id: int) -> Response:
        milestone = access.access_milestone(viewer=request.user, milestone_id=milestone_id)
        serializer = self.RequestChangesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        milestone = milestone_services.milestone_request_changes(
            milestone=milestone, client=request.user, reason=serializer.validated_data["reason"]
        )
        return milestone_response(request, milestone)
