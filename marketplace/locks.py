"""Row locks of the marketplace app, taken in one place (select_for_update is a no-op on SQLite)."""

from marketplace.models import Job, User


def lock_job(job_id: int) -> Job:
    """Lock one job row for the rest of the transaction and return it fresh."""
    return Job.objects.select_for_update(of=("self",)).get(pk=job_id)


def lock_user(user_id: int) -> User:
    return User.objects.select_for_update(of=("self",)).get(pk=user_id)
