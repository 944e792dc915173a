"""The figures of the public solidarity dashboard, read from the ledger.

Everything here is anonymous by construction: no query returns a name, and the earnings of
members leave this module only as counts per band (bands of fewer than
``MIN_MEMBERS_PER_BAND`` members are merged with their neighbours) and as a Gini coefficient.

Money in and out of the solidarity fund is read from the entries on the fund's ledger account,
grouped by month in the database. A correction (a reversing transaction) is counted in the
month of the posting it corrects, so that a cancelled use nets to zero where it was shown,
and collected - used over all months equals the fund's balance to the cent.

About eight aggregate queries, whatever the size of the ledger; the view caches the result
for a few minutes per language (``transparency_cache_key``).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, Min, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from marketplace.models import Contract, MemberProfile
from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    SolidarityRate,
    SolidarityUse,
    SolidarityUseCategory,
    TransactionKind,
)

CACHE_SECONDS = 300
MIN_MEMBERS_PER_BAND = 3
MONTHS_SHOWN = 12
# Lower edges of the earnings bands, in cents; the first band is "nothing earned".
BAND_EDGES = (0, 1, 100_000, 500_000, 1_000_000, 2_000_000, 4_000_000)
EARNING_KINDS = (TransactionKind.RELEASE, TransactionKind.SETTLEMENT)


@dataclass(frozen=True)
class FundMonth:
    month: datetime.date  # the first day of the month
    collected_cents: int
    used_cents: int


@dataclass(frozen=True)
class CategoryTotal:
    category: str
    label: str
    uses: int
    amount_cents: int


@dataclass(frozen=True)
class PublicUse:
    spent_on: datetime.date
    category: str
    label: str
    description: str
    amount_cents: int
    cancelled_on: datetime.date | None
    cancel_reason: str


@dataclass(frozen=True)
class RateDecision:
    rate_bp: int
    effective_from: datetime.date
    source: str
    in_force: bool
    turnout_percent: float | None
    votes_cast: int | None
    eligible: int | None

    @property
    def percent(self) -> Decimal:
        return Decimal(self.rate_bp) / 100


@dataclass(frozen=True)
class EarningsBand:
    low_cents: int
    high_cents: int | None  # exclusive; None: no upper limit
    members: int

    @property
    def is_nothing(self) -> bool:
        return self.low_cents == 0 and self.high_cents == 1


@dataclass(frozen=True)
class TransparencyDashboard:
    today: datetime.date
    months: list[FundMonth]  # the last twelve months, oldest first
    collected_total_cents: int  # since the start
    used_total_cents: int
    balance_cents: int  # the fund's ledger account
    categories: list[CategoryTotal]  # since the start, corrections excluded
    uses: list[PublicUse]  # the last twelve months, cancelled ones included
    rate_in_force_bp: int | None
    rates: list[RateDecision]  # newest first
    population: int  # members with the status "member"
    bands: list[EarningsBand]  # empty when the population is too small to show
    gini: Fraction | None
    first_contracts_this_year: int

    @property
    def collected_12_months_cents(self) -> int:
        return sum(month.collected_cents for month in self.months)

    @property
    def used_12_months_cents(self) -> int:
        return sum(month.used_cents for month in self.months)

    @property
    def window_start(self) -> datetime.date:
        return self.months[0].month

    @property
    def rate_in_force_percent(self) -> Decimal | None:
        return None if self.rate_in_force_bp is None else Decimal(self.rate_in_force_bp) / 100

    @property
    def gini_value(self) -> float | None:
        return None if self.gini is None else float(self.gini)


def month_starts(today: datetime.date, count: int = MONTHS_SHOWN) -> list[datetime.date]:
    """The first days of the ``count`` months ending with today's, oldest first."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month_key(value) -> datetime.date:
    # TruncMonth gives an aware datetime (PostgreSQL, SQLite) in the current time zone.
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


# --- The fund ------------------------------------------------------------------------------


