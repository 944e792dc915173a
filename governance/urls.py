from django.urls import include, path

from governance import views_register, views_votes

app_name = "governance"

urlpatterns = [
    # Public solidarity dashboard (transparency): governance/urls_transparency.py
    path("", include("governance.urls_transparency")),
    # Votes (governance/views_votes.py)
    path("decisions/", views_votes.decisions, name="decisions"),
    path("votes/", views_votes.proposal_list, name="proposal_list"),
    path("votes/new/", views_votes.proposal_create, name="proposal_create"),
    path("votes/<int:proposal_id>/", views_votes.proposal_detail, name="proposal_detail"),
    path("votes/<int:proposal_id>/vote/", views_votes.proposal_vote, name="proposal_vote"),
    path("votes/<int:proposal_id>/sign/", views_votes.proposal_sign, name="proposal_sign"),
    path(
        "votes/<int:proposal_id>/schedule/",
        views_votes.proposal_schedule,
        name="proposal_schedule",
    ),
    path("votes/<int:proposal_id>/cancel/", views_votes.proposal_cancel, name="proposal_cancel"),
    # Member register (governance/views_register.py)
    path("register/me/", views_register.register_mine, name="register_mine"),
    path(
        "register/members/<int:member_id>/",
        views_register.register_entry,
        name="register_entry",
    ),
    path("staff/register/", views_register.register_list, name="register_list"),
    path("staff/register/export.csv", views_register.register_export, name="register_export"),
    path(
        "staff/register/members/<int:member_id>/status/",
        views_register.register_status_change,
        name="register_status_change",
    ),
    path(
        "staff/register/members/<int:member_id>/shares/",
        views_register.register_shares_change,
        name="register_shares_change",
    ),
]
