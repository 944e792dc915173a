#!/usr/bin/env python3
"""A bounded load test on loopback, then the "nothing lost" checks. Exits non-zero on a failure.

    .venv/bin/python bench/load/run.py                      # 50 users 300 s, then 150 users 60 s
    .venv/bin/python bench/load/run.py --users 10 --duration 15 --spike-users 20 --spike-duration 10

1. Creates a fresh PostgreSQL database (``--database``, on ``--server``), migrates it, seeds a
   small world (clients, members with a validated skill, published jobs: world.py seed).
2. Starts localstripe and the site under gunicorn (2 sync workers, DEBUG off, the project's
   gunicorn config when there is one), both on 127.0.0.1.
3. Runs locust headless (locustfile.py): visitors browse; members bid (a unique marker in each
   message) and deliver; clients accept (sometimes several tabs at once), pay by card through the
   site against localstripe and deliver the signed ``payment_intent.succeeded`` webhook themselves
   (sometimes twice at once), and approve.
4. Verifies: no 5xx (nor dropped connection); every bid acknowledged with 2xx exists exactly once;
   no job has two contracts; ``manage.py ledger_check`` exits 0; processed webhook events equal
   the unique events sent. Prints requests/s and failures; drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = Path(sys.executable)
BIN = PYTHON.parent
HOST = "127.0.0.1"
GUNICORN_CONFIGS = (ROOT / "gunicorn.conf.py", ROOT / "config" / "gunicorn.py")


class Failed(Exception):
    """A step of the harness could not run (not a failed check)."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Failed(f"{what} stopped at start (exit code {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - our own loopback URL
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise Failed(f"{what} did not answer on {url}")


def recreate_database(server: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            admin.execute(f'CREATE DATABASE "{name}"')


def run_django(args: list[str], env: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and tools
        [str(PYTHON), *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Bounded load test of the site on loopback.")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300, help="seconds at --users")
    parser.add_argument("--spike-users", type=int, default=150)
    parser.add_argument("--spike-duration", type=int, default=60, help="seconds at --spike-users")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument(
        "--jobs-with-bids", type=int, default=40, help="jobs seeded with three offers"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--server",
        default=os.environ.get("LOAD_PG_SERVER", "postgres://root@127.0.0.1:5432"),
        help="PostgreSQL server URL, without a database name",
    )
    parser.add_argument("--database", default="sirius_rel_load")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--out", type=Path, help="folder for logs and results (default: temp)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    work = args.out or Path(tempfile.mkdtemp(prefix="sirius-load-"))
    work.mkdir(parents=True, exist_ok=True)
    web_port, stripe_port = free_port(), free_port()
    webhook_secret = "whsec_load_" + secrets.token_hex(8)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{args.server}/{args.database}",
        "DEBUG": "false",
        "SECRET_KEY": "load-" + secrets.token_hex(32),
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"http://{HOST}:{web_port}",
        "LOCALSTRIPE_URL": f"http://{HOST}:{stripe_port}",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "SIRIUS_VAR_DIR": str(work / "var"),
        "SIRIUS_PLAIN_STATIC": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)  # the locmem cache: allauth's rate limits stay per worker
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        say(f"Fresh database {args.database}; work folder {work}")
        recreate_database(args.server, args.database)
        started = time.monotonic()
        run_django(["manage.py", "migrate", "--no-input", "-v", "0"], env)
        world_file = work / "world.json"
        run_django(
            [
                str(HERE / "world.py"),
                "seed",
                str(world_file),
                "--clients",
                str(args.clients),
                "--members",
                str(args.members),
                "--jobs",
                str(args.jobs),
                "--jobs-with-bids",
                str(args.jobs_with_bids),
            ],
            env,
        )
        say(f"Migrated and seeded in {time.monotonic() - started:.0f} s")

        stripe_log = (work / "localstripe.log").open("wb")
        logs.append(stripe_log)
        localstripe = subprocess.Popen(  # noqa: S603 - our own interpreter and tools
            [
                str(PYTHON),
                "-m",
                "payments.localstripe_server",
                "--port",
                str(stripe_port),
                "--state-file",
                str(work / "var" / "localstripe.pickle"),
                "--from-scratch",
            ],
            cwd=ROOT,
            env=env,
            stdout=stripe_log,
            stderr=subprocess.STDOUT,
        )
        processes.append(localstripe)
        wait_http(f"http://{HOST}:{stripe_port}/v1/balance", localstripe, "localstripe")

        gunicorn_cmd = [str(BIN / "gunicorn")]
        config = next((c for c in GUNICORN_CONFIGS if c.exists()), None)
        if config is not None:
            gunicorn_cmd += ["--config", str(config)]
        gunicorn_cmd += [
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"{HOST}:{web_port}",
            "--timeout",
            "60",
            "config.wsgi:application",
        ]
        web_log = (work / "gunicorn.log").open("wb")
        logs.append(web_log)
        site = subprocess.Popen(  # noqa: S603 - our own interpreter and tools
            gunicorn_cmd, cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT
        )
        processes.append(site)
        wait_http(f"http://{HOST}:{web_port}/jobs/", site, "gunicorn")
        say(
            f"Site on http://{HOST}:{web_port}/ ({args.workers} sync workers"
            f"{', config ' + config.name if config else ''}), localstripe on {stripe_port}"
        )

        results_file = work / "results.json"
        locust_env = {
            **env,
            "LOAD_WORLD": str(world_file),
            "LOAD_RESULTS": str(results_file),
            "LOAD_WEBHOOK_SECRET": webhook_secret,
            "LOAD_LOCALSTRIPE_URL": f"http://{HOST}:{stripe_port}",
            "LOAD_USERS": str(args.users),
            "LOAD_DURATION": str(args.duration),
            "LOAD_SPIKE_USERS": str(args.spike_users),
            "LOAD_SPIKE_DURATION": str(args.spike_duration),
            "LOAD_SPAWN_RATE": str(args.spawn_rate),
        }
        say(
            f"locust: {args.users} users for {args.duration} s, then {args.spike_users} users "
            f"for {args.spike_duration} s"
        )
        with (work / "locust.log").open("wb") as locust_log:
            locust = subprocess.run(  # noqa: S603 - our own interpreter and tools
                [
                    str(BIN / "locust"),
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "--host",
                    f"http://{HOST}:{web_port}",
                    "--only-summary",
                    "--csv",
                    str(work / "locust"),
                    "--exit-code-on-error",
                    "0",
                ],
                cwd=ROOT,
                env=locust_env,
                stdout=locust_log,
                stderr=subprocess.STDOUT,
                timeout=args.duration + args.spike_duration + 300,
                check=False,
            )
        if not results_file.exists():
            raise Failed(
                f"locust wrote no results (exit {locust.returncode}); see {work}/locust.log"
            )
        results = json.loads(results_file.read_text())

        # The site is stopped before the checks: nothing may still be writing.
        site.terminate()
        site.wait(timeout=30)
        return verify_and_report(args, env, work, results)
    except (Failed, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or ""
        print(f"HARNESS FAILED: {error}\n{detail[-3000:]}", file=sys.stderr, flush=True)
        return 2
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in logs:
            log.close()
        if not args.keep:
            recreate_database(args.server, args.database, drop_only=True)


def verify_and_report(args, env: dict, work: Path, results: dict) -> int:
    statuses: dict[str, int] = results["statuses"]
    server_errors = {k: n for k, n in statuses.items() if k.rsplit(" ", 1)[1].startswith("5")}
    dropped = {k: n for k, n in statuses.items() if k.rsplit(" ", 1)[1] == "0"}
    by_class: dict[str, int] = {}
    for key, count in statuses.items():
        status = key.rsplit(" ", 1)[1]
        by_class[status[0] + "xx" if status != "0" else "no answer"] = (
            by_class.get(status[0] + "xx" if status != "0" else "no answer", 0) + count
        )

    verify_file = work / "verify.json"
    run_django(
        [str(HERE / "world.py"), "verify", str(work / "results.json"), str(verify_file)], env
    )
    checks = json.loads(verify_file.read_text())
    ledger = run_django(["manage.py", "ledger_check"], env, check=False)

    problems = list(checks["problems"])
    if server_errors:
        problems.append(f"5xx answers: {server_errors}")
    if dropped:
        problems.append(f"requests without an answer: {dropped}")
    if ledger.returncode != 0:
        problems.append(f"ledger_check failed: {(ledger.stderr or ledger.stdout).strip()[-2000:]}")

    print("\n=== Load test ===", flush=True)
    print(
        f"shape: {args.users} users x {args.duration} s, then {args.spike_users} users x "
        f"{args.spike_duration} s; {args.workers} gunicorn sync workers on PostgreSQL"
    )
    print(
        f"requests: {results['requests']}  ({results['requests_per_second']:.1f} req/s)  "
        f"locust failures: {results['failures']}"
    )
    print(
        f"latency ms: median {results['median_ms']}  p95 {results['p95_ms']}  "
        f"p99 {results['p99_ms']}  max {results['max_ms']:.0f}"
    )
    print(f"answers by class: {dict(sorted(by_class.items()))}")
    print(
        f"bids: {checks['bids_sent']} sent, {checks['bids_acknowledged']} acknowledged, "
        f"{checks['bids_in_db']} in the database "
        f"({checks['bids_unacknowledged_but_saved']} saved without acknowledgement, "
        f"{checks['bids_cut_off_by_the_end']} cut off by the end of the run)"
    )
    print(f"contracts: {checks['contracts']}")
    print(
        f"webhooks: {checks['webhook_deliveries']} deliveries of "
        f"{checks['webhook_unique_events']} unique events, "
        f"{checks['webhook_events_processed']} processed"
    )
    print(
        f"payments succeeded: {checks['payments_succeeded']}, funding transactions: "
        f"{checks['funding_transactions']}, releases: {checks['release_transactions']}"
    )
    print(f"ledger_check: {(ledger.stdout or ledger.stderr).strip()}")
    print(f"logs and results: {work}")
    if problems:
        print("FAILED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("PASSED: no 5xx, nothing lost, nothing doubled, ledger clean.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
