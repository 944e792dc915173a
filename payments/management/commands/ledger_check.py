"""Check the whole ledger; exit non-zero on any breach (for cron, CI and after a restore)."""

from django.core.management.base import BaseCommand, CommandError

from payments.models import LedgerAccount, LedgerTransaction
from payments.selectors.ledger import ledger_breaches


class Command(BaseCommand):
    help = (
        "Check that every ledger transaction balances, balances match entries, no internal "
        "account is negative, held funds match milestone states and payouts never exceed "
        "what was released. Exits with status 1 on a breach."
    )

    def handle(self, *args, **options):
        breaches = ledger_breaches()
        transactions = LedgerTransaction.objects.count()
        accounts = LedgerAccount.objects.count()
        if breaches:
            for breach in breaches:
                self.stderr.write(f"BREACH: {breach}")
            raise CommandError(
                f"{len(breaches)} breach(es) in {transactions} transactions, {accounts} accounts"
            )
        self.stdout.write(
            self.style.SUCCESS(f"Ledger OK: {transactions} transactions, {accounts} accounts.")
        )
