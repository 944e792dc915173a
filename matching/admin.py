from django.contrib import admin

from matching.models import (
    EvidenceFile,
    EvidenceLink,
    ExpiryNotice,
    Exposure,
    Invitation,
    Language,
    LanguageDecision,
    MemberLanguage,
    Skill,
    SkillClaim,
    SkillDecision,
    SkillGroup,
)


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_fr", "autonym", "direction"]
    list_filter = ["direction"]
    search_fields = ["code", "name_en", "name_fr", "autonym"]


@admin.register(MemberLanguage)
class MemberLanguageAdmin(admin.ModelAdmin):
    list_display = ["member", "language", "level", "validated_level", "validated_by"]
    list_filter = ["level", "validated_level", "language"]
    search_fields = ["member__display_name", "language__name_en", "language__code"]
    list_select_related = ["member", "language", "validated_by"]
    autocomplete_fields = ["member", "language"]
    readonly_fields = ["validated_level", "validated_by", "validated_at"]


@admin.register(SkillGroup)
class SkillGroupAdmin(admin.ModelAdmin):
    list_display = ["key", "label_en", "label_fr", "label_nl", "label_ar"]
    search_fields = ["key", "label_en", "label_fr"]


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = [
        "label_en",
        "label_fr",
        "source",
        "skill_type",
        "group",
        "web_developer_relevance",
    ]
    list_filter = ["source", "skill_type", "group", "web_developer_relevance"]
    search_fields = ["label_en", "label_fr", "uri", "tag", "search_text"]
    list_select_related = ["group"]
    readonly_fields = ["search_text"]


class EvidenceLinkInline(admin.TabularInline):
    model = EvidenceLink
    extra = 0
    readonly_fields = ["url", "added_at"]
    can_delete = False


class EvidenceFileInline(admin.TabularInline):
    model = EvidenceFile
    extra = 0
    fields = ["original_name", "content_type", "size", "sha256", "added_at"]
    readonly_fields = fields
    can_delete = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Decisions are records: visible to admins, never edited or deleted (see the services)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SkillDecisionInline(admin.TabularInline):
    model = SkillDecision
    fk_name = "claim"
    extra = 0
    fields = ["kind", "level", "decided_by", "decided_at", "expires_on", "comment"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SkillClaim)
class SkillClaimAdmin(admin.ModelAdmin):
    """Claims change state only through the validation pages (matching.services)."""

    list_display = [
        "member",
        "skill",
        "self_level",
        "status",
        "validated_level",
        "validated_by",
        "expires_on",
        "submitted_at",
    ]
    list_filter = ["status", "self_level", "validated_level", "skill__source", "skill__group"]
    search_fields = ["member__display_name", "skill__label_en", "skill__label_fr"]
    list_select_related = ["member", "skill", "validated_by"]
    readonly_fields = [
        "member",
        "skill",
        "self_level",
        "description",
        "status",
        "validated_level",
        "validated_by",
        "validated_at",
        "expires_on",
        "submitted_at",
        "created_at",
    ]
    inlines = [EvidenceLinkInline, EvidenceFileInline, SkillDecisionInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SkillDecision)
class SkillDecisionAdmin(ReadOnlyAdmin):
    list_display = ["claim", "kind", "level", "decided_by", "decided_at", "expires_on"]
    list_filter = ["kind", "level"]
    search_fields = ["claim__member__display_name", "claim__skill__label_en", "comment"]
    list_select_related = ["claim__member", "claim__skill", "decided_by"]


@admin.register(LanguageDecision)
class LanguageDecisionAdmin(ReadOnlyAdmin):
    list_display = ["member", "language", "level", "decided_by", "decided_at"]
    list_filter = ["level", "language"]
    search_fields = ["member__display_name", "comment"]
    list_select_related = ["member", "language", "decided_by"]


@admin.register(ExpiryNotice)
class ExpiryNoticeAdmin(ReadOnlyAdmin):
    list_display = ["decision", "sent_at"]
    list_select_related = ["decision__claim__member", "decision__claim__skill"]


@admin.register(EvidenceFile)
class EvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "claim", "content_type", "size", "added_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["claim__member", "claim__skill"]


@admin.register(EvidenceLink)
class EvidenceLinkAdmin(ReadOnlyAdmin):
    list_display = ["url", "claim", "added_at"]
    search_fields = ["url"]
    list_select_related = ["claim__member", "claim__skill"]


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ["shown_on", "job", "member", "context", "rank"]
    list_filter = ["context", "shown_on"]
    list_select_related = ["job", "member"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "job", "member", "invited_by"]
    search_fields = ["job__title", "member__display_name"]
    list_select_related = ["job", "member", "invited_by"]
