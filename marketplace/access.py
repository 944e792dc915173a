"""Who may open what: every role check and every protected-object lookup lives here."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from marketplace.models import (
    Bid,
    ClientProfile,
    Contract,
    DeliveryFile,
    Dispute,
    DisputeEvidenceFile,
    Job,
    JobAttachment,
    JobStatus,
    MemberProfile,
    Milestone,
    Role,
    User,
)


def role_required(*roles: str):
    """Anonymous visitors go to the log-in page; a logged-in user without one of the roles gets
    a 403 page that says which role the page is for."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not any(user.has_role(role) for role in roles):
                raise PermissionDenied(
                    _("This page is for %(roles)s only.")
                    % {"roles": ", ".join(str(Role(role).label) for role in roles)}
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def access_client_profile_of(user: User) -> ClientProfile:
    return get_object_or_404(
        ClientProfile.objects.prefetch_related("preferred_languages"), user=user
    )


def access_member_profile_of(user: User) -> MemberProfile:
    return get_object_or_404(MemberProfile, user=user)


def access_public_member_profile(*, viewer: User, member_id: int) -> MemberProfile:
    """A member's public profile: every active member except former members, who stay hidden
    (their account may be anonymised); the member themself and admins always see it."""
    queryset = MemberProfile.objects.select_related("user")
    profile = get_object_or_404(queryset, pk=member_id)
    is_owner = viewer.is_authenticated and profile.user_id == viewer.pk
    if is_owner or (viewer.is_authenticated and viewer.is_staff):
        return profile
    if (
        not profile.user.is_active
        or profile.is_hidden
        or profile.membership_status == MemberProfile.Membership.FORMER
    ):
        # Same answer as for a profile that does not exist: nothing to learn from probing ids.
        raise Http404
    return profile


def is_moderator(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def job_is_visible_to(*, job: Job, viewer: User) -> bool:
    """Published, not hidden jobs are public; the client always sees their own; moderators
    see everything; in-progress and completed jobs stay visible to logged-in users."""
    if viewer.is_authenticated and (job.client_id == viewer.pk or is_moderator(viewer)):
        return True
    if job.is_hidden:
        return False
    if job.status == JobStatus.PUBLISHED:
        return True
    return viewer.is_authenticated and job.status in (JobStatus.IN_PROGRESS, JobStatus.COMPLETED)


def access_job(*, viewer: User, job_id: int, queryset: QuerySet[Job] | None = None) -> Job:
    """A job as this viewer may see it, or 404 (never a hint that a draft exists)."""
    job = get_object_or_404(queryset if queryset is not None else Job.objects.all(), pk=job_id)
    if not job_is_visible_to(job=job, viewer=viewer):
        raise Http404
    return job


def access_own_job(*, user: User, job_id: int) -> Job:
    """A job of this client, for changing it; anybody else's is 'not found'."""
    return get_object_or_404(Job, pk=job_id, client=user)


def access_job_attachment(*, viewer: User, attachment_id: int) -> JobAttachment:
    """Attachments of a job: its client, moderators, and logged-in members while they can see it."""
    attachment = get_object_or_404(JobAttachment.objects.select_related("job"), pk=attachment_id)
    job = attachment.job
    allowed = viewer.is_authenticated and (
        job.client_id == viewer.pk
        or is_moderator(viewer)
        or (viewer.is_member and job_is_visible_to(job=job, viewer=viewer))
    )
    if not allowed:
        raise Http404
    return attachment


def client_has_bid_from_member(*, client: User, member: MemberProfile) -> bool:
    """Whether this member has bid on one of this client's jobs, which lets the client see the
    member's evidence."""
    return Bid.objects.filter(job__client=client, member=member).exists()


def access_bid(*, viewer: User, bid_id: int) -> Bid:
    """A bid as this viewer may see it: its member, the job's client, or a moderator. A member
    never sees other members' bids; anybody else gets 'not found'."""
    bid = get_object_or_404(Bid.objects.select_related("job__client", "member__user"), pk=bid_id)
    allowed = viewer.is_authenticated and (
        bid.member.user_id == viewer.pk or bid.job.client_id == viewer.pk or is_moderator(viewer)
    )
    if not allowed:
        raise Http404
    return bid


def access_contract(*, viewer: User, contract_id: int) -> Contract:
    """A contract for its client, its member, or a moderator; 'not found' for anybody else."""
    contract = get_object_or_404(
        Contract.objects.select_related("job", "client", "member__user"), pk=contract_id
    )
    allowed = viewer.is_authenticated and (
        contract.client_id == viewer.pk
        or contract.member.user_id == viewer.pk
        or is_moderator(viewer)
    )
    if not allowed:
        raise Http404
    return contract


def access_milestone(*, viewer: User, milestone_id: int) -> Milestone:
    """A milestone through its contract's rule: 'not found' to anybody who may not see it."""
    contract_id = (
        Milestone.objects.filter(pk=milestone_id).values_list("contract_id", flat=True).first()
    )
    if contract_id is None:
        raise Http404
    contract = access_contract(viewer=viewer, contract_id=contract_id)
    milestone = Milestone.objects.get(pk=milestone_id)
    milestone.contract = contract
    return milestone


def access_delivery_file(*, viewer: User, file_id: int) -> DeliveryFile:
    """A delivery's file for whoever may see its contract; 'not found' for anybody else."""
    delivery_file = get_object_or_404(
        DeliveryFile.objects.select_related("delivery__milestone"), pk=file_id
    )
    access_contract(viewer=viewer, contract_id=delivery_file.delivery.milestone.contract_id)
    return delivery_file


def access_dispute(*, viewer: User, dispute_id: int) -> Dispute:
    """A dispute for the two sides of its contract and moderators; 'not found' for anybody
    else, the same answer as for a dispute that does not exist."""
    dispute = get_object_or_404(
        Dispute.objects.select_related(
            "contract__job", "contract__client", "contract__member__user", "milestone", "opened_by"
        ),
        pk=dispute_id,
    )
    contract = dispute.contract
    allowed = viewer.is_authenticated and (
        contract.client_id == viewer.pk
        or contract.member.user_id == viewer.pk
        or is_moderator(viewer)
    )
    if not allowed:
        raise Http404
    dispute.milestone.contract = contract
    return dispute


def access_dispute_evidence_file(*, viewer: User, file_id: int) -> DisputeEvidenceFile:
    """A file put forward in a dispute, for whoever may see the dispute."""
    stored = get_object_or_404(DisputeEvidenceFile.objects.select_related("evidence"), pk=file_id)
    access_dispute(viewer=viewer, dispute_id=stored.evidence.dispute_id)
    return stored
