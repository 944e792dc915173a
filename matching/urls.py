from django.urls import path

from matching import views

urlpatterns = [
    path("skills/search/", views.skill_search_view, name="skill_search"),
    path("member/skills/", views.my_skills, name="my_skills"),
    path("member/skills/claim/", views.skill_claim_new, name="skill_claim_new"),
    path("member/skills/<int:claim_id>/", views.skill_claim_detail, name="skill_claim_detail"),
    path(
        "member/skills/<int:claim_id>/withdraw/",
        views.skill_claim_withdraw,
        name="skill_claim_withdraw",
    ),
    path("validation/", views.validation_queue, name="validation_queue"),
    path("validation/claims/<int:claim_id>/", views.claim_review, name="claim_review"),
    path("validation/claims/<int:claim_id>/revoke/", views.claim_revoke, name="claim_revoke"),
    path(
        "validation/languages/<int:member_language_id>/",
        views.language_confirm,
        name="language_confirm",
    ),
    path("evidence/<int:file_id>/", views.evidence_file_download, name="evidence_file"),
]
