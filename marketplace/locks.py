"""Row locks of the marketplace app, taken in one place (select_for_update is a no-op on SQLite)."""

from marketplace.models import Contract, Job, Milestone, User


def lock_job(job_id: int) -> Job:
    """Lock one job row for the rest of the transaction and return it fresh."""
    return Job.objects.select_for_update(of=("self",)).get(pk=job_id)


def lock_user(user_id: int) -> User:
    return User.objects.select_for_update(of=("self",)).get(pk=user_id)


def lock_contract(contract_id: int) -> Contract:
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related("job", "client", "member__user")
        .get(pk=contract_id)
    )


def lock_milestone(milestone_id: int) -> Milestone:
    """Lock a milestone and, first, its contract (the fixed order: contract, then milestone), so
    that two approvals of the last two milestones cannot both miss completing the contract."""
    contract_id = Milestone.objects.values_list("contract_id", flat=True).get(pk=milestone_id)
    contract = lock_contract(contract_id)
    milestone = Milestone.objects.select_for_update(of=("self",)).get(pk=milestone_id)
    milestone.contract = contract
    return milestone
