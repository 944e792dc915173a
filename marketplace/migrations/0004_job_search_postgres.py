"""PostgreSQL only: French full-text search that ignores accents.

Creates the `unaccent` extension, a text search configuration `french_unaccent` (French
stemming after unaccent) and a GIN index on Job.search_vector. Nothing happens on SQLite,
where the job board falls back to Job.search_text."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'french_unaccent') THEN
           CREATE TEXT SEARCH CONFIGURATION french_unaccent ( COPY = french );
           ALTER TEXT SEARCH CONFIGURATION french_unaccent
             ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
         END IF;
       END $$""",
    "CREATE INDEX IF NOT EXISTS job_search_vector_gin ON marketplace_job USING gin (search_vector)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS job_search_vector_gin",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0003_jobs_moderation_notifications")]

    operations = [migrations.RunPython(forward, backward)]
