from pathlib import Path

from django.core.management.base import BaseCommand

from matching.skill_import import ESCO_SKILLS_CSV, SIRIUS_TAGS_CSV, import_skills


class Command(BaseCommand):
    help = (
        "Insert or update the skills taxonomy: ESCO concepts and Sirius tags (idempotent). "
        "Malformed rows are reported with their line number and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--esco", type=Path, default=ESCO_SKILLS_CSV)
        parser.add_argument("--tags", type=Path, default=SIRIUS_TAGS_CSV)

    def handle(self, *args, esco: Path, tags: Path, **options):
        verbosity = options["verbosity"]
        step = 20

        def progress(done: int, total: int) -> None:
            if verbosity >= 1 and (done % step == 0 or done == total):
                self.stdout.write(f"  {done}/{total} rows")

        report = import_skills(esco_path=esco, tags_path=tags, progress=progress)
        for problem in report.malformed:
            self.stderr.write(f"  malformed: {problem}")
        self.stdout.write(
            f"Skills: {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} skipped (malformed)."
        )
