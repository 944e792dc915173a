from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from marketplace.models import (
    ClientProfile,
    Job,
    JobAttachment,
    JobLanguage,
    JobSkill,
    MemberProfile,
    ModerationLog,
    Notification,
    Report,
    User,
)
from matching.models import MemberLanguage


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "full_name",
        "is_client",
        "is_member",
        "is_validator",
        "is_staff",
        "is_active",
        "date_joined",
    ]
    list_filter = ["is_client", "is_member", "is_validator", "is_staff", "is_active", "language"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Person"), {"fields": ["full_name", "language"]}),
        (
            _("Roles"),
            {
                "fields": [
                    "is_client",
                    "is_member",
                    "is_validator",
                    "is_staff",
                    "is_superuser",
                    "is_active",
                ]
            },
        ),
        (_("Permissions"), {"classes": ["collapse"], "fields": ["groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]


@admin.register(ClientProfile)
class ClientProfileAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "vat_number", "city", "country", "created_at"]
    list_filter = ["kind", "country"]
    search_fields = ["organisation_name", "vat_number", "user__email", "user__full_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["preferred_languages"]


class MemberLanguageInline(admin.TabularInline):
    model = MemberLanguage
    extra = 0


@admin.register(MemberProfile)
class MemberProfileAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "user",
        "membership_status",
        "membership_since",
        "availability",
        "created_at",
    ]
    list_filter = ["membership_status", "availability"]
    search_fields = ["display_name", "user__email", "user__full_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    inlines = [MemberLanguageInline]


class JobSkillInline(admin.TabularInline):
    model = JobSkill
    extra = 0
    autocomplete_fields = ["skill"]


class JobLanguageInline(admin.TabularInline):
    model = JobLanguage
    extra = 0


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs change status through the moderation pages (marketplace.services.jobs)."""

    list_display = [
        "title",
        "client",
        "status",
        "category",
        "commune",
        "budget_cents",
        "published_at",
        "closes_on",
        "is_hidden",
    ]
    list_filter = ["status", "category", "work_mode", "commune", "is_hidden"]
    search_fields = ["title", "description", "client__email"]
    list_select_related = ["client"]
    readonly_fields = [
        "status",
        "status_changed_at",
        "submitted_at",
        "published_at",
        "contact_flags",
        "budget_cents",
        "description_html",
    ]
    exclude = ["search_vector"]
    inlines = [JobSkillInline, JobLanguageInline]


@admin.register(JobAttachment)
class JobAttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "job", "content_type", "size", "added_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "job__title"]
    list_select_related = ["job"]
    readonly_fields = ["job", "file", "original_name", "content_type", "size", "sha256"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["__str__", "reporter", "status", "created_at", "handled_by"]
    list_filter = ["status", "reason", "target_type"]
    search_fields = ["details", "reporter__email"]
    list_select_related = ["reporter", "handled_by", "target_type"]
    readonly_fields = ["reporter", "target_type", "target_id", "reason", "details", "created_at"]


@admin.register(ModerationLog)
class ModerationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_repr"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_repr", "reason", "actor__email"]
    list_select_related = ["actor", "target_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    list_filter = ["read_at"]
    search_fields = ["message", "user__email"]
    list_select_related = ["user"]
