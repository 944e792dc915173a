from django.urls import path

from marketplace import apis_contracts

urlpatterns = [
    path("jobs/<int:job_id>/bids/", apis_contracts.JobBidsApi.as_view(), name="api-job-bids"),
    path("bids/<int:bid_id>/", apis_contracts.BidDetailApi.as_view(), name="api-bid-detail"),
    path(
        "bids/<int:bid_id>/withdraw/",
        apis_contracts.BidWithdrawApi.as_view(),
        name="api-bid-withdraw",
    ),
    path("bids/<int:bid_id>/accept/", apis_contracts.BidAcceptApi.as_view(), name="api-bid-accept"),
    path("contracts/", apis_contracts.ContractListApi.as_view(), name="api-contract-list"),
    path(
        "contracts/<int:contract_id>/",
        apis_contracts.ContractDetailApi.as_view(),
        name="api-contract-detail",
    ),
    path(
        "milestones/<int:milestone_id>/start/",
        apis_contracts.MilestoneStartApi.as_view(),
        name="api-milestone-start",
    ),
    path(
        "milestones/<int:milestone_id>/deliver/",
        apis_contracts.MilestoneDeliverApi.as_view(),
        name="api-milestone-deliver",
    ),
    path(
        "milestones/<int:milestone_id>/approve/",
        apis_contracts.MilestoneApproveApi.as_view(),
        name="api-milestone-approve",
    ),
    path(
        "milestones/<int:milestone_id>/request-changes/",
        apis_contracts.MilestoneRequestChangesApi.as_view(),
        name="api-milestone-request-changes",
    ),
]
