"""Reads of the ledger: balances, and the whole-ledger check behind ``manage.py ledger_check``."""

from collections import defaultdict

from django.db.models import Count, Q, Sum

from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PaymentStatus,
    PayoutLine,
    PayoutLineKind,
    PayoutLineStatus,
    TransactionKind,
)


def account_balance(code: str) -> int:
    return (
        LedgerAccount.objects.filter(code=code).values_list("balance_cents", flat=True).first() or 0
    )


def _held_states():
    from payments.services.funds import HELD_STATES

    return HELD_STATES


def ledger_breaches() -> list[str]:
    """Every rule of the ledger that the data breaks, in words (empty when all is well)."""
    from marketplace.models import Milestone

    breaches: list[str] = []

    # 1. Every transaction has at least two entries and sums to zero.
    unbalanced = (
        LedgerTransaction.objects.annotate(n=Count("entries"), total=Sum("entries__amount_cents"))
        .filter(Q(n__lt=2) | ~Q(total=0))
        .values_list("pk", "idempotency_key", "n", "total")
    )
    for pk, key, n, total in unbalanced:
        breaches.append(f"transaction {pk} ({key}) has {n} entries summing to {total or 0}")

    # 2. Stored balances equal the sum of entries; 3. internal accounts are not negative.
    sums = dict(
        LedgerEntry.objects.values("account_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("account_id", "total")
    )
    for account in LedgerAccount.objects.all():
        total = sums.get(account.pk, 0)
        if account.balance_cents != total:
            breaches.append(
                f"account {account.code}: stored balance {account.balance_cents} "
                f"but entries sum to {total}"
            )
        if not account.allow_negative and total < 0:
            breaches.append(f"account {account.code} is negative ({total})")

    # 4. Each contract's held funds equal the amounts of its milestones in a held state.
    expected: dict[int, int] = defaultdict(int)
    for contract_id, amount in Milestone.objects.filter(status__in=_held_states()).values_list(
        "contract_id", "amount_cents"
    ):
        expected[contract_id] += amount
    held = dict(
        LedgerAccount.objects.filter(kind=AccountKind.CLIENT_FUNDS_HELD).values_list(
            "contract_id", "balance_cents"
        )
    )
    for contract_id in sorted(set(expected) | set(held)):
        if expected.get(contract_id, 0) != held.get(contract_id, 0):
            breaches.append(
                f"contract {contract_id}: {held.get(contract_id, 0)} held on the ledger, "
                f"but its milestones in a held state amount to {expected.get(contract_id, 0)}"
            )

    # 5. A funded milestone has exactly one funding payment, and it was posted.
    funded = Payment.objects.filter(funded_milestone=True)
    posted_keys = set(
        LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).values_list(
            "idempotency_key", flat=True
        )
    )
    for payment_id in funded.values_list("pk", flat=True):
        if f"funding-payment-{payment_id}" not in posted_keys:
            breaches.append(f"payment {payment_id} funded its milestone but was never posted")
    for payment_id in Payment.objects.filter(status=PaymentStatus.SUCCEEDED).values_list(
        "pk", flat=True
    ):
        if f"funding-payment-{payment_id}" not in posted_keys:
            breaches.append(f"payment {payment_id} succeeded but was never posted")
    for pk, refunded, gross in Payment.objects.values_list("pk", "refunded_cents", "gross_cents"):
        if refunded > gross:
            breaches.append(f"payment {pk}: refunded {refunded} > paid {gross}")

    # 6. Payouts never exceed what was released to each member.
    released: dict[int, int] = defaultdict(int)
    for member_id, amount in LedgerEntry.objects.filter(
        account__kind=AccountKind.MEMBER_PAYABLE,
        amount_cents__gt=0,
        transaction__kind__in=[TransactionKind.RELEASE, TransactionKind.SETTLEMENT],
    ).values_list("account__member_id", "amount_cents"):
        released[member_id] += amount
    paid: dict[int, int] = defaultdict(int)
    for member_id, amount in (
        PayoutLine.objects.filter(kind=PayoutLineKind.MEMBER)
        .exclude(status__in=[PayoutLineStatus.CANCELLED, PayoutLineStatus.FAILED])
        .values_list("member_id", "amount_cents")
    ):
        paid[member_id] += amount
    for member_id, amount in paid.items():
        if amount > released.get(member_id, 0):
            breaches.append(
                f"member {member_id}: paid out {amount} but only {released.get(member_id, 0)} "
                "was released"
            )
    return breaches
