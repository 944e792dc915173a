"""The load harness (bench/load/run.py) on tiny numbers: it starts, loads, and its checks run.

The real run (50 users for 5 minutes, then 150 for a minute) is for a person to start and read;
this one proves in CI that the harness still works against the current code: a fresh database,
localstripe, gunicorn with two sync workers, a short locust run, then every check (no 5xx, every
acknowledged bid stored once, one contract per job, the ledger check, each webhook event
processed once) passing.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def missing_tool() -> str | None:
    if importlib.util.find_spec("locust") is None or not (BIN / "locust").exists():
        return "locust is not installed (pip install -e '.[dev]')"
    if not (BIN / "gunicorn").exists():
        return "gunicorn is not installed"
    if importlib.util.find_spec("localstripe") is None:
        return "localstripe is not installed"
    return None


def test_a_short_load_run_passes_every_check(tmp_path):
    reason = missing_tool()
    if reason:
        pytest.skip(reason)
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    name = f"{db['NAME']}_load_{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load" / "run.py"),
            "--users=10",
            "--duration=15",
            "--spike-users=20",
            "--spike-duration=10",
            "--spawn-rate=10",
            "--clients=4",
            "--members=12",
            "--jobs=30",
            "--jobs-with-bids=20",
            f"--server={server}",
            f"--database={name}",
            f"--out={tmp_path}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode == 2 and "did not answer" in result.stderr:
        pytest.skip(f"the site or localstripe could not start here: {result.stderr[-500:]}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout

    # The harness really exercised the site: requests were made and every one was recorded
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["requests"] > 0
    assert sum(results["statuses"].values()) == results["requests"]
    assert not any(key.endswith((" 500", " 502", " 503", " 504")) for key in results["statuses"])
    checks = json.loads((tmp_path / "verify.json").read_text())
    assert checks["problems"] == []
    assert checks["bids_acknowledged"] == len([b for b in results["bids"] if b["acked"]])
    # The database was dropped afterwards
    assert (
        shutil.which("psql") is None
        or name
        not in subprocess.run(
            ["psql", server + "/postgres", "-Atc", "SELECT datname FROM pg_database"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
    )
