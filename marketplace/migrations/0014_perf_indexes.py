"""Partial indexes of the public board (see bench/http_bench.py and README "Benchmarks").

Only published, visible jobs are ever listed, and they are a minority of the table once it has
years of drafts, expired and finished jobs: indexes over them alone stay small and keep the
board's keyset reads (newest first, optionally by commune) inside the index. Plain SQL rather
than Meta.indexes: these partial indexes are an optimisation of the board's queries, kept next
to the benchmark that justifies them; SQLite understands them too."""

from django.db import migrations

PUBLIC = "status = 'published' AND NOT is_hidden"

INDEXES = {
    "job_public_newest": "(published_at DESC, id DESC)",
    "job_public_commune_newest": "(commune, published_at DESC, id DESC)",
}


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0013_account_erasure")]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {name} ON marketplace_job {columns} WHERE {PUBLIC}",
            reverse_sql=f"DROP INDEX IF EXISTS {name}",
        )
        for name, columns in INDEXES.items()
    ]
