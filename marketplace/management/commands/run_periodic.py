import time

from django.core.management.base import BaseCommand

from governance.services import proposals_close_due, proposals_open_due
from marketplace.services.disputes import disputes_prompt_overdue
from marketplace.services.jobs import jobs_expire
from marketplace.services.milestones import milestones_auto_approve
from marketplace.services.reviews import reviews_publish_due
from marketplace.services.task_queue import tasks_requeue_stale
from matching.candidates import essential_rows_per_skill
from matching.services import validations_notify_expiring


class Command(BaseCommand):
    help = (
        "One idempotent pass of the periodic work: expire jobs past their closing date, tell "
        "members about validations that expire soon, remind clients of deliveries waiting for "
        "them and approve those left unanswered, publish reviews whose waiting time is over, tell "
        "admins about disputes past a deadline, close votes past their closing time, open "
        "scheduled ones, count the jobs asking for each skill (for the matching) and requeue "
        "tasks whose worker died (RUNNING longer than TASKS_STALE_AFTER_MINUTES). Run it "
        "from cron or a systemd timer; --every N repeats it every N seconds (the demo does this)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every N seconds.")

    def handle(self, *args, every: int = 0, **options):
        while True:
            expired = jobs_expire()
            notices = validations_notify_expiring(within_days=30)
            approved = milestones_auto_approve()
            published = reviews_publish_due()
            # Disputes past a deadline are brought to the admins; nothing is decided here.
            prompted = disputes_prompt_overdue()
            # Votes: close those past their closing time (results published), open those due.
            closed_votes = proposals_close_due()
            opened_votes = proposals_open_due()
            # The matching's cost estimate per skill (which query finds a member's jobs).
            essential_rows_per_skill(refresh=True)
            # Tasks whose worker died mid-task, back in the queue.
            requeued = tasks_requeue_stale()
            self.stdout.write(
                f"{expired} job(s) expired, {notices} expiry notice(s) sent, "
                f"{approved} milestone(s) approved automatically, {published} review(s) published, "
                f"{prompted} dispute prompt(s) sent to admins, "
                f"{closed_votes} vote(s) closed, {opened_votes} vote(s) opened, "
                f"{len(requeued)} stale task(s) requeued."
            )
            if every <= 0:
                return
            time.sleep(every)
