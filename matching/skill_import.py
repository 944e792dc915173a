"""Importing the skills taxonomy: ESCO concepts and our own tags (files in matching/data/)."""

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from matching.models import Skill, SkillGroup  # defaults; a data migration passes its own
from matching.reference_data import DATA_DIR
from matching.search import normalise

ESCO_SKILLS_CSV = DATA_DIR / "esco_webdev_skills.csv"
ESCO_LABEL_FIXES_CSV = DATA_DIR / "esco_label_fixes.csv"
SKILL_GROUPS_CSV = DATA_DIR / "skill_groups.csv"
SIRIUS_TAGS_CSV = DATA_DIR / "sirius_tags.csv"

ESCO_SKILL_URI = re.compile(
    r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
LABEL_LANGUAGES = ("en", "fr", "nl", "ar")


class MalformedRow(ValueError):
    pass


@dataclass
class SkillImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    malformed: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.malformed)


def split_labels(raw: str) -> list[str]:
    return [label.strip() for label in (raw or "").split("|") if label.strip()]


def skill_search_text(skill) -> str:
    parts = [getattr(skill, f"label_{code}") for code in LABEL_LANGUAGES]
    for labels in (skill.alt_labels or {}).values():
        parts.extend(labels)
    if skill.tag:
        parts.append(skill.tag)
    if skill.group is not None:
        parts.extend(getattr(skill.group, f"label_{code}") for code in LABEL_LANGUAGES)
    return " | ".join(normalise(part) for part in parts if part)


def _upsert(report: SkillImportReport, skill_model, lookup: dict, values: dict):
    skill = skill_model.objects.filter(**lookup).select_related("group").first()
    if skill is None:
        skill = skill_model(**lookup, **values)
        skill.search_text = skill_search_text(skill)
        skill.save()
        report.added += 1
        return skill
    before = {name: getattr(skill, name) for name in values}
    before_search_text = skill.search_text
    for name, value in values.items():
        setattr(skill, name, value)
    skill.search_text = skill_search_text(skill)
    if before != values or before_search_text != skill.search_text:
        skill.save()
        report.updated += 1
    else:
        report.unchanged += 1
    return skill


def load_groups(path: Path = SKILL_GROUPS_CSV, group_model=SkillGroup) -> dict:
    groups = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            group, _ = group_model.objects.update_or_create(
                key=_group_key(row["key"]),
                defaults={
                    f"label_{code}": row[f"label_{code}"].strip() for code in LABEL_LANGUAGES
                },
            )
            groups[row["key"].strip()] = group
    return groups


def _group_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def load_label_fixes(path: Path = ESCO_LABEL_FIXES_CSV) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["uri"].strip(): row["label_fr"].strip() for row in csv.DictReader(handle)}


def _esco_values(row: dict, groups: dict, fixes: dict[str, str]) -> tuple[str, dict]:
    uri = (row.get("uri") or "").strip()
    if not ESCO_SKILL_URI.match(uri):
        raise MalformedRow(f"not an ESCO skill URI: {uri!r}")
    skill_type = (row.get("type") or "").strip()
    if skill_type not in ("skill/competence", "knowledge"):
        raise MalformedRow(f"type must be 'skill/competence' or 'knowledge', not {skill_type!r}")
    label_en = (row.get("label_en") or "").strip()
    if not label_en:
        raise MalformedRow("the English label is empty")
    group_name = (row.get("group") or "").strip()
    if group_name and group_name not in groups:
        raise MalformedRow(f"unknown group {group_name!r}")
    relevance = (row.get("esco_web_developer_2513") or "").strip()
    if relevance not in ("essential", "optional", ""):
        raise MalformedRow(f"unknown relevance {relevance!r}")
    alt_labels = {
        code: split_labels(row.get(f"alt_labels_{code}", ""))
        for code in ("en", "fr")
        if split_labels(row.get(f"alt_labels_{code}", ""))
    }
    return uri, {
        "source": "esco",
        "skill_type": skill_type,
        "reuse_level": (row.get("reuse_level") or "").strip(),
        "group": groups.get(group_name),
        "label_en": label_en,
        "label_fr": fixes.get(uri) or (row.get("label_fr") or "").strip(),
        "alt_labels": alt_labels,
        "web_developer_relevance": relevance,
    }


def _tag_values(row: dict, groups: dict) -> tuple[str, dict]:
    tag = (row.get("tag") or "").strip()
    if not TAG.match(tag):
        raise MalformedRow(f"not a tag (lower-case letters, digits, dashes): {tag!r}")
    label_en = (row.get("label_en") or "").strip()
    if not label_en:
        raise MalformedRow("the English label is empty")
    group_name = (row.get("group") or "").strip()
    if group_name and group_name not in groups:
        raise MalformedRow(f"unknown group {group_name!r}")
    alt = split_labels(row.get("alt_labels", ""))
    return tag, {
        "source": "sirius",
        "skill_type": "technology",
        "reuse_level": "",
        "group": groups.get(group_name),
        "label_en": label_en,
        "label_fr": (row.get("label_fr") or "").strip() or label_en,
        "alt_labels": {"any": alt} if alt else {},
        "web_developer_relevance": "",
    }


def import_skills(
    *,
    esco_path: Path = ESCO_SKILLS_CSV,
    tags_path: Path = SIRIUS_TAGS_CSV,
    progress: Callable[[int, int], None] | None = None,
    skill_model=Skill,
    group_model=SkillGroup,
) -> SkillImportReport:
    """Insert or update every ESCO concept and every Sirius tag. Idempotent.

    A malformed row is reported with its file and line number and skipped; the others are
    imported (each row in its own savepoint, so one bad row never undoes the good ones)."""
    report = SkillImportReport()
    with transaction.atomic():
        groups = load_groups(group_model=group_model)
        fixes = load_label_fixes()
    sources = [
        (esco_path, lambda row: _esco_values(row, groups, fixes), "uri"),
        (tags_path, lambda row: _tag_values(row, groups), "tag"),
    ]
    rows = []
    for path, parse, key in sources:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                rows.append((path, reader.line_num, row, parse, key))
    for done, (path, line, row, parse, key) in enumerate(rows, start=1):
        try:
            if None in row or any(value is None for value in row.values()):
                raise MalformedRow("wrong number of columns")
            identifier, values = parse(row)
            with transaction.atomic():
                _upsert(report, skill_model, {key: identifier}, values)
        except MalformedRow as problem:
            report.malformed.append(f"{path.name}, line {line}: {problem}")
        if progress is not None:
            progress(done, len(rows))
    return report
