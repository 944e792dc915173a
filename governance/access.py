"""Who may see what in governance: every protected object is fetched here (else 404)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from governance.models import Proposal, ProposalStatus
from marketplace.access import is_moderator
from marketplace.models import MemberProfile, User


def staff_required(view):
    """Anonymous visitors go to the log-in page, other non-admins get a 403."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_moderator(request.user):
            raise PermissionDenied(_("This page is for the cooperative's admins."))
        return view(request, *args, **kwargs)

    return wrapper


def member_profile_of(user: User) -> MemberProfile | None:
    if not user.is_authenticated or not user.is_member:
        return None
    return MemberProfile.objects.filter(user=user).first()


def access_register_entry(*, viewer: User, member_id: int) -> MemberProfile:
    """A member's register entry: admins see everyone's, a member only their own (404)."""
    if not viewer.is_authenticated:
        raise Http404
    profile = get_object_or_404(MemberProfile.objects.select_related("user"), pk=member_id)
    if is_moderator(viewer) or profile.user_id == viewer.pk:
        return profile
    raise Http404


def can_see_unpublished_proposals(user: User) -> bool:
    return is_moderator(user) or (user.is_authenticated and user.is_member)


def access_proposal(*, viewer: User, proposal_id: int) -> Proposal:
    """Closed proposals (their published result) are public; drafts, scheduled and open ones
    are for members and admins; cancelled ones for admins only."""
    proposal = get_object_or_404(Proposal.objects.select_related("decided_rate"), pk=proposal_id)
    if proposal.status == ProposalStatus.CLOSED:
        return proposal
    if proposal.status == ProposalStatus.CANCELLED and not is_moderator(viewer):
        raise Http404
    if not can_see_unpublished_proposals(viewer):
        raise Http404
    return proposal
