import os
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run localstripe (the offline fake of Stripe) on 127.0.0.1, its state kept in "
        "VAR_DIR/localstripe.pickle. The port defaults to the one in LOCALSTRIPE_URL."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, help="Default: the port of LOCALSTRIPE_URL.")
        parser.add_argument(
            "--from-scratch", action="store_true", help="Start empty, discarding the saved state."
        )

    def handle(self, *args, port=None, from_scratch=False, **options):
        if port is None:
            url = urlsplit(settings.LOCALSTRIPE_URL)
            if url.port is None:
                raise CommandError(
                    f"LOCALSTRIPE_URL={settings.LOCALSTRIPE_URL!r} names no port: pass --port."
                )
            port = url.port
        state_file = settings.VAR_DIR / "localstripe.pickle"
        argv = [sys.executable, "-m", "payments.localstripe_server"]
        argv += ["--port", str(port), "--state-file", str(state_file)]
        if from_scratch:
            argv.append("--from-scratch")
        self.stdout.write(f"localstripe on http://127.0.0.1:{port}, state in {state_file}")
        self.stdout.flush()
        # A fresh process rather than localstripe inside this one: the launcher must not
        # depend on Django, and `-m` must find the project whatever the current directory.
        python_path = [str(settings.BASE_DIR), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, python_path))}
        os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter and module
