"""Spending the solidarity fund: what the members' solidarity share paid for.

    solidarity_use_record    an admin records a use: one balanced ledger transaction,
                             solidarity fund → solidarity fund spending (external)
    solidarity_use_correct   a mistake is corrected by reversing that transaction, with a reason

Nothing is ever edited: the use row and its posting stay, the correction is a new posting
(``ledger_reverse``) whose memo is the reason. The public dashboard (governance) reads both.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.access import is_moderator
from marketplace.models import User
from payments.models import (
    AccountKind,
    LedgerTransaction,
    SolidarityUse,
    SolidarityUseCategory,
    TransactionKind,
)
from payments.services.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    account_for,
    ledger_post,
    ledger_reverse,
)


def _euros(cents: int) -> str:
    from marketplace.templatetags.money import euros

    return euros(cents)


def _forget_public_figures() -> None:
    # The public dashboard caches its figures for a few minutes; a new use shows at once.
    from governance.selectors_transparency import transparency_cache_forget

    transaction.on_commit(transparency_cache_forget)


def solidarity_use_record(
    *,
    by: User,
    spent_on: datetime.date,
    category: str,
    description: str,
    amount_cents: int,
    request_key: str,
) -> SolidarityUse:
    """Record what the fund paid for and post it. ``request_key`` is drawn once per form
    (a hidden field): the same submission sent twice records one use and returns it.

    Refuses (``ValidationError`` keyed by field, nothing written) a future date, an unknown
    category, an empty description, a non-positive amount, or more than the fund holds."""
    if not is_moderator(by):
        raise PermissionDenied(
            _("Only the cooperative's staff record uses of the solidarity fund.")
        )
    errors: dict[str, str] = {}
    if spent_on > timezone.localdate():
        errors["spent_on"] = _("The date cannot be in the future.")
    if category not in SolidarityUseCategory.values:
        errors["category"] = _("Choose a category.")
    description = description.strip()
    if not description:
        errors["description"] = _("Say what the money was used for.")
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        errors["amount"] = _("The amount must be more than zero.")
    if not request_key:
        raise ValueError("a use is recorded with the key of its form")
    if errors:
        raise ValidationError(errors)

    with transaction.atomic(durable=True):
        fund = account_for(AccountKind.SOLIDARITY_FUND)
        spent = account_for(AccountKind.SOLIDARITY_SPENT)
        try:
            posted = ledger_post(
                key=f"solidarity-use-{request_key}",
                kind=TransactionKind.SOLIDARITY_SPENT,
                lines=[(fund, -amount_cents), (spent, amount_cents)],
                memo=f"solidarity fund use: {category}",
                by=by,
            )
        except IdempotencyConflict as error:
            # The same form sent again with other figures (the browser's back button).
            raise ValidationError(
                _("This form was already sent. Open the page again to record another use."),
                code="form_reused",
            ) from error
        except InsufficientFunds as error:
            raise ValidationError(
                {
                    "amount": _("The solidarity fund holds %(balance)s: it cannot pay %(amount)s.")
                    % {
                        "balance": _euros(error.account.balance_cents),
                        "amount": _euros(amount_cents),
                    }
                },
                code="insufficient_funds",
            ) from error
        existing = SolidarityUse.objects.filter(transaction=posted).first()
        if existing is not None:  # the same form sent twice
            return existing
        use = SolidarityUse.objects.create(
            spent_on=spent_on,
            category=category,
            description=description,
            amount_cents=amount_cents,
            posted_by=by,
            transaction=posted,
        )
        _forget_public_figures()
    return use


def solidarity_use_correct(*, use: SolidarityUse, by: User, reason: str) -> LedgerTransaction:
    """Cancel a use recorded by mistake: its posting is reversed (the money goes back to the
    fund), the reason is the reversal's memo. Correcting twice is refused."""
    if not is_moderator(by):
        raise PermissionDenied(
            _("Only the cooperative's staff correct uses of the solidarity fund.")
        )
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this use is cancelled.")})
    with transaction.atomic(durable=True):
        original = LedgerTransaction.objects.get(pk=use.transaction_id)
        if LedgerTransaction.objects.filter(reverses=original).exists():
            raise ValidationError(
                {"reason": _("This use was already corrected.")}, code="already_corrected"
            )
        reversal = ledger_reverse(original=original, memo=reason[:255], by=by)
        _forget_public_figures()
    return reversal
