from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from marketplace.demo import DEMO_ADMIN_TOTP_SECRET, DEMO_PASSWORD, demo_world_create


class Command(BaseCommand):
    help = "Create (or refresh) the demo world of Liège clients, members and validators."

    def handle(self, *args, **options):
        # The demo world's notices stay in the app: no e-mail for the made-up people.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            report = demo_world_create()
        self.stdout.write(f"Demo data: {len(report.created)} account(s) created, others kept.")
        self.stdout.write(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
        for role, email in report.logins.items():
            self.stdout.write(f"  {role:<10} {email}")
        self.stdout.write(
            f"  The admin's second factor: TOTP secret {DEMO_ADMIN_TOTP_SECRET} "
            f"(or a one-time recovery code: {', '.join(report.admin_recovery_codes)})"
        )
