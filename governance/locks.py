"""Row locks of the governance app (select_for_update is a no-op on SQLite).

Fixed order: the proposal, then the electoral roll entry; for the register, the member
profile. A vote locks the proposal too, so that the close (which locks it first) counts every
ballot of a vote that started before it, and refuses the ones that come after."""

from governance.models import Proposal, RollEntry
from marketplace.models import MemberProfile


def lock_proposal(proposal_id: int) -> Proposal:
    return Proposal.objects.select_for_update(of=("self",)).get(pk=proposal_id)


def lock_roll_entry(*, proposal_id: int, member_id: int) -> RollEntry:
    """The member's entry on the proposal's roll (RollEntry.DoesNotExist if not on it)."""
    return RollEntry.objects.select_for_update(of=("self",)).get(
        proposal_id=proposal_id, member_id=member_id
    )


def lock_member_profile(profile_id: int) -> MemberProfile:
    return MemberProfile.objects.select_for_update(of=("self",)).get(pk=profile_id)
