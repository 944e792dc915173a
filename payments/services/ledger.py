"""Posting to the ledger: the only code that writes LedgerTransaction and LedgerEntry rows.

``ledger_post`` writes one balanced transaction atomically, with an idempotency key: a second
call with the same key returns the first transaction (and refuses if it differs), so a retried
request, a duplicated webhook or a re-run task never posts twice. Accounts are locked in pk
order (no deadlock between two postings) and checked against the non-negative rule before the
database's own CHECK constraint would refuse.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from payments.models import (
    EXTERNAL_KINDS,
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
)


class LedgerError(Exception):
    """A posting that would break the ledger's rules; nothing was written."""


class InsufficientFunds(LedgerError):
    def __init__(self, account: LedgerAccount, missing_cents: int):
        self.account, self.missing_cents = account, missing_cents
        super().__init__(
            _("Account %(account)s lacks %(amount)s EUR for this operation.")
            % {"account": account.code, "amount": f"{missing_cents / 100:.2f}"}
        )


class IdempotencyConflict(LedgerError):
    """The key was already used for a different posting: a bug, never a retry."""


def _code(kind: str, *, contract=None, member=None, client=None) -> str:
    if kind == AccountKind.CLIENT_FUNDS_HELD:
        return f"{kind}:contract:{contract.pk}"
    if kind == AccountKind.MEMBER_PAYABLE:
        return f"{kind}:member:{member.pk}"
    if kind == AccountKind.CLIENT_REFUND_PAYABLE:
        return f"{kind}:client:{client.pk}"
    return kind


def account_for(kind: str, *, contract=None, member=None, client=None) -> LedgerAccount:
    """The account of this kind (per contract, member or client where the kind needs one),
    created on first use. Safe under concurrency: ``code`` is unique."""
    if kind == AccountKind.CLIENT_FUNDS_HELD and contract is None:
        raise ValueError("client funds are held per contract")
    if kind == AccountKind.MEMBER_PAYABLE and member is None:
        raise ValueError("a member payable account needs its member")
    if kind == AccountKind.CLIENT_REFUND_PAYABLE and client is None:
        raise ValueError("a refund payable account needs its client")
    account, _created = LedgerAccount.objects.get_or_create(
        code=_code(kind, contract=contract, member=member, client=client),
        defaults={
            "kind": kind,
            "contract": contract if kind == AccountKind.CLIENT_FUNDS_HELD else None,
            "member": member if kind == AccountKind.MEMBER_PAYABLE else None,
            "client": client if kind == AccountKind.CLIENT_REFUND_PAYABLE else None,
            "allow_negative": kind in EXTERNAL_KINDS,
        },
    )
    return account


def _same_posting(existing: LedgerTransaction, lines: dict[int, int]) -> bool:
    posted: dict[int, int] = defaultdict(int)
    for account_id, amount in existing.entries.values_list("account_id", "amount_cents"):
        posted[account_id] += amount
    return dict(posted) == lines


def ledger_post(
    *,
    key: str,
    kind: str,
    lines: Iterable[tuple[LedgerAccount, int]],
    memo: str = "",
    contract=None,
    milestone=None,
    by=None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction; with a key already used, return the first posting.

    ``lines`` are (account, signed cents); lines on the same account are merged. Raises
    ``LedgerError`` (nothing written) when the lines do not balance and ``InsufficientFunds``
    when an internal account would go below zero."""
    merged: dict[int, int] = defaultdict(int)
    accounts: dict[int, LedgerAccount] = {}
    for account, amount in lines:
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise LedgerError(f"amounts are integer cents, got {amount!r}")
        merged[account.pk] += amount
        accounts[account.pk] = account
    merged = {pk: amount for pk, amount in merged.items() if amount != 0}
    if len(merged) < 2:
        raise LedgerError("a transaction moves money between at least two accounts")
    if sum(merged.values()) != 0:
        raise LedgerError(f"a transaction must balance, these lines sum to {sum(merged.values())}")

    with transaction.atomic():
        existing = LedgerTransaction.objects.filter(idempotency_key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    posted = LedgerTransaction.objects.create(
                        idempotency_key=key,
                        kind=kind,
                        memo=memo[:255],
                        contract=contract,
                        milestone=milestone,
                        created_by=by,
                        reverses=reverses,
                    )
            except IntegrityError:
                # Another transaction posted the same key first (and has committed: a unique
                # insert waits for it). Fall through to the replay check.
                existing = LedgerTransaction.objects.get(idempotency_key=key)
        if existing is not None:
            if existing.kind != kind or not _same_posting(existing, merged):
                raise IdempotencyConflict(f"key {key!r} was used for another posting")
            return existing

        locked = {
            account.pk: account
            for account in LedgerAccount.objects.select_for_update()
            .filter(pk__in=merged)
            .order_by("pk")
        }
        for pk, amount in sorted(merged.items()):
            account = locked[pk]
            if not account.allow_negative and account.balance_cents + amount < 0:
                raise InsufficientFunds(account, -(account.balance_cents + amount))
        LedgerEntry.objects.bulk_create(
            LedgerEntry(transaction=posted, account_id=pk, amount_cents=amount)
            for pk, amount in sorted(merged.items())
        )
        for pk, amount in sorted(merged.items()):
            LedgerAccount.objects.filter(pk=pk).update(balance_cents=F("balance_cents") + amount)
    return posted


def ledger_reverse(*, original: LedgerTransaction, memo: str, by=None) -> LedgerTransaction:
    """A correction: a new transaction with every entry of ``original`` negated."""
    lines = [
        (entry.account, -entry.amount_cents) for entry in original.entries.select_related("account")
    ]
    return ledger_post(
        key=f"reversal-{original.pk}",
        kind="reversal",
        lines=lines,
        memo=memo,
        contract=original.contract,
        milestone=original.milestone,
        by=by,
        reverses=original,
    )
