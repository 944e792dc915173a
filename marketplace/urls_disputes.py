"""Dispute pages (marketplace.views_disputes), included from marketplace.urls."""

from django.urls import path

from marketplace import views_disputes as views

urlpatterns = [
    path(
        "contracts/<int:contract_id>/milestones/<int:milestone_id>/dispute/",
        views.dispute_open,
        name="dispute_open",
    ),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:dispute_id>/answer/", views.dispute_answer, name="dispute_answer"),
    path("disputes/<int:dispute_id>/evidence/", views.dispute_evidence, name="dispute_evidence"),
    path("disputes/<int:dispute_id>/propose/", views.dispute_propose, name="dispute_propose"),
    path(
        "disputes/<int:dispute_id>/proposals/<int:proposal_id>/accept/",
        views.dispute_accept,
        name="dispute_accept",
    ),
    path("disputes/<int:dispute_id>/decide/", views.dispute_decide, name="dispute_decide"),
    path(
        "disputes/<int:dispute_id>/decisions/<int:decision_id>/correct/",
        views.dispute_correct,
        name="dispute_correct",
    ),
    path(
        "disputes/evidence/files/<int:file_id>/",
        views.dispute_evidence_file,
        name="dispute_evidence_file",
    ),
    path("staff/disputes/", views.dispute_queue, name="dispute_queue"),
]
