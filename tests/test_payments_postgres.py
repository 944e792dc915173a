"""What only PostgreSQL can show: the database's own ledger rules (deferred balance trigger,
append-only entries) and races on money — threads with their own connections, started
together on a barrier."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction

from marketplace.models import MilestoneStatus
from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    TransactionKind,
)
from payments.selectors.ledger import ledger_breaches
from payments.services import funds
from payments.services.ledger import account_for, ledger_post
from tests.concurrency import race
from tests.factories import AdminFactory, fund_milestone, make_contract

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_database_refuses_an_unbalanced_transaction_at_commit():
    bank = account_for(AccountKind.BANK)
    fund = account_for(AccountKind.SOLIDARITY_FUND)
    # Written behind the posting service's back: the deferred trigger fires at COMMIT.
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        posted = LedgerTransaction.objects.create(idempotency_key="raw", kind="funding")
        LedgerEntry.objects.create(transaction=posted, account=bank, amount_cents=-100)
        LedgerEntry.objects.create(transaction=posted, account=fund, amount_cents=99)
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        LedgerTransaction.objects.create(idempotency_key="empty", kind="funding")
    assert not LedgerTransaction.objects.exists()
    ledger_post(key="ok", kind="funding", lines=[(bank, -100), (fund, 100)])
    assert LedgerTransaction.objects.count() == 1


def test_posted_entries_cannot_be_deleted():
    bank = account_for(AccountKind.BANK)
    fund = account_for(AccountKind.SOLIDARITY_FUND)
    posted = ledger_post(key="k", kind="funding", lines=[(bank, -100), (fund, 100)])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction=posted).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerTransaction.objects.filter(pk=posted.pk).delete()
    assert LedgerEntry.objects.count() == 2


def test_twenty_concurrent_approvals_of_one_milestone_post_one_release():
    from marketplace.services import milestones as services

    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    services.milestone_start(milestone=milestone, member=member)
    services.milestone_deliver(milestone=milestone, member=member, message="Livré.")

    def approve(_index):
        services.milestone_approve(milestone=milestone, client=contract.client)
        return "approved"

    outcomes = race(20, approve)
    assert outcomes.count("approved") == 1
    assert set(outcomes) - {"approved"} <= {"IllegalTransition"}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count() == 1
    payable = LedgerAccount.objects.get(code=f"member_payable:member:{contract.member_id}")
    assert payable.balance_cents == 72000
    assert ledger_breaches() == []


def test_ten_concurrent_confirmations_of_one_payment_fund_once():
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    payment = funds.payment_create(milestone=milestone, client=contract.client, method="card")
    admin = AdminFactory()

    def confirm(_index):
        funds.payment_succeeded(payment=payment, by=admin)
        return "ok"

    assert race(10, confirm) == ["ok"] * 10
    assert LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count() == 1
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.FUNDED
    assert ledger_breaches() == []


def test_two_methods_succeeding_at_once_fund_once_and_refund_the_other():
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    card = funds.payment_create(milestone=milestone, client=contract.client, method="card")
    transfer = funds.payment_create(
        milestone=milestone, client=contract.client, method="bank_transfer"
    )
    admin = AdminFactory()
    payments = [card, transfer]

    def confirm(index):
        funds.payment_succeeded(payment=payments[index], by=admin)
        return "ok"

    assert race(2, confirm) == ["ok", "ok"]
    assert Payment.objects.filter(funded_milestone=True).count() == 1
    assert (
        LedgerAccount.objects.get(code=f"refund_payable:client:{contract.client_id}").balance_cents
        == card.gross_cents
    )
    assert ledger_breaches() == []


def test_concurrent_postings_on_the_same_accounts_never_overdraw():
    bank = account_for(AccountKind.BANK)
    fund = account_for(AccountKind.SOLIDARITY_FUND)
    ledger_post(key="in", kind="funding", lines=[(bank, -1000), (fund, 1000)])

    def spend(index):
        ledger_post(key=f"out-{index}", kind="solidarity_spent", lines=[(fund, -300), (bank, 300)])
        return "spent"

    outcomes = race(8, spend)
    assert outcomes.count("spent") == 3
    assert set(outcomes) - {"spent"} == {"InsufficientFunds"}
    assert LedgerAccount.objects.get(pk=fund.pk).balance_cents == 100
    assert ledger_breaches() == []


def test_a_milestone_cannot_be_settled_twice_concurrently():
    from marketplace.locks import lock_milestone

    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)

    def settle(index):
        with transaction.atomic():
            locked = lock_milestone(milestone.pk)
            funds.milestone_settle(
                milestone=locked,
                member_cents=40000 + index,
                by=None,
                key=f"settle-{index}",
                reason="split",
                to_status=MilestoneStatus.CANCELLED,
            )
        return "settled"

    outcomes = race(6, settle)
    assert outcomes.count("settled") == 1
    assert set(outcomes) - {"settled"} <= {ValidationError.__name__}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.SETTLEMENT).count() == 1
    assert ledger_breaches() == []
