"""Read-only API of the taxonomy and of members' validated skills and languages."""

import django_filters
from django.db.models import QuerySet
from rest_framework import generics, permissions, serializers
from rest_framework.pagination import CursorPagination

from marketplace.access import access_public_member_profile
from marketplace.apis_schema import StrictBooleanFilter
from matching import selectors
from matching.models import MemberLanguage, Skill, SkillClaim
from matching.search import normalise


class SkillFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", label="Words found in any label, any language (accents ignored)"
    )
    group = django_filters.CharFilter(field_name="group__key")

    class Meta:
        model = Skill
        fields = ["q", "source", "skill_type", "group", "web_developer_relevance"]

    def filter_q(self, queryset: QuerySet[Skill], name: str, value: str) -> QuerySet[Skill]:
        for word in normalise(value).split():
            queryset = queryset.filter(search_text__contains=word)
        return queryset


class SkillPagination(CursorPagination):
    ordering = ("label_en", "id")
    page_size = 50


class SkillOutput(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    group = serializers.SlugRelatedField(slug_field="key", read_only=True)

    class Meta:
        model = Skill
        fields = [
            "id",
            "label",
            "label_en",
            "label_fr",
            "label_nl",
            "label_ar",
            "alt_labels",
            "source",
            "uri",
            "tag",
            "skill_type",
            "reuse_level",
            "group",
            "web_developer_relevance",
        ]


class SkillListApi(generics.ListAPIView):
    """Skills of the taxonomy: ESCO concepts and Sirius tags."""

    queryset = Skill.objects.select_related("group")
    serializer_class = SkillOutput
    filterset_class = SkillFilter
    pagination_class = SkillPagination
    permission_classes = [permissions.AllowAny]


class SkillDetailApi(generics.RetrieveAPIView):
    queryset = Skill.objects.select_related("group")
    serializer_class = SkillOutput
    permission_classes = [permissions.AllowAny]


class ValidatedSkillOutput(serializers.ModelSerializer):
    skill = SkillOutput(read_only=True)
    validated_by = serializers.CharField(source="validated_by.get_full_name", read_only=True)

    class Meta:
        model = SkillClaim
        fields = ["skill", "validated_level", "validated_by", "validated_at", "expires_on"]


class ValidatedSkillFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="skill__source")
    level = django_filters.CharFilter(field_name="validated_level")

    class Meta:
        model = SkillClaim
        fields = ["source", "level"]


class MemberValidatedSkillsApi(generics.ListAPIView):
    """A member's skills whose validation counts today (not expired, not revoked)."""

    serializer_class = ValidatedSkillOutput
    filterset_class = ValidatedSkillFilter
    pagination_class = None
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[SkillClaim]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return SkillClaim.objects.none()
        member = access_public_member_profile(
            viewer=self.request.user, member_id=self.kwargs["member_id"]
        )
        return selectors.validated_skills(member=member)


class MemberLanguageOutput(serializers.ModelSerializer):
    code = serializers.CharField(source="language.code", read_only=True)
    name = serializers.CharField(source="language.display_name", read_only=True)
    direction = serializers.CharField(source="language.direction", read_only=True)

    class Meta:
        model = MemberLanguage
        fields = ["code", "name", "direction", "level", "validated_level", "validated_at"]


class MemberLanguageFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(field_name="language__code")
    validated = StrictBooleanFilter(method="filter_validated")

    class Meta:
        model = MemberLanguage
        fields = ["code", "level", "validated"]

    def filter_validated(self, queryset, name, value):
        return (
            queryset.exclude(validated_level="") if value else queryset.filter(validated_level="")
        )


class MemberLanguagesApi(generics.ListAPIView):
    serializer_class = MemberLanguageOutput
    filterset_class = MemberLanguageFilter
    pagination_class = None
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[MemberLanguage]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return MemberLanguage.objects.none()
        member = access_public_member_profile(
            viewer=self.request.user, member_id=self.kwargs["member_id"]
        )
        return MemberLanguage.objects.filter(member=member).select_related("language")
