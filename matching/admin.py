from django.contrib import admin

from matching.models import Language, MemberLanguage


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_fr", "autonym", "direction"]
    list_filter = ["direction"]
    search_fields = ["code", "name_en", "name_fr", "autonym"]


@admin.register(MemberLanguage)
class MemberLanguageAdmin(admin.ModelAdmin):
    list_display = ["member", "language", "level"]
    list_filter = ["level", "language"]
    search_fields = ["member__display_name", "language__name_en", "language__code"]
    list_select_related = ["member", "language"]
    autocomplete_fields = ["member", "language"]
