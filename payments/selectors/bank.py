"""Reads for bank-transfer reconciliation: transfers waiting for their money, statements and
the results of their lines."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from payments.models import (
    BankStatement,
    BankStatementLine,
    Payment,
    PaymentMethod,
    PaymentStatus,
    StatementLineStatus,
)

PENDING_PAGE_SIZE = 50
RECENT_STATEMENTS = 20

# The order in which a statement's results are shown: what needs a person first.
RESULT_ORDER = (
    StatementLineStatus.WRONG_AMOUNT,
    StatementLineStatus.UNMATCHED,
    StatementLineStatus.ALREADY_PAID,
    StatementLineStatus.MATCHED,
    StatementLineStatus.DUPLICATE,
    StatementLineStatus.OUTGOING,
)


@dataclass(frozen=True)
class PendingPage:
    payments: list[Payment]
    next_after: int | None


def pending_bank_transfers(
    *, after: int | None = None, size: int = PENDING_PAGE_SIZE
) -> PendingPage:
    """Bank transfers still waiting for their money, oldest first, one page after the payment
    id ``after`` (keyset: a page costs the same wherever it is)."""
    queryset = (
        Payment.objects.filter(method=PaymentMethod.BANK_TRANSFER, status=PaymentStatus.PENDING)
        .select_related("client", "milestone__contract__job")
        .order_by("pk")
    )
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    rows = list(queryset[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return PendingPage(payments=rows, next_after=rows[-1].pk if has_more else None)


def recent_bank_statements(limit: int = RECENT_STATEMENTS) -> QuerySet[BankStatement]:
    return (
        BankStatement.objects.select_related("uploaded_by")
        .annotate(line_count=Count("lines"))
        .order_by("-uploaded_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class ResultGroup:
    status: str
    label: str
    lines: list[BankStatementLine]
    total_cents: int

    @property
    def count(self) -> int:
        return len(self.lines)


def statement_results(statement: BankStatement) -> list[ResultGroup]:
    """A statement's lines grouped by result (every result shown, empty or not), with the
    number of lines and their total. Two queries whatever the number of lines."""
    lines = list(
        BankStatementLine.objects.filter(statement=statement)
        .select_related("payment__milestone__contract", "payment__client")
        .order_by("line_number", "pk")
    )
    by_status: dict[str, list[BankStatementLine]] = {status: [] for status in RESULT_ORDER}
    for line in lines:
        by_status.setdefault(line.status, []).append(line)
    return [
        ResultGroup(
            status=status,
            label=StatementLineStatus(status).label,
            lines=group,
            total_cents=sum(line.amount_cents for line in group),
        )
        for status, group in by_status.items()
    ]
