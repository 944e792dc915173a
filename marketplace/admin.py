from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from marketplace.models import ClientProfile, MemberProfile, User
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
