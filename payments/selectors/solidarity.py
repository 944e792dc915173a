"""Reads of the solidarity fund for the staff page: the uses, newest first, with their
correction when there is one (two queries whatever the page length)."""

from django.db.models import QuerySet

from payments.models import AccountKind, LedgerAccount, SolidarityUse

PAGE_SIZE = 50


def solidarity_uses(*, before: int | None = None) -> QuerySet[SolidarityUse]:
    uses = SolidarityUse.objects.select_related(
        "posted_by", "transaction__reversed_by__created_by"
    ).order_by("-pk")
    if before is not None:
        uses = uses.filter(pk__lt=before)
    return uses[:PAGE_SIZE]


def solidarity_fund_balance() -> int:
    return (
        LedgerAccount.objects.filter(code=AccountKind.SOLIDARITY_FUND)
        .values_list("balance_cents", flat=True)
        .first()
        or 0
    )
