from django.core.management.base import BaseCommand

from marketplace.catalogues import compile_catalogues


class Command(BaseCommand):
    help = "Compile the translation catalogues in locale/ with polib (no GNU gettext needed)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Recompile even if up to date.")

    def handle(self, *args, force=False, **options):
        written = compile_catalogues(force=force)
        self.stdout.write(f"{len(written)} catalogue(s) compiled.")
