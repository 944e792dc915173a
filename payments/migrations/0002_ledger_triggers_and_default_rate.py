"""What the database itself enforces about the ledger, and the statutes' default solidarity share.

PostgreSQL (production and CI): a DEFERRABLE INITIALLY DEFERRED constraint trigger checks at
commit that every transaction touched has at least two entries summing to zero, and triggers
refuse any UPDATE or DELETE of posted entries and transactions (corrections are reversing
transactions). SQLite (the zero-setup demo) gets the UPDATE guards only: Django's test flush
empties tables with DELETE there, and SQLite has no deferred triggers; the posting service
checks the balance on both databases.
"""

import datetime

from django.db import migrations

POSTGRES_FORWARD = """
CREATE FUNCTION payments_ledger_check_balanced() RETURNS trigger AS $$
DECLARE
    tx_id bigint;
    total bigint;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'payments_ledgerentry' THEN
        tx_id := NEW.transaction_id;
    ELSE
        tx_id := NEW.id;
    END IF;
    SELECT COALESCE(SUM(amount_cents), 0), COUNT(*) INTO total, n
      FROM payments_ledgerentry WHERE transaction_id = tx_id;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance (% entries, sum %)', tx_id, n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_ledgerentry_balanced
    AFTER INSERT ON payments_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_check_balanced();

CREATE CONSTRAINT TRIGGER payments_ledgertransaction_balanced
    AFTER INSERT ON payments_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_check_balanced();

CREATE FUNCTION payments_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversing transaction instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();

CREATE TRIGGER payments_ledgertransaction_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS payments_ledgertransaction_append_only ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_ledgerentry_append_only ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_append_only();
DROP TRIGGER IF EXISTS payments_ledgertransaction_balanced ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_ledgerentry_balanced ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_check_balanced();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER payments_ledgerentry_no_update BEFORE UPDATE ON payments_ledgerentry
       BEGIN SELECT RAISE(ABORT, 'payments_ledgerentry is append-only'); END""",
    """CREATE TRIGGER payments_ledgertransaction_no_update
       BEFORE UPDATE ON payments_ledgertransaction
       BEGIN SELECT RAISE(ABORT, 'payments_ledgertransaction is append-only'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS payments_ledgerentry_no_update",
    "DROP TRIGGER IF EXISTS payments_ledgertransaction_no_update",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


def default_rate(apps, schema_editor):
    SolidarityRate = apps.get_model("payments", "SolidarityRate")
    SolidarityRate.objects.get_or_create(
        effective_from=datetime.date(2000, 1, 1),
        defaults={"rate_bp": 1000, "source": "Statutes (default 10 %)"},
    )


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.RunPython(default_rate, migrations.RunPython.noop),
    ]
