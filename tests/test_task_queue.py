"""Tasks left RUNNING by a dead worker go back in the queue (run_periodic, or by hand); a task
a worker started recently, or one that finished, is left alone. The end-to-end case — a worker
killed with SIGKILL, then the requeued task run once — is in tests/test_faults.py."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings):
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from marketplace.tasks import send_email

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    now = timezone.now()

    def make(status, started_minutes_ago=None):
        result = send_email.enqueue(subject="s", body="b", to=["a@example.be"])
        started = (
            None
            if started_minutes_ago is None
            else now - datetime.timedelta(minutes=started_minutes_ago)
        )
        DBTaskResult.objects.filter(pk=result.id).update(status=status, started_at=started)
        return str(result.id)

    return {
        "dead": make(TaskResultStatus.RUNNING, 120),
        "busy": make(TaskResultStatus.RUNNING, 5),
        "done": make(TaskResultStatus.SUCCESSFUL, 300),
        "waiting": make(TaskResultStatus.READY),
    }


def statuses() -> dict[str, str]:
    from django_tasks_db.models import DBTaskResult

    return {str(pk): status for pk, status in DBTaskResult.objects.values_list("pk", "status")}


def test_the_periodic_pass_requeues_only_what_ran_too_long(queued, settings):
    settings.TASKS_STALE_AFTER_MINUTES = 60
    out = io.StringIO()
    call_command("run_periodic", stdout=out)
    assert "1 stale task(s) requeued" in out.getvalue()
    now = statuses()
    assert now[queued["dead"]] == "READY"
    assert (now[queued["busy"]], now[queued["done"]], now[queued["waiting"]]) == (
        "RUNNING",
        "SUCCESSFUL",
        "READY",
    )
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.get(pk=queued["dead"]).started_at is None
    # Run again: nothing more to do.
    out = io.StringIO()
    call_command("run_periodic", stdout=out)
    assert "0 stale task(s) requeued" in out.getvalue()


def test_by_hand_with_a_shorter_age(queued):
    out = io.StringIO()
    call_command("requeue_stale_tasks", "--older-than", "0", stdout=out)
    assert f"requeued {queued['busy']}" in out.getvalue()
    assert "2 stale task(s) requeued" in out.getvalue()
    assert statuses()[queued["done"]] == "SUCCESSFUL"


def test_a_negative_age_is_refused(queued):
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("requeue_stale_tasks", "--older-than", "-5", stderr=err)
    assert exit_.value.code == 2
    assert "0 or more" in err.getvalue()
    assert statuses()[queued["dead"]] == "RUNNING"
