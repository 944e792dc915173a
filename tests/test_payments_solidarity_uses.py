"""Uses of the solidarity fund: one balanced posting each, never more than the fund holds,
corrections by reversal, and the staff page that records them."""

import datetime
import uuid

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    SolidarityUse,
    TransactionKind,
)
from payments.selectors.ledger import account_balance, ledger_breaches
from payments.services.solidarity import solidarity_use_correct, solidarity_use_record
from tests.factories import (
    AdminFactory,
    ClientFactory,
    MemberFactory,
    approve_milestone,
    fund_milestone,
    make_contract,
)
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Factories set a password on every user: argon2 costs a second each on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin():
    return AdminFactory()


@pytest.fixture
def fund_with_200():
    """One contract of 2 000 €, fully released at the default 10 %: 200 € in the fund."""
    contract = make_contract(price_cents=200000, milestones=(("Tout", 200000),))
    milestone = contract.milestones.get()
    fund_milestone(milestone)
    approve_milestone(milestone)
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 20000
    return contract


def record(admin, amount_cents, **kwargs):
    return solidarity_use_record(
        by=admin,
        spent_on=kwargs.pop("spent_on", timezone.localdate()),
        category=kwargs.pop("category", "training"),
        description=kwargs.pop("description", "Formation accessibilité pour trois membres"),
        amount_cents=amount_cents,
        request_key=kwargs.pop("request_key", str(uuid.uuid4())),
    )


def test_a_use_moves_money_out_of_the_fund_in_one_balanced_transaction(admin, fund_with_200):
    use = record(admin, 7550)

    posting = use.transaction
    assert posting.kind == TransactionKind.SOLIDARITY_SPENT
    assert posting.created_by == admin
    entries = {e.account.kind: e.amount_cents for e in posting.entries.select_related("account")}
    assert entries == {AccountKind.SOLIDARITY_FUND: -7550, AccountKind.SOLIDARITY_SPENT: 7550}
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 20000 - 7550
    assert account_balance(AccountKind.SOLIDARITY_SPENT) == 7550
    assert LedgerAccount.objects.get(code=AccountKind.SOLIDARITY_SPENT).allow_negative
    assert ledger_breaches() == []


def test_the_same_form_sent_twice_records_one_use(admin, fund_with_200):
    key = str(uuid.uuid4())
    first = record(admin, 5000, request_key=key)
    again = record(admin, 5000, request_key=key)
    assert again.pk == first.pk
    assert SolidarityUse.objects.count() == 1
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 15000


def test_more_than_the_fund_holds_is_refused_and_nothing_is_written(admin, fund_with_200):
    transactions = LedgerTransaction.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        record(admin, 20001)
    assert "amount" in refused.value.message_dict
    assert "holds 200 €" in refused.value.message_dict["amount"][0]
    assert LedgerTransaction.objects.count() == transactions
    assert not SolidarityUse.objects.exists()
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 20000
    # The whole fund may be used, not a cent more.
    record(admin, 20000)
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 0


def test_only_staff_record_and_inputs_are_checked(admin, fund_with_200):
    with pytest.raises(PermissionDenied):
        record(MemberFactory(), 100)
    with pytest.raises(ValidationError) as refused:
        record(
            admin,
            0,
            category="holiday",
            description="   ",
            spent_on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert set(refused.value.message_dict) == {"amount", "category", "description", "spent_on"}
    assert not SolidarityUse.objects.exists()


def test_a_correction_is_a_reversal_with_its_reason_never_an_edit(admin, fund_with_200):
    use = record(admin, 6000)
    reversal = solidarity_use_correct(use=use, by=admin, reason="Facture comptée deux fois")

    assert reversal.kind == TransactionKind.REVERSAL
    assert reversal.reverses_id == use.transaction_id
    assert reversal.memo == "Facture comptée deux fois"
    use.refresh_from_db()
    assert use.amount_cents == 6000  # the row itself is untouched
    assert use.correction == reversal
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 20000
    assert account_balance(AccountKind.SOLIDARITY_SPENT) == 0
    assert ledger_breaches() == []
    with pytest.raises(ValidationError):
        solidarity_use_correct(use=use, by=admin, reason="encore")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REVERSAL).count() == 1


# --- The staff page ---------------------------------------------------------------------------


def test_only_staff_reach_the_solidarity_pages(client, admin, fund_with_200):
    use = record(admin, 1000)
    pages = [reverse("solidarity_fund"), reverse("solidarity_use_correct", args=[use.pk])]
    for page in pages:
        assert client.get(page).status_code == 404  # anonymous
    for user in (ClientFactory(), MemberFactory(), fund_with_200.member.user):
        client.force_login(user)
        for page in pages:
            assert client.get(page).status_code == 404
            assert client.post(page, {"reason": "x", "amount": "1"}).status_code == 404
    assert SolidarityUse.objects.count() == 1
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.REVERSAL).exists()


def staff_client(client, admin):
    client.force_login(admin)
    record_mfa(client, admin)
    return client


def form_data(**overrides):
    data = {
        "spent_on": timezone.localdate().isoformat(),
        "category": "equipment",
        "description": "Deux ordinateurs portables reconditionnés",
        "amount": "150.25",
        "request_key": str(uuid.uuid4()),
    }
    return {**data, **overrides}


