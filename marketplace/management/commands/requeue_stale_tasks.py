import datetime

from django.core.management.base import BaseCommand

from marketplace.services.task_queue import stale_after, tasks_requeue_stale


class Command(BaseCommand):
    help = (
        "Put back in the queue the background tasks left RUNNING by a worker that died (killed "
        "mid-task): those started more than --older-than minutes ago (default: the setting "
        "TASKS_STALE_AFTER_MINUTES). run_periodic does it on every pass; this is the same by hand, "
        "e.g. with --older-than 0 once the dead worker is known gone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=None, help="Minutes.")

    def handle(self, *args, older_than: int | None = None, **options):
        if older_than is not None and older_than < 0:
            self.stderr.write("--older-than is a number of minutes, 0 or more.")
            raise SystemExit(2)
        age = stale_after() if older_than is None else datetime.timedelta(minutes=older_than)
        requeued = tasks_requeue_stale(older_than=age)
        for task_id in requeued:
            self.stdout.write(f"requeued {task_id}")
        self.stdout.write(f"{len(requeued)} stale task(s) requeued.")
