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


# --- Releases, payouts and invoice numbers under concurrency ---------------------------------


@pytest.fixture
def cheap_passwords(settings):
    # Argon2 for every factory-made account would cost seconds; no race here is about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _delivered_milestone():
    from marketplace.services import milestones as services

    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    services.milestone_start(milestone=milestone, member=member)
    services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
    return contract, milestone


def test_twenty_concurrent_releases_of_one_approved_milestone_post_once(cheap_passwords):
    from marketplace.locks import lock_milestone
    from marketplace.models import Milestone

    # Given a milestone approved but not yet released (as a crash between the two would leave
    # it, were they not one transaction), and twenty workers releasing it at once
    contract, milestone = _delivered_milestone()
    Milestone.objects.filter(pk=milestone.pk).update(status=MilestoneStatus.APPROVED)

    def release(_index):
        with transaction.atomic():
            funds.milestone_release(milestone=lock_milestone(milestone.pk), by=None)
        return "released"

    outcomes = race(20, release)

    # Then one release is posted; the other nineteen found the milestone released already
    assert outcomes.count("released") == 1
    assert set(outcomes) - {"released"} == {ValidationError.__name__}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count() == 1
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.RELEASED
    payable = LedgerAccount.objects.get(code=f"member_payable:member:{contract.member_id}")
    assert payable.balance_cents == 72000
    assert ledger_breaches() == []


def test_client_approvals_racing_the_auto_approval_pass_release_once(cheap_passwords):
    import datetime

    from django.utils import timezone

    from marketplace.services import milestones as services

    # Given a delivery whose automatic approval is due, the client clicking "approve" ten times
    # while ten passes of the periodic job run
    contract, milestone = _delivered_milestone()
    later = timezone.now() + datetime.timedelta(days=services.auto_approve_days() + 1)

    def act(index):
        if index % 2:
            services.milestone_approve(milestone=milestone, client=contract.client)
            return "approved"
        return f"auto:{services.milestones_auto_approve(now=later)}"

    outcomes = race(20, act)

    # Then exactly one of the twenty approved it, and its funds were released once
    assert outcomes.count("approved") + outcomes.count("auto:1") == 1
    assert set(outcomes) <= {"approved", "auto:1", "auto:0", "IllegalTransition"}
    assert LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count() == 1
    assert ledger_breaches() == []


def test_twenty_concurrent_payouts_of_one_released_milestone_pay_it_once(cheap_passwords):
    from django.utils import timezone

    from payments.models import PayoutBatch, PayoutBatchStatus, PayoutLine, PayoutRail
    from payments.services import payouts

    # Given one released milestone (720 € payable to the member, who has an IBAN)
    contract, milestone = _delivered_milestone()
    from marketplace.services import milestones as services

    services.milestone_approve(milestone=milestone, client=contract.client)
    member = contract.member
    member.iban = "BE71096123456769"
    member.save(update_fields=["iban"])
    admin = AdminFactory()

    # When twenty staff requests export its payout at once...
    def export(_index):
        payouts.payout_batch_create(
            rail=PayoutRail.SEPA,
            by=admin,
            execution_date=timezone.localdate(),
            member_ids=[member.pk],
        )
        return "exported"

    exported = race(20, export)
    # ...and then twenty mark the one batch sent at once
    batch = PayoutBatch.objects.get()

    def send(_index):
        payouts.payout_batch_mark_sent(batch=batch, by=admin)
        return "sent"

    sent = race(20, send)

    # Then the milestone's money is exported once and leaves the bank once
    assert exported.count("exported") == 1
    assert set(exported) - {"exported"} == {ValidationError.__name__}
    assert sent == ["sent"] * 20  # marking a sent batch sent again is a no-op, not an error
    assert PayoutLine.objects.get().amount_cents == 72000
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_EXPORTED).count() == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_SENT).count() == 1
    assert PayoutBatch.objects.get().status == PayoutBatchStatus.SENT
    assert LedgerAccount.objects.get(code=f"member_payable:member:{member.pk}").balance_cents == 0
    assert ledger_breaches() == []


def test_invoices_and_credit_notes_issued_at_once_share_numbers_without_gap_or_duplicate(
    cheap_passwords,
):
    from collections import Counter

    from payments.models import Invoice, InvoiceKind, InvoiceSequence
    from payments.services.invoices import credit_note_issue

    # Given six milestones already invoiced and six waiting for their payment to be recorded
    admin = AdminFactory()
    invoiced = []
    for _ in range(6):
        milestone = make_contract().milestones.get(position=1)
        invoiced.append(Invoice.objects.get(payment=fund_milestone(milestone, by=admin)))
    pending = [
        funds.payment_create(
            milestone=(contract := make_contract()).milestones.get(position=1),
            client=contract.client,
            method="bank_transfer",
        )
        for _ in range(6)
    ]

    # When six credit notes and six invoices are issued at the same instant
    def issue(index):
        if index < 6:
            credit_note_issue(invoice=invoiced[index], net_cents=1000, reason="Remise", by=admin)
            return "credit_note"
        funds.payment_succeeded(payment=pending[index - 6], by=admin)
        return "invoice"

    outcomes = race(12, issue)

    # Then the eighteen documents of the year are numbered 1..18: no gap, no duplicate
    assert sorted(outcomes) == ["credit_note"] * 6 + ["invoice"] * 6
    rows = list(Invoice.objects.values_list("sequence_number", "number", "kind"))
    numbers = [sequence for sequence, _number, _kind in rows]
    assert [n for n, count in Counter(numbers).items() if count > 1] == []
    assert len({number for _sequence, number, _kind in rows}) == len(rows) == 18
    assert sorted(numbers) == list(range(1, 19))
    assert Counter(kind for *_rest, kind in rows) == {
        InvoiceKind.INVOICE: 12,
        InvoiceKind.CREDIT_NOTE: 6,
    }
    assert InvoiceSequence.objects.get().last_number == 18
    assert ledger_breaches() == []