def test_staff_record_a_use_from_the_page(client, admin, fund_with_200):
    staff = staff_client(client, admin)
    data = form_data()
    response = staff.post(reverse("solidarity_fund"), data)
    assert response.status_code == 302
    use = SolidarityUse.objects.get()
    assert (use.amount_cents, use.category, use.posted_by) == (15025, "equipment", admin)
    # A double click (the same form) records nothing more.
    assert staff.post(reverse("solidarity_fund"), data).status_code == 302
    assert SolidarityUse.objects.count() == 1
    page = staff.get(reverse("solidarity_fund")).content.decode()
    assert "Deux ordinateurs portables reconditionnés" in page
    assert reverse("solidarity_use_correct", args=[use.pk]) in page


def test_overdraw_on_the_page_shows_the_error_next_to_the_amount_and_keeps_the_input(
    client, admin, fund_with_200
):
    staff = staff_client(client, admin)
    entries = LedgerEntry.objects.count()
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the page's language, as chosen
    response = staff.post(
        reverse("solidarity_fund"),
        form_data(amount="250", description="Garantie de paiement pour un membre"),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "cannot pay 250 €" in form.errors["amount"][0]
    assert list(form.errors) == ["amount"]
    html = response.content.decode()
    assert 'id="id_amount_error"' in html  # the field's own error list
    assert 'value="250"' in html
    assert "Garantie de paiement pour un membre" in html
    assert LedgerEntry.objects.count() == entries
    assert not SolidarityUse.objects.exists()


def test_staff_correct_a_use_from_the_page(client, admin, fund_with_200):
    use = record(admin, 4000, description="Matériel")
    staff = staff_client(client, admin)
    url = reverse("solidarity_use_correct", args=[use.pk])
    empty = staff.post(url, {"reason": ""})
    assert empty.status_code == 200 and empty.context["form"].errors["reason"]
    assert staff.post(url, {"reason": "Doublon"}).status_code == 302
    assert use.transaction.reversed_by.memo == "Doublon"
    page = staff.get(reverse("solidarity_fund")).content.decode()
    assert "Doublon" in page and "<del>" in page
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 20000


def test_staff_page_query_count_does_not_grow_with_uses(
    client, admin, fund_with_200, django_assert_num_queries
):
    staff = staff_client(client, admin)
    for amount in (100, 200, 300):
        record(admin, amount)
    solidarity_use_correct(use=SolidarityUse.objects.first(), by=admin, reason="Erreur")
    staff.get(reverse("solidarity_fund"))  # warm the session and the user
    with django_assert_num_queries(4) as captured:
        staff.get(reverse("solidarity_fund"))
    for amount in (400, 500):
        record(admin, amount)
    with django_assert_num_queries(len(captured.captured_queries)):
        staff.get(reverse("solidarity_fund"))


# --- The member's own statement: every payment, from what the client paid to their part ----


def test_the_statement_shows_a_split_with_what_went_back_to_the_client(client):
    from django.db import transaction

    from marketplace.locks import lock_milestone
    from payments.selectors.statements import member_statement
    from payments.services import funds

    contract = make_contract(price_cents=100000, milestones=(("Tout", 100000),))
    payment = fund_milestone(contract.milestones.get())
    with transaction.atomic():
        milestone = lock_milestone(contract.milestones.get().pk)
        funds.milestone_settle(
            milestone=milestone,
            member_cents=60000,
            by=None,
            key=f"test-split-{milestone.pk}",
            reason="Accord à 60 %",
            to_status="cancelled",
        )

    row = member_statement(contract.member).releases[0]
    assert (row.gross_cents, row.vat_cents, row.net_cents) == (
        payment.gross_cents,
        payment.vat_cents,
        100000,
    )
    assert (row.solidarity_cents, row.member_cents) == (6000, 54000)
    client_part = 40000 + 40000 * payment.vat_rate_bp // 10000
    assert row.refunded_cents == client_part
    # Every cent of the client's payment is accounted for on the row.
    assert (
        row.member_cents
        + row.solidarity_cents
        + row.refunded_cents
        + (payment.vat_cents - (client_part - 40000))
        == payment.gross_cents
    )
    client.force_login(contract.member.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("member_earnings")).content.decode()
    assert "paid back to the client" in html
    assert reverse("governance:transparency") in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_never_spend_more_than_the_fund_holds():
    from tests.concurrency import race

    admin = AdminFactory()
    contract = make_contract(price_cents=200000, milestones=(("Tout", 200000),))
    milestone = contract.milestones.get()
    fund_milestone(milestone)
    approve_milestone(milestone)  # 200 € in the fund

    def spend(_index):
        try:
            record(admin, 15000)
        except ValidationError as error:
            return "refused" if "amount" in error.message_dict else "other"
        return "recorded"

    outcomes = race(4, spend)
    assert sorted(outcomes) == ["recorded", "refused", "refused", "refused"]
    assert SolidarityUse.objects.count() == 1
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 5000
    assert ledger_breaches() == []


def test_a_form_sent_again_with_other_figures_is_refused_not_a_crash(client, admin, fund_with_200):
    staff = staff_client(client, admin)
    data = form_data(amount="10")
    assert staff.post(reverse("solidarity_fund"), data).status_code == 302
    again = staff.post(reverse("solidarity_fund"), {**data, "amount": "20"})
    assert again.status_code == 200
    assert again.context["form"].non_field_errors()
    missing = staff.post(reverse("solidarity_fund"), {**data, "request_key": ""})
    assert missing.status_code == 200 and missing.context["form"].errors["request_key"]
    assert 'role="alert"' in missing.content.decode()
    assert SolidarityUse.objects.get().amount_cents == 1000
    assert account_balance(AccountKind.SOLIDARITY_FUND) == 19000
