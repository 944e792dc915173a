"""Loading the reference tables shipped in matching/data/ (see its README for provenance)."""

import csv
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES_CSV = DATA_DIR / "languages.csv"


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def load_languages(language_model, path: Path = LANGUAGES_CSV) -> ImportReport:
    """Insert or update every language of the CSV, keyed by BCP-47 tag. Idempotent.

    Takes the model as an argument so that a data migration can pass its historical model."""
    report = ImportReport()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {
                "name_en": row["language_en"].strip(),
                "name_fr": row["language_fr"].strip(),
                "autonym": row["autonym"].strip(),
                "iso639_3": row["iso639_3"].strip(),
                "direction": "rtl" if row["direction"].strip() == "rtl" else "ltr",
                "esco_uri": row["esco_language_uri"].strip(),
            }
            current = language_model.objects.filter(code=row["bcp47_tag"].strip()).first()
            if current is None:
                language_model.objects.create(code=row["bcp47_tag"].strip(), **values)
                report.added += 1
            elif any(getattr(current, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(current, key, value)
                current.save()
                report.updated += 1
            else:
                report.unchanged += 1
    return report
