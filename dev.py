#!/usr/bin/env python3
"""The two commands of the README, with nothing to install first but Python >= 3.11.

    python3 dev.py run    # set up, load the demo world, start localstripe and the site
    python3 dev.py test   # set up, run the whole test suite on SQLite (no service needed)

Set-up (virtual environment in .venv, dependencies, compiled translations, migrations) is
idempotent and skipped when nothing changed. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VAR = ROOT / "var"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".sirius-install-stamp"

HOST = "127.0.0.1"
WEB_PORT = int(os.environ.get("SIRIUS_PORT", "8000"))
LOCALSTRIPE_PORT = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 — dev.py may be started by an older Python
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        say(f"Creating the virtual environment in {VENV.name}/")
        run(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        say("Installing the dependencies (once, or after pyproject.toml changed)")
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
        STAMP.write_text(wanted)
    VAR.mkdir(exist_ok=True)


def django_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    run(PYTHON, "manage.py", *args, env=env)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((HOST, port)) != 0


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"localstripe stopped at start (exit code {process.returncode}).")
        if not port_is_free(port):
            return
        time.sleep(0.2)
    sys.exit(f"localstripe did not start listening on {HOST}:{port}.")


def register_localstripe_webhook(env: dict[str, str]) -> None:
    """Tell localstripe where to send its signed events (it keeps webhooks in memory only, so
    at every start). The secret must be the site's STRIPE_WEBHOOK_SECRET: same environment
    variable, same default as config/settings.py."""
    site_url = env.get("SITE_URL", f"http://{HOST}:{WEB_PORT}").rstrip("/")
    fields = {
        "url": f"{site_url}/payments/stripe/webhook/",
        "secret": env.get("STRIPE_WEBHOOK_SECRET", "whsec_sirius_localstripe"),
    }
    request = urllib.request.Request(
        f"http://{HOST}:{LOCALSTRIPE_PORT}/_config/webhooks/sirius",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 — our own loopback URL
            pass
    except OSError as error:
        sys.exit(f"Could not register the webhook with localstripe: {error}")
    say(f"localstripe sends its webhooks to {fields['url']}")


def command_run() -> None:
    ensure_environment()
    env = django_env(
        DEBUG=os.environ.get("DEBUG", "true"),
        LOCALSTRIPE_URL=f"http://{HOST}:{LOCALSTRIPE_PORT}",
    )
    for port, what in ((WEB_PORT, "SIRIUS_PORT"), (LOCALSTRIPE_PORT, "LOCALSTRIPE_PORT")):
        if not port_is_free(port):
            sys.exit(f"Port {port} on {HOST} is taken: stop what uses it or set {what}.")
    manage("compile_catalogues", env=env)
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("seed_demo", env=env)
    say(f"Starting localstripe (fake Stripe API) on http://{HOST}:{LOCALSTRIPE_PORT}")
    with (VAR / "localstripe.log").open("ab") as log:
        localstripe = subprocess.Popen(
            [
                str(PYTHON),
                "-m",
                "payments.localstripe_server",
                "--port",
                str(LOCALSTRIPE_PORT),
                "--state-file",
                str(VAR / "localstripe.pickle"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # Periodic work (job expiry, expiry notices): one pass every five minutes.
    with (VAR / "periodic.log").open("ab") as log:
        periodic = subprocess.Popen(
            [str(PYTHON), "manage.py", "run_periodic", "--every", "300"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(LOCALSTRIPE_PORT, localstripe)
        register_localstripe_webhook(env)
        say(f"The marketplace runs at http://{HOST}:{WEB_PORT}/  (Ctrl+C stops everything)")
        subprocess.run(
            [str(PYTHON), "manage.py", "runserver", f"{HOST}:{WEB_PORT}", "--noreload"],
            cwd=ROOT,
            env=env,
            check=False,
        )
    except KeyboardInterrupt:
        pass
    finally:
        periodic.terminate()
        localstripe.terminate()
        try:
            localstripe.wait(timeout=10)
        except subprocess.TimeoutExpired:
            localstripe.kill()


def ensure_axe() -> None:
    """axe-core, from npm, for the browser tests' accessibility audits (tests/axe/): installed
    with `npm ci` when npm is there and the lock file changed since the last install. Without
    npm, or offline, the tests that need it skip and say why."""
    axe_dir = ROOT / "tests" / "axe"
    lock = axe_dir / "package-lock.json"
    stamp = axe_dir / "node_modules" / ".sirius-install-stamp"
    npm = shutil.which("npm")
    if npm is None or not lock.exists():
        return
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say("Installing axe-core for the accessibility tests (npm ci --prefix tests/axe)")
    done = subprocess.run(
        [npm, "ci", "--prefix", str(axe_dir), "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        check=False,
    )
    if done.returncode == 0:
        stamp.write_text(wanted)
    else:
        say("npm ci failed: the accessibility audits will be skipped")


def command_test(pytest_args: list[str]) -> None:
    ensure_environment()
    ensure_axe()
    env = django_env()
    # The README's test command always runs on the embedded default database (SQLite);
    # .ci/run runs the suite a second time against PostgreSQL.
    env.pop("DATABASE_URL", None)
    result = subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
    sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"run", "test"}:
        sys.exit(__doc__)
    if argv[0] == "run":
        command_run()
    else:
        command_test(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
