"""Reads for paying members: what is payable, to whom, and the batches already made.

``payable_members`` and ``pending_bank_refunds`` feed the staff page and, read again under
locks, ``payments.services.payouts.payout_batch_create``; ``connect_unpaid_by_contract``
splits a member's payable balance into one amount per contract for Stripe Connect transfers.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Sum
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    PaymentMethod,
    PayoutBatch,
    PayoutLine,
    PayoutLineKind,
    PayoutLineStatus,
    PayoutRail,
    Refund,
    RefundStatus,
    TransactionKind,
)

BATCHES_PER_PAGE = 20
# Lines that took (or still hold) money out of what is payable.
LIVE_LINE_STATUSES = (PayoutLineStatus.PENDING, PayoutLineStatus.SENT)
# Postings that make money payable to a member for a contract.
EARNING_KINDS = (TransactionKind.RELEASE, TransactionKind.SETTLEMENT)


def sepa_iban(raw: str) -> IBAN | None:
    """The IBAN if it is valid and in the SEPA zone (a SEPA file can only pay those)."""
    if not raw or not raw.strip():
        return None
    try:
        iban = IBAN(raw)
    except SchwiftyException:
        return None
    return iban if iban.in_sepa_zone else None


def mask_iban(raw: str) -> str:
    """Only the last four characters stay readable, together: ``•••• •••• •••• 6769``."""
    compact = "".join(raw.split()).upper()
    if len(compact) <= 4:
        return compact
    hidden = "•" * (len(compact) - 4)
    groups = [hidden[i : i + 4] for i in range(0, len(hidden), 4)]
    return " ".join([*groups, compact[-4:]])


@dataclass(frozen=True)
class PayableMember:
    member_id: int
    name: str
    display_name: str
    iban_masked: str
    iban_valid: bool
    connect_ready: bool
    amount_cents: int


def payable_members() -> list[PayableMember]:
    """Every member with a positive payable balance, by name. One query."""
    accounts = (
        LedgerAccount.objects.filter(kind=AccountKind.MEMBER_PAYABLE, balance_cents__gt=0)
        .select_related("member__user", "member__connected_account")
        .order_by("member__display_name", "member_id")
    )
    rows = []
    for account in accounts:
        member = account.member
        connected = getattr(member, "connected_account", None)
        rows.append(
            PayableMember(
                member_id=member.pk,
                name=beneficiary_name(member),
                display_name=member.display_name,
                iban_masked=mask_iban(member.iban) if member.iban else "",
                iban_valid=sepa_iban(member.iban) is not None,
                connect_ready=connected is not None and connected.payouts_enabled,
                amount_cents=account.balance_cents,
            )
        )
    return rows


def beneficiary_name(member) -> str:
    """The name the bank sees: the member's legal name, else the name they go by."""
    return (member.user.full_name or member.display_name)[:140]


def client_name(user) -> str:
    profile = getattr(user, "client_profile", None)
    if profile is not None:
        return profile.display_name[:140]
    return (user.full_name or user.email)[:140]


def pending_bank_refunds():
    """Refunds of bank-transfer payments still to be paid back and in no payout line yet.
    A refund without an IBAN is listed too (the page says it cannot be paid yet)."""
    return (
        Refund.objects.filter(
            status=RefundStatus.PENDING,
            payment__method=PaymentMethod.BANK_TRANSFER,
            payout_line__isnull=True,
        )
        .select_related("payment__client__client_profile")
        .order_by("pk")
    )


def connect_unpaid_by_contract(
    *, member_ids: Iterable[int], balances: dict[int, int]
) -> dict[int, list[tuple[int, int]]]:
    """For each member, ``[(contract_id, cents), ...]``: what they earned on each contract
    minus the Stripe Connect transfers already made (or in flight) for it, capped so that the
    whole never exceeds their payable ``balances``. Money already paid by SEPA (per member,
    not per contract) is taken from the oldest contracts first, so the newest earnings are the
    ones still unpaid. Two queries."""
    member_ids = list(member_ids)
    earned: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, contract_id, cents in (
        LedgerEntry.objects.filter(
            account__kind=AccountKind.MEMBER_PAYABLE,
            account__member_id__in=member_ids,
            amount_cents__gt=0,
            transaction__kind__in=EARNING_KINDS,
            transaction__contract__isnull=False,
        )
        .values_list("account__member_id", "transaction__contract_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("account__member_id", "transaction__contract_id", "total")
    ):
        earned[member_id][contract_id] += cents
    for member_id, contract_id, cents in (
        PayoutLine.objects.filter(
            batch__rail=PayoutRail.STRIPE_CONNECT,
            kind=PayoutLineKind.MEMBER,
            member_id__in=member_ids,
            status__in=LIVE_LINE_STATUSES,
        )
        .values_list("member_id", "contract_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("member_id", "contract_id", "total")
    ):
        earned[member_id][contract_id] -= cents
    result: dict[int, list[tuple[int, int]]] = {}
    for member_id in member_ids:
        remaining = balances.get(member_id, 0)
        parts = []
        # Newest contracts first (higher pk), so older money is the part SEPA already paid.
        for contract_id in sorted(earned.get(member_id, {}), reverse=True):
            unpaid = earned[member_id][contract_id]
            take = min(unpaid, remaining)
            if take > 0:
                parts.append((contract_id, take))
                remaining -= take
        result[member_id] = sorted(parts)
    return result


@dataclass(frozen=True)
class BatchPage:
    batches: list[PayoutBatch]
    next_before: int | None


def payout_batches_page(*, before: int | None = None, limit: int = BATCHES_PER_PAGE) -> BatchPage:
    """Newest batches first, keyset-paginated on the primary key. One query."""
    queryset = PayoutBatch.objects.annotate(line_count=Count("lines")).order_by("-pk")
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    batches = list(queryset[: limit + 1])
    next_before = batches[limit - 1].pk if len(batches) > limit else None
    return BatchPage(batches=batches[:limit], next_before=next_before)


def payout_batch_lines(batch: PayoutBatch) -> list[PayoutLine]:
    return list(
        batch.lines.select_related("member", "refund__payment", "contract__job").order_by("pk")
    )
