"""Row locks of the matching app, taken in one place (select_for_update does nothing on SQLite)."""

from matching.models import MemberLanguage, SkillClaim


def lock_claim(claim_id: int) -> SkillClaim:
    """Lock one claim row for the rest of the transaction and return it fresh."""
    return (
        SkillClaim.objects.select_for_update(of=("self",))
        .select_related("member", "skill")
        .get(pk=claim_id)
    )


def lock_member_language(member_language_id: int) -> MemberLanguage:
    return (
        MemberLanguage.objects.select_for_update(of=("self",))
        .select_related("member", "language")
        .get(pk=member_language_id)
    )
