from django.urls import path

from matching import apis

urlpatterns = [
    path("skills/", apis.SkillListApi.as_view(), name="api-skill-list"),
    path("skills/<int:pk>/", apis.SkillDetailApi.as_view(), name="api-skill-detail"),
    path(
        "members/<int:member_id>/skills/",
        apis.MemberValidatedSkillsApi.as_view(),
        name="api-member-skills",
    ),
    path(
        "members/<int:member_id>/languages/",
        apis.MemberLanguagesApi.as_view(),
        name="api-member-languages",
    ),
]
