"""The background task queue's one repair: tasks whose worker died.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again: a
worker killed in the middle (SIGKILL, the machine lost) leaves its task RUNNING for ever, and
no other worker takes it. Our tasks are safe to run again after such a death —
`notify_job_matches` writes all its notices in one transaction (a kill leaves none), and
`send_email` sends one e-mail (at worst twice, never lost) — so a task RUNNING for longer than
any of them takes is put back in the queue by the periodic pass (`run_periodic`) or by hand
(`manage.py requeue_stale_tasks`). tests/test_faults.py kills a worker mid-task and checks the
requeued task then runs once to its end.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.TASKS_STALE_AFTER_MINUTES)


def tasks_requeue_stale(*, older_than: datetime.timedelta | None = None) -> list[str]:
    """Put back in the queue the tasks RUNNING since before `older_than` ago (default: the
    setting TASKS_STALE_AFTER_MINUTES); return their ids. With the immediate backend (the demo,
    the tests) the table stays empty and nothing is done."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - (older_than if older_than is not None else stale_after())
    with transaction.atomic():
        # Locked, skipping a row a live worker holds this very moment.
        stale = list(
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        DBTaskResult.objects.filter(pk__in=stale).update(
            status=TaskResultStatus.READY, started_at=None
        )
    return [str(pk) for pk in stale]
