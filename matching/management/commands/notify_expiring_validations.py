from django.core.management.base import BaseCommand

from matching.services import validations_notify_expiring


class Command(BaseCommand):
    help = (
        "Tell members whose skill validations expire soon (one idempotent pass: run it daily "
        "from cron or a systemd timer)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="How far ahead to look.")

    def handle(self, *args, days: int, **options):
        sent = validations_notify_expiring(within_days=days)
        self.stdout.write(f"{sent} expiry notice(s) sent.")
