from django.core.management.base import BaseCommand
from django.db import transaction

from matching.models import Language
from matching.reference_data import LANGUAGES_CSV, load_languages


class Command(BaseCommand):
    help = "Insert or update the languages of matching/data/languages.csv (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            report = load_languages(Language)
        self.stdout.write(
            f"{LANGUAGES_CSV.name}: {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged"
        )
