"""Backups: a dump of the database restores into a fresh one whose ledger checks clean.

How the cooperative backs up and restores (PostgreSQL 15 client tools; ``sirius`` is the
production database, ``sirius_restore`` a new one; connection settings from the usual
``PGHOST``/``PGPORT``/``PGUSER`` variables or ``-h/-p/-U``)::

    # Back up (nightly, from cron or a systemd timer; a consistent snapshot, the site stays up)
    pg_dump --format=custom --no-owner --file=sirius-$(date +%F).dump sirius

    # Restore into a fresh database, never over the live one
    createdb sirius_restore
    pg_restore --no-owner --exit-on-error --dbname=sirius_restore sirius-2026-11-26.dump

    # Check it before use: the whole ledger balances and matches the contracts (exit 0)
    DATABASE_URL=postgres://USER@HOST:5432/sirius_restore python manage.py ledger_check

    # Then point the site at it (DATABASE_URL=.../sirius_restore) or rename it:
    #   ALTER DATABASE sirius RENAME TO sirius_old; ALTER DATABASE sirius_restore RENAME TO sirius;

The custom format (``-Fc``) is compressed and lets ``pg_restore`` restore in parallel
(``--jobs=N``) or pick single tables. The ledger's triggers (balanced transactions, append-only
entries) are part of the dump: a restored database refuses a bad posting as the original does.
Uploaded files (``PRIVATE_MEDIA_ROOT``) are not in the database: back that folder up beside the
dump, at the same time.
"""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from payments.models import Invoice, LedgerAccount, LedgerTransaction
from payments.selectors.ledger import ledger_breaches
from tests.factories import AdminFactory, approve_milestone, fund_milestone, make_contract

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("createdb")),
        reason="needs PostgreSQL's client tools (pg_dump, pg_restore, createdb): "
        "apt-get install postgresql-client",
    ),
]

ROOT = Path(__file__).resolve().parent.parent


def libpq_env() -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432)}
    if db["USER"]:
        env["PGUSER"] = db["USER"]
    if db["PASSWORD"]:
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def database_url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def figures() -> dict:
    """What must be identical in the copy: every balance, every document number, the counts."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, balance_cents FROM payments_ledgeraccount ORDER BY code")
        balances = cursor.fetchall()
        cursor.execute("SELECT number FROM payments_invoice ORDER BY number")
        numbers = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT count(*), coalesce(sum(amount_cents), 0) FROM payments_ledgerentry "
            "WHERE amount_cents > 0"
        )
        entries = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM payments_ledgertransaction")
        transactions = cursor.fetchone()[0]
    return {
        "balances": [list(row) for row in balances],
        "invoice_numbers": numbers,
        "entries": list(entries),
        "transactions": transactions,
    }


def test_a_dump_restored_into_a_fresh_database_passes_the_ledger_check(tmp_path, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Given a few contracts: funded, one milestone released, one refunded
    admin = AdminFactory()
    for _ in range(3):
        contract = make_contract()
        first, second = contract.milestones.order_by("position")
        fund_milestone(first, by=admin)
        approve_milestone(first)
        fund_milestone(second, by=admin)
    from payments.services import funds

    funds.milestone_refund(milestone=second, by=admin, reason="Annulé d'un commun accord")
    assert ledger_breaches() == []
    original = figures()
    assert original["transactions"] == LedgerTransaction.objects.count() > 0
    assert len(original["invoice_numbers"]) == Invoice.objects.count() >= 6
    assert LedgerAccount.objects.exclude(balance_cents=0).exists()

    env = libpq_env()
    source = connection.settings_dict["NAME"]
    copy = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "sirius.dump"

    # When it is dumped, and restored into a fresh database with the documented commands
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(["createdb", copy], env=env, check=True, capture_output=True)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={copy}", str(dump)],
            env=env,
            check=True,
            capture_output=True,
        )

        # Then the ledger check passes on the copy (a separate process, pointed at it)...
        check = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "ledger_check"],
            cwd=ROOT,
            env={
                **env,
                "DATABASE_URL": database_url(copy),
                "DJANGO_SETTINGS_MODULE": "config.settings",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stderr
        assert f"{original['transactions']} transactions" in check.stdout

        # ...and its balances, invoice numbers and totals are the original's
        import psycopg

        with psycopg.connect(database_url(copy).replace("postgres://", "postgresql://")) as copy_db:
            cursor = copy_db.cursor()
            cursor.execute("SELECT code, balance_cents FROM payments_ledgeraccount ORDER BY code")
            assert [list(row) for row in cursor.fetchall()] == original["balances"]
            cursor.execute("SELECT number FROM payments_invoice ORDER BY number")
            assert [row[0] for row in cursor.fetchall()] == original["invoice_numbers"]
            cursor.execute(
                "SELECT count(*), coalesce(sum(amount_cents), 0) FROM payments_ledgerentry "
                "WHERE amount_cents > 0"
            )
            assert list(cursor.fetchone()) == original["entries"]
            # The ledger's own rules came along: its triggers are in the copy too
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND "
                "tgrelid = 'payments_ledgerentry'::regclass"
            )
            assert cursor.fetchone()[0] >= 1
    finally:
        subprocess.run(
            ["dropdb", "--if-exists", "--force", copy], env=env, check=False, capture_output=True
        )
