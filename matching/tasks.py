from django_tasks import task


@task()
def notify_job_matches(*, job_id: int) -> int:
    """After a job is published: tell the best-fitting members (outside the request)."""
    from marketplace.models import Job
    from matching.recommendations import job_matches_notify

    job = Job.objects.filter(pk=job_id).first()
    return 0 if job is None else job_matches_notify(job=job)
