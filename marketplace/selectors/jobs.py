"""Reads of jobs for the public board: filters, full-text search and keyset pagination.

The board never counts the table. It reads one row more than a page to know whether another page
follows, and it pages on the sort key plus the id (keyset), not on an offset: page 50 costs what
page 1 costs, and a job published meanwhile neither repeats a row nor hides one."""

import base64
import datetime
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, models
from django.db.models import (
    Exists,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models import Job, JobLanguage, JobSkill, JobStatus, SkillImportance, WorkMode
from marketplace.models.jobs import BudgetType
from marketplace.services.jobs import SEARCH_CONFIG
from matching.search import normalise

PAGE_SIZE = 20
# Bounds the SQLite fallback to a fixed number of LIKE clauses whatever is typed.
MAX_SEARCH_WORDS = 10
REMOTE_MODES = (WorkMode.REMOTE, WorkMode.HYBRID)
# What a card shows, plus the sort keys: the description, its HTML and the search columns are
# the bulk of a row and the board never shows them.
CARD_FIELDS = (
    "pk",
    "title",
    "category",
    "commune",
    "work_mode",
    "budget_type",
    "budget_min_cents",
    "budget_max_cents",
    "hourly_rate_cents",
    "estimated_hours",
    "budget_cents",
    "closes_on",
    "published_at",
)


class JobSort(models.TextChoices):
    NEWEST = "newest", _("newest first")
    CLOSING_SOON = "closing", _("closing soon first")
    BUDGET_HIGH = "budget_high", _("highest budget first")
    BUDGET_LOW = "budget_low", _("lowest budget first")
    RELEVANCE = "relevance", _("best match first (with search words)")


def full_text_search_available() -> bool:
    """The search vector, its French configuration and its index exist on PostgreSQL only."""
    return connection.vendor == "postgresql"


# --- Sort keys and cursors ------------------------------------------------------------------


def _load_aware_datetime(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text)
    if timezone.is_naive(value):
        raise ValueError("a cursor's time must carry its offset")
    # In UTC now, as the database compares it: a time at the edge of the calendar overflows
    # here (OverflowError, caught by Cursor.decode) rather than in the query.
    return value.astimezone(datetime.UTC)


def _load_finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a cursor's rank must be a finite number")
    return value


def _load_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("a cursor's budget cannot be negative")
    return value


@dataclass(frozen=True)
class SortKey:
    """The column (or annotation) a sort pages on, and how a cursor writes and reads its value.

    Rows with an equal key are ordered by id in the same direction, so the order is total and
    the keyset never skips or repeats a row when many jobs share a timestamp or a budget."""

    field: str
    descending: bool
    dump: Callable[[Any], str]
    load: Callable[[str], Any]

    def ordering(self, *, descending: bool) -> tuple[str, str]:
        return (f"-{self.field}", "-pk") if descending else (self.field, "pk")

    def beyond(self, value: Any, pk: int, *, descending: bool) -> Q:
        """Rows that come after (value, pk) in the given direction."""
        lookup = "lt" if descending else "gt"
        return Q(**{f"{self.field}__{lookup}": value}) | Q(
            **{self.field: value, f"pk__{lookup}": pk}
        )


_NEWEST_KEY = SortKey("published_at", True, datetime.datetime.isoformat, _load_aware_datetime)
SORT_KEYS: dict[str, SortKey] = {
    JobSort.NEWEST: _NEWEST_KEY,
    JobSort.CLOSING_SOON: SortKey(
        "closes_on", False, datetime.date.isoformat, datetime.date.fromisoformat
    ),
    JobSort.BUDGET_HIGH: SortKey("budget_cents", True, str, _load_count),
    JobSort.BUDGET_LOW: SortKey("budget_cents", False, str, _load_count),
    # repr() writes the shortest text that reads back as the same float, so the equality
    # half of the keyset condition still matches the row the cursor came from.
    JobSort.RELEVANCE: SortKey("rank", True, repr, _load_finite_float),
}


def sort_key(sort: str) -> SortKey:
    # SQLite has no ranking: "best match" there lists the jobs matching every word, newest first.
    if sort == JobSort.RELEVANCE and not full_text_search_available():
        return _NEWEST_KEY
    return SORT_KEYS[sort]


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just after the row (key, pk) in a sort, or just before it when
    `backwards` (the "previous" link)."""

    sort: str
    key: Any
    pk: int
    backwards: bool = False

    def encode(self) -> str:
        direction = "b" if self.backwards else "a"
        payload = json.dumps([self.sort, direction, sort_key(self.sort).dump(self.key), self.pk])
        return base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        """The cursor written by encode(); ValueError for anything else (an edited or an old
        link). It needs no signature: a forged cursor can only choose where a public list starts."""
        try:
            padded = token + "=" * (-len(token) % 4)
            sort, direction, key, pk = json.loads(base64.urlsafe_b64decode(padded))
            if sort not in JobSort.values or direction not in ("a", "b"):
                raise ValueError("unknown sort or direction")
            if not isinstance(key, str) or not isinstance(pk, int) or isinstance(pk, bool):
                raise ValueError("malformed cursor")
            return cls(sort, sort_key(sort).load(key), pk, backwards=direction == "b")
        # binascii and JSON errors are ValueErrors.
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"invalid page cursor: {error}") from error


# --- Parameters and results -----------------------------------------------------------------


@dataclass(frozen=True)
class JobBoardParams:
    """The board's filters, already validated (see views_board.JobBoardForm)."""

    q: str = ""
    skill_ids: tuple[int, ...] = ()
    language: str = ""  # a BCP-47 code, e.g. "fr"
    category: str = ""
    budget_min_euros: int | None = None
    budget_max_euros: int | None = None
    commune: str = ""
    remote_only: bool = False
    posted_within_days: int | None = None
    sort: str = JobSort.NEWEST
    cursor: Cursor | None = None


@dataclass(frozen=True)
class Budget:
    """A job's budget in euros, for display: a fixed range, or an hourly rate times hours."""

    is_hourly: bool
    low: Decimal | None = None
    high: Decimal | None = None
    hourly_rate: Decimal | None = None
    hours: int | None = None

    @classmethod
    def of(cls, job: Job) -> "Budget":
        if job.budget_type == BudgetType.HOURLY:
            return cls(True, hourly_rate=_euros(job.hourly_rate_cents), hours=job.estimated_hours)
        return cls(False, low=_euros(job.budget_min_cents), high=_euros(job.budget_max_cents))


def _euros(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


@dataclass(frozen=True)
class LanguageNeedLabel:
    name: str
    min_level: str


@dataclass(frozen=True)
class JobCard:
    """What a card on the board shows, labels already in the viewer's language."""

    pk: int
    title: str
    category: str
    commune: str
    work_mode: str
    budget: Budget
    essential_skills: tuple[str, ...]
    languages: tuple[LanguageNeedLabel, ...]
    closes_on: datetime.date
    published_at: datetime.datetime


@dataclass(frozen=True)
class JobBoardPage:
    cards: list[JobCard]
    next_cursor: Cursor | None
    previous_cursor: Cursor | None


# --- The query ------------------------------------------------------------------------------


def public_jobs() -> QuerySet[Job]:
    """Jobs anybody may see on the board. A job past its closing date takes no more bids even
    before the daily expiry pass (services.jobs.jobs_expire) marks it expired, so it leaves the
    board on that day already."""
    return Job.objects.filter(
        status=JobStatus.PUBLISHED, is_hidden=False, closes_on__gte=timezone.localdate()
    )


def search_words(q: str) -> list[str]:
    """The normalised words of a query, as the SQLite fallback matches them."""
    return re.findall(r"\w+", normalise(q))[:MAX_SEARCH_WORDS]


def _search(jobs: QuerySet[Job], q: str, *, ranked: bool) -> QuerySet[Job]:
    if full_text_search_available():
        # websearch syntax: "exact phrase", -excluded, or; the configuration strips accents
        # then stems, so "Pâtisseries" finds "pâtisserie".
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        jobs = jobs.filter(search_vector=query)
        if not ranked:
            return jobs
        # ts_rank() is a float4, which reaches Python already rounded to 7 digits: compared
        # with that, the cursor's own row no longer "equals" itself and the keyset loops. As a
        # float8 it round-trips exactly through the cursor.
        return jobs.annotate(rank=Cast(SearchRank(F("search_vector"), query), FloatField()))
    for word in search_words(q):
        jobs = jobs.filter(search_text__contains=word)
    return jobs


def _filter(jobs: QuerySet[Job], params: JobBoardParams) -> QuerySet[Job]:
    # Exists() rather than a join: a job needing two of the chosen skills stays one row.
    if params.skill_ids:
        jobs = jobs.filter(
            Exists(JobSkill.objects.filter(job=OuterRef("pk"), skill_id__in=params.skill_ids))
        )
    if params.language:
        jobs = jobs.filter(
            Exists(JobLanguage.objects.filter(job=OuterRef("pk"), language__code=params.language))
        )
    if params.category:
        jobs = jobs.filter(category=params.category)
    if params.commune:
        jobs = jobs.filter(commune=params.commune)
    if params.remote_only:
        jobs = jobs.filter(work_mode__in=REMOTE_MODES)
    # budget_cents is one figure per job (the top of a fixed range, or the rate times the hours).
    if params.budget_min_euros is not None:
        jobs = jobs.filter(budget_cents__gte=params.budget_min_euros * 100)
    if params.budget_max_euros is not None:
        jobs = jobs.filter(budget_cents__lte=params.budget_max_euros * 100)
    if params.posted_within_days:
        since = timezone.now() - datetime.timedelta(days=params.posted_within_days)
        jobs = jobs.filter(published_at__gte=since)
    return jobs


def _prefetch_labels(jobs: list[Job]) -> None:
    """Two queries for the whole page, whatever its length: essential skills, then languages."""
    prefetch_related_objects(
        jobs,
        Prefetch(
            "skills",
            queryset=JobSkill.objects.filter(importance=SkillImportance.ESSENTIAL)
            .select_related("skill")
            .only(
                "job",
                "skill",
                "skill__label_en",
                "skill__label_fr",
                "skill__label_nl",
                "skill__label_ar",
            ),
            to_attr="essential_skills",
        ),
        Prefetch(
            "languages",
            queryset=JobLanguage.objects.select_related("language").only(
                "job",
                "min_level",
                "language",
                "language__code",
                "language__name_en",
                "language__name_fr",
                "language__autonym",
            ),
            to_attr="language_needs",
        ),
    )


def _card(job: Job) -> JobCard:
    return JobCard(
        pk=job.pk,
        title=job.title,
        category=job.get_category_display(),
        commune=job.get_commune_display(),
        work_mode=job.get_work_mode_display(),
        budget=Budget.of(job),
        essential_skills=tuple(need.skill.label for need in job.essential_skills),
        languages=tuple(
            LanguageNeedLabel(need.language.display_name, need.min_level)
            for need in job.language_needs
        ),
        closes_on=job.closes_on,
        published_at=job.published_at,
    )


def _read_page(jobs: QuerySet[Job], key: SortKey, cursor: Cursor | None) -> tuple[list[Job], bool]:
    """Up to PAGE_SIZE rows from the cursor on, in display order, and whether more rows lie
    beyond them in the direction read (one extra row is read to know it, rather than a count)."""
    backwards = cursor is not None and cursor.backwards
    # A "previous" page reads the same order reversed from the cursor, then flips its rows.
    descending = key.descending != backwards
    if cursor is not None:
        jobs = jobs.filter(key.beyond(cursor.key, cursor.pk, descending=descending))
    ordered = jobs.only(*CARD_FIELDS).order_by(*key.ordering(descending=descending))
    rows = list(ordered[: PAGE_SIZE + 1])
    more_beyond = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    if backwards:
        rows.reverse()
    return rows, more_beyond


def job_board_search(*, params: JobBoardParams) -> JobBoardPage:
    """One page of public jobs matching the filters: three queries (jobs, skills, languages),
    none of them a count. published_at is always set on a published job (job_states.transition),
    which the newest-first keyset relies on."""
    key = sort_key(params.sort)
    jobs = _filter(public_jobs(), params)
    if params.q:
        jobs = _search(jobs, params.q, ranked=key.field == "rank")
    cursor = params.cursor if params.cursor and params.cursor.sort == params.sort else None
    rows, more_beyond = _read_page(jobs, key, cursor)
    backwards = cursor is not None and cursor.backwards
    if backwards and not more_beyond and len(rows) < PAGE_SIZE:
        # Back at the start, but jobs left the board since the link was made: show a full
        # first page rather than a short one.
        return job_board_search(params=replace(params, cursor=None))
    _prefetch_labels(rows)
    # Reading forwards from a cursor, there are rows before it; backwards, rows after it.
    has_next = cursor is not None if backwards else more_beyond
    has_previous = more_beyond if backwards else cursor is not None
    return JobBoardPage(
        cards=[_card(job) for job in rows],
        next_cursor=_cursor_at(rows[-1], params.sort, key) if rows and has_next else None,
        previous_cursor=(
            _cursor_at(rows[0], params.sort, key, backwards=True) if rows and has_previous else None
        ),
    )


def _cursor_at(job: Job, sort: str, key: SortKey, *, backwards: bool = False) -> Cursor:
    return Cursor(sort, getattr(job, key.field), job.pk, backwards=backwards)
