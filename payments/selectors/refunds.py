from django.db.models import QuerySet

from payments.models import Refund, RefundStatus

PAGE_SIZE = 50


def pending_refunds(*, before: int | None = None) -> QuerySet[Refund]:
    """Refunds still owed, newest first, one bounded page (keyset on pk)."""
    refunds = (
        Refund.objects.filter(status=RefundStatus.PENDING)
        .select_related("payment__client", "payment__milestone__contract__job", "payout_line")
        .order_by("-pk")
    )
    if before is not None:
        refunds = refunds.filter(pk__lt=before)
    return refunds[:PAGE_SIZE]
