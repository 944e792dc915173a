import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from matching.recommendations import exposure_distribution


class Command(BaseCommand):
    help = (
        "How evenly the matching shows members: exposures per active member over a period, "
        "their Gini coefficient and the share of members never shown."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days: int, **options):
        since = timezone.localdate() - datetime.timedelta(days=days)
        report = exposure_distribution(since=since)
        self.stdout.write(f"Exposure since {since} ({days} days)")
        self.stdout.write(f"  active members:   {report['members']}")
        self.stdout.write(f"  exposures:        {report['exposures']}")
        self.stdout.write(f"  Gini coefficient: {report['gini']:.3f}")
        self.stdout.write(
            f"  never shown:      {report['never_shown']} "
            f"({report['never_shown_share']:.1%} of active members)"
        )
