"""Governance in the Django admin: read-only. Proposals are created, scheduled and closed
through the staff pages and the periodic pass (governance.services); the register is written
through its staff pages. Ballots have no admin at all (secret ballot)."""

from django.contrib import admin

from governance.models import MembershipChange, Proposal, ProposalOption, ShareMovement
from matching.admin import ReadOnlyAdmin


class ProposalOptionInline(admin.TabularInline):
    model = ProposalOption
    fields = ["position", "label", "rate_bp", "vote_count"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ["question", "kind", "status", "opens_at", "closes_at", "outcome"]
    list_filter = ["kind", "status", "outcome"]
    search_fields = ["question"]
    # ballot_secret is deliberately absent.
    fields = [
        "kind",
        "status",
        "question",
        "explanation",
        "opens_at",
        "closes_at",
        "quorum_percent",
        "created_by",
        "created_at",
        "opened_at",
        "closed_at",
        "eligible_count",
        "turnout_count",
        "quorum_votes",
        "quorum_reached",
        "outcome",
        "winning_option",
        "decided_rate",
    ]
    readonly_fields = fields
    inlines = [ProposalOptionInline]


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdmin):
    list_display = ["member", "status", "effective_on", "recorded_by", "recorded_at"]
    list_filter = ["status"]
    search_fields = ["member__display_name", "member__user__email"]
    list_select_related = ["member", "recorded_by"]


@admin.register(ShareMovement)
class ShareMovementAdmin(ReadOnlyAdmin):
    list_display = ["member", "shares", "effective_on", "recorded_by", "recorded_at"]
    search_fields = ["member__display_name", "member__user__email"]
    list_select_related = ["member", "recorded_by"]
