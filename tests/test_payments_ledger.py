"""The ledger and the money of a milestone: amounts, postings, funding, release, splits,
refunds, the solidarity rate, and the whole-ledger check."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, transaction

from marketplace.models import Milestone, MilestoneStatus
from payments import amounts
from payments.models import (
    AccountKind,
    Invoice,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    SolidarityRate,
    TransactionKind,
)
from payments.selectors.ledger import ledger_breaches
from payments.services import funds
from payments.services.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    account_for,
    ledger_post,
    ledger_reverse,
)
from tests.factories import (
    AdminFactory,
    ClientFactory,
    ClientProfileFactory,
    approve_milestone,
    fund_milestone,
    make_contract,
)

pytestmark = pytest.mark.django_db
S = MilestoneStatus


def balance(code: str) -> int:
    account = LedgerAccount.objects.filter(code=code).first()
    return account.balance_cents if account else 0


# --- Amounts: the one rounding rule ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "bp", "expected"),
    [
        (100000, 1000, 10000),
        (12345, 1000, 1235),
        (12344, 1000, 1234),
        (1, 2100, 0),
        (3, 2100, 1),
        (99999, 650, 6500),
        (0, 1000, 0),
    ],
)
def test_percent_of_rounds_half_up_to_the_cent(cents, bp, expected):
    assert amounts.percent_of(cents, bp) == expected


@pytest.mark.parametrize("cents", [0, 1, 7, 99, 12345, 80001, 10**9 + 7])
@pytest.mark.parametrize("bp", [0, 650, 1000, 1234, 5000])
def test_a_split_never_makes_or_loses_a_cent(cents, bp):
    split = amounts.release_split(cents, bp)
    assert split.solidarity_cents + split.member_cents == cents
    assert split.solidarity_cents >= 0 and split.member_cents >= 0


@pytest.mark.parametrize("net", [1, 3, 99, 23999, 80000, 99999])
def test_the_vat_of_any_part_never_exceeds_the_vat_of_the_whole(net):
    whole = amounts.percent_of(net, 2100)
    assert all(
        amounts.percent_of(part, 2100) <= whole for part in range(0, net + 1, max(1, net // 97))
    )


def test_vat_treatment_follows_the_client():
    individual = ClientProfileFactory(kind="individual", vat_number="")
    belgian = ClientProfileFactory(
        kind="organisation", organisation_name="ASBL", vat_number="BE0403170701"
    )
    dutch = ClientProfileFactory(
        kind="organisation", organisation_name="BV", vat_number="NL004495445B01", country="NL"
    )
    dutch_invalid = ClientProfileFactory(
        kind="organisation", organisation_name="BV2", vat_number="NL123456789B01", country="NL"
    )
    northern_irish = ClientProfileFactory(
        kind="organisation", organisation_name="Ltd", vat_number="XI123456782", country="GB"
    )
    assert amounts.vat_treatment_for(individual).rate_bp == 2100
    assert amounts.vat_treatment_for(belgian).rate_bp == 2100
    assert amounts.vat_treatment_for(dutch_invalid).rate_bp == 2100
    assert amounts.vat_treatment_for(northern_irish).rate_bp == 2100  # services: not EU
    reverse = amounts.vat_treatment_for(dutch)
    assert (reverse.category, reverse.rate_bp) == ("AE", 0)
    assert "196" in reverse.exemption_reason


# --- Posting ----------------------------------------------------------------------------------


def test_a_posting_must_balance_and_move_money_between_two_accounts():
    fund = account_for(AccountKind.SOLIDARITY_FUND)
    bank = account_for(AccountKind.BANK)
    with pytest.raises(LedgerError):
        ledger_post(key="a", kind="funding", lines=[(bank, -100), (fund, 99)])
    with pytest.raises(LedgerError):
        ledger_post(key="b", kind="funding", lines=[(bank, -100), (bank, 100)])
    with pytest.raises(LedgerError):
        ledger_post(key="c", kind="funding", lines=[(bank, -1.5), (fund, 1.5)])
    assert not LedgerTransaction.objects.exists() and not LedgerEntry.objects.exists()


def test_a_retried_posting_returns_the_first_and_a_different_one_is_refused():
    fund, bank = account_for(AccountKind.SOLIDARITY_FUND), account_for(AccountKind.BANK)
    first = ledger_post(key="k1", kind="funding", lines=[(bank, -500), (fund, 500)])
    again = ledger_post(key="k1", kind="funding", lines=[(bank, -500), (fund, 500)])
    assert again.pk == first.pk
    assert LedgerEntry.objects.count() == 2 and balance("solidarity") == 500
    with pytest.raises(IdempotencyConflict):
        ledger_post(key="k1", kind="funding", lines=[(bank, -400), (fund, 400)])


def test_an_internal_account_never_goes_negative_an_external_one_may():
    fund, bank = account_for(AccountKind.SOLIDARITY_FUND), account_for(AccountKind.BANK)
    with pytest.raises(InsufficientFunds):
        ledger_post(key="x", kind="solidarity_spent", lines=[(fund, -1), (bank, 1)])
    assert not LedgerTransaction.objects.exists()
    ledger_post(key="y", kind="funding", lines=[(bank, -300), (fund, 300)])
    assert balance("bank") == -300
    # The database refuses too, whoever writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=fund.pk).update(balance_cents=-1)


def test_posted_entries_cannot_be_changed_a_correction_is_a_reversal():
    fund, bank = account_for(AccountKind.SOLIDARITY_FUND), account_for(AccountKind.BANK)
    posted = ledger_post(key="p", kind="funding", lines=[(bank, -700), (fund, 700)])
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(transaction=posted).update(amount_cents=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerTransaction.objects.filter(pk=posted.pk).update(memo="edited")
    reversal = ledger_reverse(original=posted, memo="typo")
    assert reversal.reverses_id == posted.pk
    assert balance("solidarity") == 0 and balance("bank") == 0
    assert ledger_reverse(original=posted, memo="typo").pk == reversal.pk  # idempotent


# --- Funding, release, refunds ------------------------------------------------------------------


@pytest.fixture
def contract():
    return make_contract()


@pytest.fixture
def first(contract):
    return contract.milestones.get(position=1)


def test_funding_posts_clearing_to_held_and_vat_and_issues_the_invoice(contract, first):
    payment = fund_milestone(first)
    first.refresh_from_db()
    contract.refresh_from_db()
    assert first.status == S.FUNDED
    assert (payment.net_cents, payment.vat_cents, payment.gross_cents) == (80000, 16800, 96800)
    assert balance("bank") == -96800
    assert balance(f"client_held:contract:{contract.pk}") == 80000
    assert balance("vat_payable") == 16800
    assert contract.solidarity_rate_bp == 1000
    invoice = Invoice.objects.get(payment=payment)
    assert (invoice.kind, invoice.gross_cents, invoice.paid_on is not None) == (
        "invoice",
        96800,
        True,
    )
    assert ledger_breaches() == []


def test_funding_twice_posts_once(contract, first):
    payment = fund_milestone(first)
    funds.payment_succeeded(payment=payment, by=AdminFactory())
    assert LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count() == 1
    assert Invoice.objects.count() == 1


def test_approval_releases_the_solidarity_share_and_the_members_part(contract, first):
    fund_milestone(first)
    approve_milestone(first)
    first.refresh_from_db()
    assert first.status == S.RELEASED
    assert balance(f"client_held:contract:{contract.pk}") == 0
    assert balance("solidarity") == 8000
    assert balance(f"member_payable:member:{contract.member_id}") == 72000
    assert balance("vat_payable") == 16800
    assert ledger_breaches() == []


def test_the_rate_in_force_at_the_first_funding_stays_with_the_contract(contract, first):
    fund_milestone(first)
    SolidarityRate.objects.create(
        rate_bp=650, effective_from=datetime.date.today(), source="General assembly"
    )
    second = contract.milestones.get(position=2)
    fund_milestone(second)
    approve_milestone(second)
    assert balance("solidarity") == 12000  # 10 % of 1,200.00, not 6.5 %
    later = make_contract()
    fund_milestone(later.milestones.get(position=1))
    later.refresh_from_db()
    assert later.solidarity_rate_bp == 650


def test_a_payment_for_a_milestone_no_longer_due_becomes_a_refund(contract, first):
    card = funds.payment_create(milestone=first, client=contract.client, method="card")
    fund_milestone(first)
    funds.payment_succeeded(payment=card)  # the card payment arrives late
    card.refresh_from_db()
    assert card.status == PaymentStatus.SUCCEEDED and not card.funded_milestone
    refund = Refund.objects.get(payment=card)
    assert refund.amount_cents == card.gross_cents and refund.status == RefundStatus.PENDING
    assert balance(f"refund_payable:client:{contract.client_id}") == card.gross_cents
    assert balance(f"client_held:contract:{contract.pk}") == 80000
    assert ledger_breaches() == []


def test_a_refund_by_the_cooperative_returns_net_and_vat_with_a_credit_note(contract, first):
    payment = fund_milestone(first)
    with pytest.raises(PermissionDenied):
        funds.milestone_refund(milestone=first, by=contract.client, reason="Annulé")
    with pytest.raises(ValidationError):
        funds.milestone_refund(milestone=first, by=AdminFactory(), reason=" ")
    refund = funds.milestone_refund(milestone=first, by=AdminFactory(), reason="Accord mutuel")
    first.refresh_from_db()
    assert first.status == S.CANCELLED
    assert refund.amount_cents == 96800
    assert balance(f"client_held:contract:{contract.pk}") == 0
    assert balance("vat_payable") == 0
    assert balance(f"refund_payable:client:{contract.client_id}") == 96800
    credit = Invoice.objects.get(kind="credit_note")
    assert credit.credits.payment_id == payment.pk and credit.gross_cents == 96800
    funds.refund_record_sent(refund=refund)
    funds.refund_record_sent(refund=refund)  # idempotent
    payment.refresh_from_db()
    assert payment.refunded_cents == 96800 and balance("bank") == 0
    extra = Refund.objects.create(payment=payment, amount_cents=1, reason="again")
    with pytest.raises(ValidationError):
        funds.refund_record_sent(refund=extra)
    assert ledger_breaches() == []


def test_a_split_releases_the_members_part_and_refunds_the_rest_to_the_cent(contract, first):
    from marketplace.locks import lock_milestone

    fund_milestone(first)
    with transaction.atomic():
        locked = lock_milestone(first.pk)
        with pytest.raises(ValidationError):
            funds.milestone_settle(
                milestone=locked,
                member_cents=80001,
                by=None,
                key="s",
                reason="x",
                to_status=S.CANCELLED,
            )
        refund = funds.milestone_settle(
            milestone=locked,
            member_cents=56001,
            by=None,
            key="split-1",
            reason="70/30",
            to_status=S.CANCELLED,
        )
    # 560.01 to the member (10 % share: 56.00), 239.99 back with its VAT (50.40).
    assert balance("solidarity") == 5600
    assert balance(f"member_payable:member:{contract.member_id}") == 50401
    assert refund.amount_cents == 23999 + 5040
    assert balance("vat_payable") == 16800 - 5040
    assert ledger_breaches() == []


def test_payment_amounts_follow_the_clients_vat_status():
    dutch = ClientFactory()
    profile = dutch.client_profile
    profile.kind, profile.organisation_name = "organisation", "BV"
    profile.vat_number, profile.country = "NL004495445B01", "NL"
    profile.save()
    contract = make_contract()
    contract.client = dutch  # the job's client, as far as payments are concerned
    contract.save(update_fields=["client"])
    payment = funds.payment_create(
        milestone=contract.milestones.first(), client=dutch, method="bank_transfer"
    )
    assert (payment.vat_category, payment.vat_cents, payment.gross_cents) == ("AE", 0, 80000)


def test_only_the_client_pays_and_only_what_is_due(contract, first):
    with pytest.raises(PermissionDenied):
        funds.payment_create(milestone=first, client=contract.member.user, method="card")
    with pytest.raises(ValidationError):
        funds.payment_create(milestone=first, client=contract.client, method="cash")
    one = funds.payment_create(milestone=first, client=contract.client, method="bank_transfer")
    two = funds.payment_create(milestone=first, client=contract.client, method="bank_transfer")
    assert one.pk == two.pk and len(one.structured_communication) == 12
    fund_milestone(first)
    with pytest.raises(ValidationError):
        funds.payment_create(milestone=first, client=contract.client, method="card")


# --- The whole-ledger check ----------------------------------------------------------------------


def test_ledger_check_passes_then_reports_a_breach(contract, first, capsys):
    fund_milestone(first)
    call_command("ledger_check")
    assert "Ledger OK" in capsys.readouterr().out
    # A milestone's state changed behind the services' back: its funds no longer match.
    Milestone.objects.filter(pk=first.pk).update(status=S.AWAITING_FUNDING)
    with pytest.raises(CommandError):
        call_command("ledger_check")
    assert "held on the ledger" in capsys.readouterr().err


def test_ledger_check_sees_a_stored_balance_that_lies(contract, first):
    fund_milestone(first)
    LedgerAccount.objects.filter(code="vat_payable").update(balance_cents=1)
    assert any("stored balance" in breach for breach in ledger_breaches())


def test_payment_rows_keep_gross_equal_net_plus_vat(contract, first):
    payment = funds.payment_create(milestone=first, client=contract.client, method="card")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(vat_cents=1)
