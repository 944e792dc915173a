from django.urls import path

from marketplace import apis

urlpatterns = [
    path("jobs/", apis.JobListCreateApi.as_view(), name="api-job-list"),
    path("jobs/<int:job_id>/", apis.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/submit/", apis.JobSubmitApi.as_view(), name="api-job-submit"),
    path("jobs/<int:job_id>/cancel/", apis.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<int:job_id>/approve/", apis.JobApproveApi.as_view(), name="api-job-approve"),
    path("jobs/<int:job_id>/reject/", apis.JobRejectApi.as_view(), name="api-job-reject"),
]
