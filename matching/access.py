"""Who may see which claim and which evidence file. Views never fetch these objects directly."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from marketplace.access import client_has_bid_from_member
from marketplace.models import User
from matching.models import EvidenceFile, MemberLanguage, SkillClaim

_CLAIMS = SkillClaim.objects.select_related("member__user", "skill__group", "validated_by")


def is_validator(user: User) -> bool:
    return user.is_authenticated and user.is_active and (user.is_validator or user.is_staff)


def access_own_claim(*, user: User, claim_id: int) -> SkillClaim:
    """A member's own claim; anybody else's is 'not found'."""
    return get_object_or_404(_CLAIMS, pk=claim_id, member__user=user)


def access_claim_for_review(*, user: User, claim_id: int) -> SkillClaim:
    """A claim as a validator sees it: any claim but their own."""
    if not is_validator(user):
        raise PermissionDenied(_("This page is for validators."))
    claim = get_object_or_404(_CLAIMS, pk=claim_id)
    if claim.member.user_id == user.pk:
        raise PermissionDenied(_("You cannot validate your own skills."))
    return claim


def can_see_evidence_of(*, user: User, claim: SkillClaim) -> bool:
    """The member, validators and admins; a client only if that member bid on their jobs."""
    if not user.is_authenticated or not user.is_active:
        return False
    if claim.member.user_id == user.pk or is_validator(user):
        return True
    return user.is_client and client_has_bid_from_member(client=user, member=claim.member)


def access_evidence_file(*, user: User, file_id: int) -> EvidenceFile:
    evidence_file = get_object_or_404(
        EvidenceFile.objects.select_related("claim__member__user"), pk=file_id
    )
    if not can_see_evidence_of(user=user, claim=evidence_file.claim):
        raise Http404  # the same answer as for a file that does not exist
    return evidence_file


def access_member_language_for_review(*, user: User, member_language_id: int) -> MemberLanguage:
    if not is_validator(user):
        raise PermissionDenied(_("This page is for validators."))
    member_language = get_object_or_404(
        MemberLanguage.objects.select_related("member__user", "language"), pk=member_language_id
    )
    if member_language.member.user_id == user.pk:
        raise PermissionDenied(_("You cannot validate your own languages."))
    return member_language
