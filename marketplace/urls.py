from django.urls import path

from marketplace import views, views_board, views_jobs, views_moderation

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("client/profile/", views.client_profile_edit, name="client_profile_edit"),
    path("member/profile/", views.member_profile_edit, name="member_profile_edit"),
    path("members/<int:member_id>/", views.member_profile_detail, name="member_profile_detail"),
    path("roles/<str:role>/add/", views.role_add, name="role_add"),
    path("language/", views.language_switch, name="language_switch"),
    path("jobs/", views_board.job_board, name="job_board"),
    path("jobs/new/", views_jobs.job_create, name="job_create"),
    path("jobs/<int:job_id>/", views_jobs.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/edit/", views_jobs.job_edit, name="job_edit"),
    path("jobs/<int:job_id>/submit/", views_jobs.job_submit, name="job_submit"),
    path("jobs/<int:job_id>/cancel/", views_jobs.job_cancel, name="job_cancel"),
    path("jobs/<int:job_id>/invite/<int:member_id>/", views_jobs.job_invite, name="job_invite"),
    path("member/jobs/", views_jobs.member_jobs, name="member_jobs"),
    path(
        "moderation/jobs/<int:job_id>/ranking/",
        views_moderation.job_ranking,
        name="moderation_job_ranking",
    ),
    path("jobs/attachments/<int:attachment_id>/", views_jobs.job_attachment, name="job_attachment"),
    path("client/jobs/", views_jobs.client_jobs, name="client_jobs"),
    path("notifications/", views_jobs.notifications, name="notifications"),
    path("report/<str:kind>/<int:object_id>/", views_moderation.report_new, name="report_new"),
    path("moderation/", views_moderation.queue, name="moderation_queue"),
    path("moderation/jobs/<int:job_id>/", views_moderation.job_review, name="moderation_job"),
    path(
        "moderation/reports/<int:report_id>/",
        views_moderation.report_review,
        name="moderation_report",
    ),
    path("moderation/users/<int:user_id>/", views_moderation.user_review, name="moderation_user"),
    path("moderation/log/", views_moderation.log, name="moderation_log"),
]
