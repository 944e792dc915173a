from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from marketplace.models import (
    AccountErasure,
    Bid,
    BidMessage,
    BidMilestone,
    ClientProfile,
    Contract,
    ContractEvent,
    Delivery,
    DeliveryFile,
    Job,
    JobAttachment,
    JobLanguage,
    JobSkill,
    MemberProfile,
    Milestone,
    ModerationLog,
    Notification,
    Report,
    Review,
    User,
)
from matching.admin import ReadOnlyAdmin
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
    # Membership changes only through the member register (governance.services), which
    # keeps its dated history: eligibility to vote is read from it.
    readonly_fields = ["membership_status", "membership_since"]


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
class ModerationLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_repr"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_repr", "reason", "actor__email"]
    list_select_related = ["actor", "target_type"]


@admin.register(AccountErasure)
class AccountErasureAdmin(ReadOnlyAdmin):
    """Erased accounts (GDPR): who and when, never the erased data."""

    list_display = ["erased_at", "user", "requested_by"]
    list_select_related = ["user", "requested_by"]
    search_fields = ["user__full_name"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    list_filter = ["read_at"]
    search_fields = ["message", "user__email"]
    list_select_related = ["user"]


class BidMilestoneInline(admin.TabularInline):
    model = BidMilestone
    extra = 0


@admin.register(Bid)
class BidAdmin(admin.ModelAdmin):
    """Bids change through the bid pages (marketplace.services.bids)."""

    list_display = [
        "job",
        "member",
        "status",
        "price_cents",
        "start_date",
        "shortlisted",
        "created_at",
    ]
    list_filter = ["status", "shortlisted"]
    search_fields = ["job__title", "member__display_name", "cover_message"]
    list_select_related = ["job", "member"]
    readonly_fields = ["job", "member", "status", "contact_flags", "created_at", "updated_at"]
    inlines = [BidMilestoneInline]


@admin.register(BidMessage)
class BidMessageAdmin(admin.ModelAdmin):
    list_display = ["bid", "sender", "created_at"]
    search_fields = ["body", "sender__email"]
    list_select_related = ["bid__job", "sender"]
    readonly_fields = ["bid", "sender", "body", "contact_flags", "created_at"]


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = [
        "position",
        "title",
        "amount_cents",
        "due_date",
        "status",
        "submitted_at",
        "approved_at",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    """Contracts change through their pages (marketplace.services.milestones)."""

    list_display = ["pk", "job", "client", "member", "status", "total_cents", "created_at"]
    list_filter = ["status"]
    search_fields = ["job__title", "client__email", "member__display_name"]
    list_select_related = ["job", "client", "member"]
    readonly_fields = [
        "job",
        "bid",
        "client",
        "member",
        "status",
        "total_cents",
        "created_at",
        "completed_at",
    ]
    inlines = [MilestoneInline]

    def has_add_permission(self, request):
        return False


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "contract",
        "position",
        "amount_cents",
        "status",
        "due_date",
        "submitted_at",
    ]
    list_filter = ["status"]
    search_fields = ["title", "contract__job__title"]
    list_select_related = ["contract__job"]
    readonly_fields = [
        "contract",
        "position",
        "status",
        "submitted_at",
        "approved_at",
        "reminders_sent",
    ]


@admin.register(ContractEvent)
class ContractEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "contract", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["note", "contract__job__title"]
    list_select_related = ["contract__job", "actor"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["milestone", "created_at"]
    search_fields = ["message", "milestone__title"]
    list_select_related = ["milestone"]
    readonly_fields = ["milestone", "message", "links", "created_at"]


@admin.register(DeliveryFile)
class DeliveryFileAdmin(admin.ModelAdmin):
    list_display = ["original_name", "delivery", "content_type", "size"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["delivery__milestone"]
    readonly_fields = ["delivery", "file", "original_name", "content_type", "size", "sha256"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["contract", "author", "subject", "rating", "created_at", "published_at"]
    list_filter = ["rating", "published_at"]
    search_fields = ["text", "author__email", "subject__email"]
    list_select_related = ["contract__job", "author", "subject"]
    readonly_fields = [
        "contract",
        "author",
        "subject",
        "rating",
        "text",
        "created_at",
        "published_at",
    ]


@admin.register(BidMilestone)
class BidMilestoneAdmin(admin.ModelAdmin):
    list_display = ["title", "bid", "position", "amount_cents", "due_date"]
    list_select_related = ["bid__job"]
    search_fields = ["title"]


@admin.register(JobSkill)
class JobSkillAdmin(admin.ModelAdmin):
    list_display = ["job", "skill", "importance", "min_level"]
    list_filter = ["importance", "min_level"]
    list_select_related = ["job", "skill"]
    search_fields = ["job__title", "skill__label_en", "skill__label_fr"]


@admin.register(JobLanguage)
class JobLanguageAdmin(admin.ModelAdmin):
    list_display = ["job", "language", "min_level"]
    list_filter = ["min_level", "language"]
    list_select_related = ["job", "language"]
    search_fields = ["job__title"]


import marketplace.admin_disputes  # noqa: E402,F401