def fund_flows_by_month() -> dict[datetime.date, tuple[int, int]]:
    """{first day of month: (collected, used)} since the start, in cents, from the entries
    on the solidarity fund's account. "Used" are postings of uses of the fund (and their
    corrections); everything else — shares of released or settled milestones, and their
    corrections — is "collected". One GROUP BY query."""
    spending = Q(transaction__kind=TransactionKind.SOLIDARITY_SPENT) | Q(
        transaction__reverses__kind=TransactionKind.SOLIDARITY_SPENT
    )
    rows = (
        LedgerEntry.objects.filter(account__kind=AccountKind.SOLIDARITY_FUND)
        .annotate(
            month=TruncMonth(
                Coalesce("transaction__reverses__created_at", "transaction__created_at")
            ),
            spending=Case(When(spending, then=Value(True)), default=Value(False)),
        )
        .values("month", "spending")
        .annotate(total=Sum("amount_cents"))
        .order_by()
    )
    flows: dict[datetime.date, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        month = _month_key(row["month"])
        if row["spending"]:
            flows[month][1] += -row["total"]
        else:
            flows[month][0] += row["total"]
    return {month: (collected, used) for month, (collected, used) in flows.items()}


def fund_balance_cents() -> int:
    return (
        LedgerAccount.objects.filter(code=AccountKind.SOLIDARITY_FUND)
        .values_list("balance_cents", flat=True)
        .first()
        or 0
    )


def uses_by_category() -> list[CategoryTotal]:
    """Totals since the start per category, cancelled uses left out (one query)."""
    rows = {
        row["category"]: row
        for row in SolidarityUse.objects.filter(transaction__reversed_by__isnull=True)
        .values("category")
        .annotate(total=Sum("amount_cents"), uses=Count("pk"))
        .order_by()
    }
    return [
        CategoryTotal(
            category=value,
            label=str(label),
            uses=rows[value]["uses"],
            amount_cents=rows[value]["total"],
        )
        for value, label in SolidarityUseCategory.choices
        if value in rows
    ]


def uses_since(start: datetime.date) -> list[PublicUse]:
    """Uses dated from ``start`` on, newest first, with their correction (one query). No
    name: who recorded a use is not public."""
    uses = (
        SolidarityUse.objects.filter(spent_on__gte=start)
        .select_related("transaction__reversed_by")
        .order_by("-spent_on", "-pk")
    )
    result = []
    for use in uses:
        correction = use.correction
        result.append(
            PublicUse(
                spent_on=use.spent_on,
                category=use.category,
                label=str(use.get_category_display()),
                description=use.description,
                amount_cents=use.amount_cents,
                cancelled_on=timezone.localtime(correction.created_at).date()
                if correction
                else None,
                cancel_reason=correction.memo if correction else "",
            )
        )
    return result


# --- The rate and its decisions ------------------------------------------------------------


def _rates_have_proposals() -> bool:
    # The vote that decided a rate (governance.Proposal.decided_rate, related_name "proposal").
    return any(
        getattr(field, "name", None) == "proposal" and field.one_to_one
        for field in SolidarityRate._meta.get_fields()
    )


def rate_decisions(today: datetime.date) -> tuple[int | None, list[RateDecision]]:
    """The rate in force today (the same rule as payments.services.funds.
    solidarity_rate_in_force: the latest row effective by today) and every rate decided,
    newest first, with the turnout of the vote that decided it (one query)."""
    queryset = SolidarityRate.objects.order_by("-effective_from")
    with_proposals = _rates_have_proposals()
    if with_proposals:
        queryset = queryset.select_related("proposal")
    rates = list(queryset)
    in_force = next((rate for rate in rates if rate.effective_from <= today), None)
    decisions = []
    for rate in rates:
        proposal = getattr(rate, "proposal", None) if with_proposals else None
        decisions.append(
            RateDecision(
                rate_bp=rate.rate_bp,
                effective_from=rate.effective_from,
                source=rate.source,
                in_force=in_force is not None and rate.pk == in_force.pk,
                turnout_percent=getattr(proposal, "turnout_percent", None),
                votes_cast=getattr(proposal, "turnout_count", None),
                eligible=getattr(proposal, "eligible_count", None),
            )
        )
    return (in_force.rate_bp if in_force else None), decisions


# --- How the work is spread -----------------------------------------------------------------


def member_earnings_since(start: datetime.date) -> tuple[int, list[int]]:
    """(population, earnings): the members with the status "member" today and what each of
    them earned since ``start`` (their share of released or settled milestones, after the
    solidarity share, net of corrections), zero earners included. Two queries; no id or name
    leaves this function."""
    members = MemberProfile.objects.filter(membership_status=MemberProfile.Membership.MEMBER)
    population = members.count()
    earned = (
        LedgerEntry.objects.filter(
            account__kind=AccountKind.MEMBER_PAYABLE,
            account__member__in=members,
            transaction__created_at__gte=_local_midnight(start),
        )
        .filter(
            Q(transaction__kind__in=EARNING_KINDS)
            | Q(transaction__reverses__kind__in=EARNING_KINDS)
        )
        .values("account__member_id")
        .annotate(total=Sum("amount_cents"))
        .order_by()
        .values_list("total", flat=True)
    )
    amounts = [max(total, 0) for total in earned if total]
    amounts = [amount for amount in amounts if amount > 0]
    return population, amounts + [0] * (population - len(amounts))


def gini(values: list[int]) -> Fraction | None:
    """The Gini coefficient of non-negative amounts, exactly: 0 when all are equal, (n-1)/n
    when one has everything; None when there is nobody or nothing to share.

    G = 2·Σ i·x₍ᵢ₎ / (n·Σ x) - (n+1)/n, with x sorted ascending and i counted from 1."""
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return None
    weighted = sum(rank * value for rank, value in enumerate(sorted(values), start=1))
    return Fraction(2 * weighted, n * total) - Fraction(n + 1, n)


def earnings_bands(
    values: list[int],
    *,
    edges: tuple[int, ...] = BAND_EDGES,
    minimum: int = MIN_MEMBERS_PER_BAND,
) -> list[EarningsBand]:
    """Counts of members per band of earnings, so that nobody can be singled out: a band
    with members but fewer than ``minimum`` is merged with the next band up (the last one
    with the band below), until every band shown holds none or at least ``minimum``
    members. Fewer than ``minimum`` members in all: nothing is shown."""
    if len(values) < minimum:
        return []
    raw = []
    for index, low in enumerate(edges):
        high = edges[index + 1] if index + 1 < len(edges) else None
        members = sum(1 for value in values if value >= low and (high is None or value < high))
        raw.append(EarningsBand(low, high, members))

    def merged(first: EarningsBand, second: EarningsBand) -> EarningsBand:
        return EarningsBand(first.low_cents, second.high_cents, first.members + second.members)

    shown: list[EarningsBand] = []
    pending: EarningsBand | None = None
    for band in raw:
        if pending is None and band.members == 0:
            shown.append(band)  # an empty band singles nobody out
            continue
        pending = band if pending is None else merged(pending, band)
        if pending.members >= minimum:
            shown.append(pending)
            pending = None
    while pending is not None:  # too few at the top: merge downwards
        below = shown.pop()
        pending = merged(below, pending)
        if pending.members >= minimum:
            shown.append(pending)
            pending = None
    return shown


def members_with_first_contract_in(year: int) -> int:
    """How many members (any membership status) started their first contract this year
    (one query)."""
    start = _local_midnight(datetime.date(year, 1, 1))
    return (
        Contract.objects.values("member_id")
        .annotate(first=Min("created_at"))
        .filter(first__gte=start)
        .count()
    )


# --- All of it ------------------------------------------------------------------------------


def transparency_dashboard(today: datetime.date | None = None) -> TransparencyDashboard:
    today = today or timezone.localdate()
    starts = month_starts(today)
    flows = fund_flows_by_month()
    months = [FundMonth(start, *flows.get(start, (0, 0))) for start in starts]
    rate_bp, rates = rate_decisions(today)
    population, earnings = member_earnings_since(starts[0])
    return TransparencyDashboard(
        today=today,
        months=months,
        collected_total_cents=sum(collected for collected, _used in flows.values()),
        used_total_cents=sum(used for _collected, used in flows.values()),
        balance_cents=fund_balance_cents(),
        categories=uses_by_category(),
        uses=uses_since(starts[0]),
        rate_in_force_bp=rate_bp,
        rates=rates,
        population=population,
        bands=earnings_bands(earnings),
        gini=gini(earnings),
        first_contracts_this_year=members_with_first_contract_in(today.year),
    )


def transparency_cache_key(language: str) -> str:
    return f"governance:transparency:v1:{language}"


def transparency_cache_forget() -> None:
    """Drop the cached page in every language (after a use is recorded or corrected)."""
    cache.delete_many([transparency_cache_key(code) for code, _name in settings.LANGUAGES])
