from django.urls import path

from marketplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("client/profile/", views.client_profile_edit, name="client_profile_edit"),
    path("member/profile/", views.member_profile_edit, name="member_profile_edit"),
    path("members/<int:member_id>/", views.member_profile_detail, name="member_profile_detail"),
    path("roles/<str:role>/add/", views.role_add, name="role_add"),
    path("language/", views.language_switch, name="language_switch"),
]
