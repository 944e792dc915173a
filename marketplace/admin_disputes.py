"""Disputes in the admin: read-only, every change goes through marketplace.services.disputes
(the dispute pages), which lock, move the money and write the history.

Registered by one import at the end of marketplace/admin.py."""

from django.contrib import admin

from marketplace.models import (
    Dispute,
    DisputeDecision,
    DisputeEvent,
    DisputeEvidence,
    DisputeEvidenceFile,
    DisputeProposal,
)
from matching.admin import ReadOnlyAdmin


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["pk", "milestone", "status", "opened_by_side", "reason", "opened_at"]
    list_filter = ["status", "reason", "opened_by_side"]
    search_fields = ["account", "answer", "milestone__title", "contract__job__title"]
    list_select_related = ["milestone"]


@admin.register(DisputeEvidence)
class DisputeEvidenceAdmin(ReadOnlyAdmin):
    list_display = ["dispute", "side", "author", "created_at"]
    search_fields = ["text"]
    list_select_related = ["dispute__milestone", "author"]


@admin.register(DisputeEvidenceFile)
class DisputeEvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "evidence", "content_type", "size"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["evidence__dispute__milestone"]


@admin.register(DisputeProposal)
class DisputeProposalAdmin(ReadOnlyAdmin):
    list_display = ["dispute", "side", "member_cents", "status", "created_at"]
    list_filter = ["status", "side"]
    search_fields = ["note"]
    list_select_related = ["dispute__milestone"]


@admin.register(DisputeDecision)
class DisputeDecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "dispute",
        "outcome",
        "member_cents",
        "client_cents",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["outcome"]
    search_fields = ["reasoning"]
    list_select_related = ["dispute__milestone", "decided_by"]


@admin.register(DisputeEvent)
class DisputeEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "dispute", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["note"]
    list_select_related = ["dispute__milestone", "actor"]
