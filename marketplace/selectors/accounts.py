"""Reads of the marketplace app."""

from django.db.models import QuerySet

from marketplace.models import MemberProfile
from matching.models import MemberLanguage


def member_languages(*, profile: MemberProfile) -> QuerySet[MemberLanguage]:
    return MemberLanguage.objects.filter(member=profile).select_related("language")
