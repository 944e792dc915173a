"""Bank transfers: structured communications, the client's transfer page, admins recording a
transfer received, and the import and reconciliation of bank statements."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from marketplace.models import MilestoneStatus
from marketplace.services import bids
from payments import bank_csv
from payments import structured_communication as sc
from payments.models import (
    BankStatement,
    BankStatementLine,
    Invoice,
    LedgerTransaction,
    Payment,
    PaymentStatus,
    Refund,
)
from payments.selectors.ledger import ledger_breaches
from payments.services import bank_transfers, funds
from tests.factories import (
    EXE_BYTES,
    AdminFactory,
    ClientFactory,
    MemberFactory,
    fund_milestone,
    make_bid,
)

pytestmark = pytest.mark.django_db
L = "payments.services.bank_transfers"
HEADER = "Date;Montant;Communication;Nom de la contrepartie;Compte contrepartie;Référence"


@pytest.fixture
def contract():
    bid = make_bid()
    return bids.bid_accept(bid=bid, client=bid.job.client)


@pytest.fixture
def milestone(contract):
    # 800,00 € excl. VAT; the client is a private person: 21 % VAT, 968,00 € to pay.
    return contract.milestones.get(position=1)


@pytest.fixture
def payment(milestone):
    return funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="bank_transfer"
    )


@pytest.fixture
def admin(client):
    admin = AdminFactory()
    client.force_login(admin)
    return admin


def transfer_url(milestone):
    return reverse("pay_bank_transfer", args=[milestone.contract_id, milestone.pk])


def funding_transactions(payment):
    return LedgerTransaction.objects.filter(idempotency_key=f"funding-payment-{payment.pk}")


def csv_file(*lines, header=HEADER, name="extrait.csv", encoding="utf-8"):
    text = "\n".join([header, *lines]) + "\n"
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def line(
    communication, amount="968,00", reference="REF-1", date="31/03/2026", iban="BE68 5390 0754 7034"
):
    return f"{date};{amount};{communication};Boulangerie Dupont;{iban};{reference}"


# --- Structured communications ---------------------------------------------------------------


def test_the_domain_example_and_its_formatting():
    assert sc.check_digits("1234567890") == "02"
    assert sc.format_communication("123456789002") == "+++123/4567/89002+++"
    assert sc.is_valid("123456789002")
    assert not sc.is_valid("123456789003")


def test_the_check_is_97_when_the_base_is_a_multiple_of_97():
    assert sc.check_digits("0000000097") == "97"
    assert sc.check_digits("0000009700") == "97"
    assert sc.is_valid("000000009797")
    assert not sc.is_valid("000000009700")


def test_new_communications_are_valid_and_twelve_digits():
    for _attempt in range(50):
        digits = funds.new_structured_communication()
        assert len(digits) == 12 and sc.is_valid(digits)


@pytest.mark.parametrize(
    "printed",
    [
        "+++123/4567/89002+++",
        "***123/4567/89002***",
        "123/4567/89002",
        "123 4567 89002",
        "123456789002",
        "  +++ 123 / 4567 / 89002 +++ ",
        "Paiement facture +++123/4567/89002+++ merci",
    ],
)
def test_what_banks_print_is_read_back_to_twelve_digits(printed):
    assert sc.parse_communication(printed) == "123456789002"


@pytest.mark.parametrize(
    "printed",
    [
        "",
        "+++123/4567/89003+++",  # wrong check
        "12345678900",  # 11 digits
        "facture 123456789002",  # digits picked out of a sentence: not read
        "+++123/4567/89002+++ et +++000/0000/09797+++",  # two communications: ambiguous
        "1234567890021",
    ],
)
def test_anything_else_is_not_a_structured_communication(printed):
    assert sc.parse_communication(printed) is None


def test_formatting_refuses_an_invalid_number():
    with pytest.raises(ValueError):
        sc.format_communication("123456789003")


# --- Amounts and the CSV format --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("968,00", 96800),
        ("968.00", 96800),
        ("968", 96800),
        ("1.210,50", 121050),
        ("1,210.50", 121050),
        ("1 210,50", 121050),
        ("1\u202f210,50 €", 121050),
        ("+968,5", 96850),
        ("-45,00", -4500),
        ("0,01", 1),
    ],
)
def test_amounts_with_a_decimal_comma_or_point(text, cents):
    assert bank_csv.parse_amount_cents(text) == cents


@pytest.mark.parametrize(
    "text", ["", "abc", "1,210", "12,345", "9,999", "1.2.3", "10,001", "1,2,3,4"]
)
def test_unclear_amounts_are_refused(text):
    with pytest.raises(ValueError):
        bank_csv.parse_amount_cents(text)


def test_a_comma_separated_file_with_a_bom_and_decimal_points_is_read():
    text = (
        "\ufeffbooking date,amount,communication,counterparty name,counterparty IBAN,bank reference\n"
        '2026-03-31,968.00,+++123/4567/89002+++,"Dupont, boulangerie",BE68539007547034,X1\n'
    )
    statement = bank_csv.read_statement(text.encode())
    assert statement.problems == []
    (row,) = statement.rows
    assert row.booked_on == datetime.date(2026, 3, 31)
    assert row.amount_cents == 96800
    assert row.structured_communication == "123456789002"
    assert row.counterparty_name == "Dupont, boulangerie"
    assert row.line_number == 2


def test_the_fingerprint_ignores_how_the_communication_is_printed():
    first = bank_csv.read_statement(f"{HEADER}\n{line('+++123/4567/89002+++')}\n".encode())
    second = bank_csv.read_statement(f"{HEADER}\n{line('123456789002')}\n".encode())
    assert first.rows[0].fingerprint == second.rows[0].fingerprint
    other = bank_csv.read_statement(
        f"{HEADER}\n{line('123456789002', reference='REF-2')}\n".encode()
    )
    assert other.rows[0].fingerprint != first.rows[0].fingerprint


def test_malformed_lines_are_listed_with_their_numbers_and_the_others_read():
    data = "\n".join(
        [
            HEADER,
            line("+++123/4567/89002+++"),
            line("x", amount="1,210"),
            line("x", date="2026-31-03"),
            "31/03/2026;12,00",
            "",
            line("x", reference="REF-9"),
        ]
    ).encode()
    statement = bank_csv.read_statement(data)
    assert [row.line_number for row in statement.rows] == [2, 7]
    assert [problem.line_number for problem in statement.problems] == [3, 4, 5]
    assert "1,210" in statement.problems[0].message


def test_a_file_without_the_columns_is_refused():
    with (
        translation.override("en"),
        pytest.raises(bank_csv.StatementFileError, match="bank reference"),
    ):
        bank_csv.read_statement(b"Date;Montant;Communication;Nom;IBAN\n31/03/2026;1;x;y;z\n")


# --- The client's transfer page --------------------------------------------------------------


def test_the_client_sees_everything_needed_to_transfer(client, milestone):
    client.force_login(milestone.contract.client)
    response = client.get(transfer_url(milestone))
    assert response.status_code == 200
    payment = Payment.objects.get(milestone=milestone)
    assert (payment.method, payment.status, payment.gross_cents) == (
        "bank_transfer",
        "pending",
        96800,
    )
    page = response.content.decode()
    assert "Sirius SCRL" in page
    assert "BE71 0961 2345 6769" in page
    assert "GKCCBEBB" in page
    assert sc.format_communication(payment.structured_communication) in page
    assert "968,00 €" in page and "800 €" in page and "168 €" in page  # gross, net, VAT
    assert "<svg" in page and 'class="payment-qr"' in page
    assert 'role="img"' in page and "aria-label=" in page
    assert "<figcaption>" in page


def test_the_qr_code_carries_the_epc_data(client, milestone, monkeypatch):
    import segno.helpers

    calls = []
    original = segno.helpers.make_epc_qr

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(segno.helpers, "make_epc_qr", spy)
    client.force_login(milestone.contract.client)
    client.get(transfer_url(milestone))
    payment = Payment.objects.get(milestone=milestone)
    (call,) = calls
    assert call["iban"] == "BE71096123456769"
    assert str(call["amount"]) == "968"
    assert call["reference"] == payment.structured_communication


def test_coming_back_shows_the_same_communication(client, milestone):
    client.force_login(milestone.contract.client)
    client.get(transfer_url(milestone))
    client.post(transfer_url(milestone))
    client.get(transfer_url(milestone))
    assert Payment.objects.filter(milestone=milestone).count() == 1


@pytest.mark.parametrize("who", ["member", "other_client", "admin_without_being_the_client"])
def test_nobody_but_the_contract_client_sees_the_page(client, milestone, who):
    viewer = {
        "member": lambda: milestone.contract.member.user,
        "other_client": ClientFactory,
        "admin_without_being_the_client": AdminFactory,
    }[who]()
    client.force_login(viewer)
    assert client.get(transfer_url(milestone)).status_code == 404
    assert not Payment.objects.filter(milestone=milestone).exists()


def test_anonymous_visitors_are_sent_to_log_in(client, milestone):
    response = client.get(transfer_url(milestone))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_milestone_must_belong_to_the_contract_in_the_address(client, milestone):
    other = make_bid(job=None)
    other_contract = bids.bid_accept(bid=other, client=other.job.client)
    client.force_login(milestone.contract.client)
    url = reverse("pay_bank_transfer", args=[other_contract.pk, milestone.pk])
    assert client.get(url).status_code == 404


def test_a_paid_milestone_says_so_instead(client, milestone):
    fund_milestone(milestone)
    client.force_login(milestone.contract.client)
    response = client.get(transfer_url(milestone))
    assert response.status_code == 200
    assert "<svg" not in response.content.decode()
    assert Payment.objects.filter(milestone=milestone).count() == 1  # no new payment


# --- Recording a transfer received -----------------------------------------------------------


def received_url(payment):
    return reverse("bank_transfer_mark_received", args=[payment.pk])


def amount_field(payment):
    return f"payment-{payment.pk}-amount"


def test_a_different_amount_is_refused_next_to_the_field(client, admin, payment):
    response = client.post(received_url(payment), {amount_field(payment): "900,00"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["amount"]
    assert "968" in form.errors["amount"][0]
    assert 'class="errorlist"' in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not funding_transactions(payment).exists()


def test_an_unreadable_amount_is_refused(client, admin, payment):
    response = client.post(received_url(payment), {amount_field(payment): "beaucoup"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_the_exact_amount_funds_the_milestone_once(client, admin, payment):
    response = client.post(received_url(payment), {amount_field(payment): "968,00"})
    assert response.status_code == 302
    assert response["Location"] == reverse("bank_transfers")
    payment.refresh_from_db()
    payment.milestone.refresh_from_db()
    assert (payment.status, payment.recorded_by, payment.funded_milestone) == (
        PaymentStatus.SUCCEEDED,
        admin,
        True,
    )
    assert payment.milestone.status == MilestoneStatus.FUNDED
    assert Invoice.objects.filter(payment=payment).count() == 1
    assert funding_transactions(payment).count() == 1
    assert ledger_breaches() == []
    # Again (a double click, a second admin): nothing moves twice.
    response = client.post(received_url(payment), {amount_field(payment): "968"})
    assert response.status_code == 302
    assert funding_transactions(payment).count() == 1
    assert Invoice.objects.filter(payment=payment).count() == 1
    assert ledger_breaches() == []


@pytest.mark.parametrize("who", ["client", "member"])
def test_only_staff_record_transfers(client, payment, who):
    viewer = payment.client if who == "client" else payment.milestone.contract.member.user
    client.force_login(viewer)
    response = client.post(received_url(payment), {amount_field(payment): "968,00"})
    assert response.status_code == 404
    assert client.get(reverse("bank_transfers")).status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_the_service_refuses_non_staff_and_wrong_amounts(payment):
    with pytest.raises(PermissionDenied):
        bank_transfers.bank_transfer_mark_received(
            payment=payment, amount_cents=96800, by=payment.client
        )
    with pytest.raises(ValidationError):
        bank_transfers.bank_transfer_mark_received(
            payment=payment, amount_cents=96799, by=AdminFactory()
        )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_the_list_shows_pending_transfers_with_a_form_each(client, admin, payment):
    response = client.get(reverse("bank_transfers"))
    assert response.status_code == 200
    page = response.content.decode()
    assert sc.format_communication(payment.structured_communication) in page
    assert received_url(payment) in page
    assert f'name="{amount_field(payment)}"' in page
    fund_milestone(payment.milestone)  # paid by another path: no longer pending
    assert received_url(payment) not in client.get(reverse("bank_transfers")).content.decode()


def test_the_list_pages_by_keyset(client, admin, monkeypatch):
    monkeypatch.setattr("payments.selectors.bank.PENDING_PAGE_SIZE", 2)
    payments = [pending_transfer() for _ in range(3)]
    first = client.get(reverse("bank_transfers"))
    assert [row[0].pk for row in first.context["rows"]] == [payments[0].pk, payments[1].pk]
    assert first.context["next_after"] == payments[1].pk
    second = client.get(reverse("bank_transfers"), {"after": payments[1].pk})
    assert [row[0].pk for row in second.context["rows"]] == [payments[2].pk]
    assert second.context["next_after"] is None


def pending_transfer():
    bid = make_bid()
    contract = bids.bid_accept(bid=bid, client=bid.job.client)
    milestone = contract.milestones.get(position=1)
    return funds.payment_create(milestone=milestone, client=contract.client, method="bank_transfer")


def test_the_transfer_list_query_count_does_not_grow(
    client, admin, django_assert_num_queries, django_assert_max_num_queries
):
    pending_transfer()
    with django_assert_max_num_queries(12) as baseline:
        assert client.get(reverse("bank_transfers")).status_code == 200
    for _ in range(4):
        pending_transfer()
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("bank_transfers"))
    assert len(response.context["rows"]) == 5


# --- Bank statements -------------------------------------------------------------------------


def import_file(client, upload):
    return client.post(reverse("bank_statement_import"), {"statement": upload})


def test_a_statement_is_reconciled_line_by_line(client, admin, contract):
    # Given: a transfer waiting (968 €), one waiting for 1 452 € that is paid 1 400 €, and one
    # already received.
    first, second = contract.milestones.order_by("position")
    waiting = funds.payment_create(milestone=first, client=contract.client, method="bank_transfer")
    short = funds.payment_create(milestone=second, client=contract.client, method="bank_transfer")
    other = pending_transfer()
    funds.payment_succeeded(payment=other, by=AdminFactory())
    upload = csv_file(
        line(sc.format_communication(waiting.structured_communication), reference="A"),
        line(short.structured_communication, amount="1400,00", reference="B"),
        line(
            f"***{sc.format_communication(other.structured_communication)[3:-3]}***",
            amount="968,00",
            reference="C",
        ),
        line("+++000/0000/09797+++", reference="D"),
        line("Loyer mars", amount="-850,00", reference="E"),
        line("facture 12", amount="12,345", reference="F"),
    )
    # When
    response = import_file(client, upload)
    # Then
    statement = BankStatement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bank_statement_detail", args=[statement.pk])
    results = dict(statement.lines.values_list("bank_reference", "status"))
    assert results == {
        "A": "matched",
        "B": "wrong_amount",
        "C": "already_paid",
        "D": "unmatched",
        "E": "outgoing",
    }
    waiting.refresh_from_db()
    short.refresh_from_db()
    assert waiting.status == PaymentStatus.SUCCEEDED and waiting.funded_milestone
    assert waiting.recorded_by == admin
    assert short.status == PaymentStatus.PENDING
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (
        MilestoneStatus.FUNDED,
        MilestoneStatus.AWAITING_FUNDING,
    )
    assert statement.lines.get(bank_reference="B").payment == short
    assert statement.lines.get(bank_reference="C").payment == other
    assert funding_transactions(waiting).count() == 1
    assert ledger_breaches() == []

    page = client.get(response["Location"])
    content = page.content.decode()
    assert page.status_code == 200
    assert "7" in content and "12,345" in content  # the malformed line, with its number
    assert [problem[0] for problem in page.context["problems"]] == [7]
    groups = {group.status: group for group in page.context["groups"]}
    assert (groups["matched"].count, groups["matched"].total_cents) == (1, 96800)
    assert (groups["wrong_amount"].count, groups["wrong_amount"].total_cents) == (1, 140000)
    assert (groups["outgoing"].count, groups["outgoing"].total_cents) == (1, -85000)
    assert groups["duplicate"].count == 0
    # The problems were shown once; the stored results stay.
    assert client.get(response["Location"]).context["problems"] == []


def test_importing_the_same_lines_again_changes_nothing(client, admin, payment):
    upload = [line(payment.structured_communication, reference="A"), line("x", reference="B")]
    import_file(client, csv_file(*upload))
    import_file(client, csv_file(*upload))
    first, second = BankStatement.objects.order_by("pk")
    assert sorted(first.lines.values_list("status", flat=True)) == ["matched", "unmatched"]
    assert list(second.lines.values_list("status", flat=True)) == ["duplicate", "duplicate"]
    assert funding_transactions(payment).count() == 1
    assert ledger_breaches() == []
    page = client.get(reverse("bank_statement_detail", args=[second.pk]))
    groups = {group.status: group for group in page.context["groups"]}
    assert groups["duplicate"].count == 2


def test_the_same_line_twice_in_one_file_is_a_duplicate(client, admin, payment):
    same = line(payment.structured_communication, reference="A")
    import_file(client, csv_file(same, same))
    statuses = list(
        BankStatementLine.objects.order_by("line_number").values_list("status", flat=True)
    )
    assert statuses == ["matched", "duplicate"]
    assert funding_transactions(payment).count() == 1


def test_a_transfer_for_a_milestone_paid_meanwhile_becomes_a_refund(client, admin, payment):
    fund_milestone(payment.milestone, method="card")  # paid by card, the transfer still came
    import_file(client, csv_file(line(payment.structured_communication)))
    statement_line = BankStatementLine.objects.get()
    payment.refresh_from_db()
    assert statement_line.status == "matched"
    assert payment.status == PaymentStatus.SUCCEEDED and not payment.funded_milestone
    assert Refund.objects.filter(payment=payment, amount_cents=96800).count() == 1
    assert ledger_breaches() == []


def test_a_failing_line_does_not_lose_the_others(client, admin, contract, monkeypatch):
    first, second = contract.milestones.order_by("position")
    broken = funds.payment_create(milestone=first, client=contract.client, method="bank_transfer")
    fine = funds.payment_create(milestone=second, client=contract.client, method="bank_transfer")
    original = funds.payment_succeeded

    def failing(*, payment, by=None):
        if payment.pk == broken.pk:
            raise RuntimeError("the invoice numbering is down")
        return original(payment=payment, by=by)

    monkeypatch.setattr(f"{L}.payment_succeeded", failing)
    upload = [
        line(broken.structured_communication, reference="A"),
        line(fine.structured_communication, amount="1452,00", reference="B"),
    ]
    response = import_file(client, csv_file(*upload))
    statement = BankStatement.objects.get()
    assert list(statement.lines.values_list("bank_reference", "status")) == [("B", "matched")]
    broken.refresh_from_db()
    assert broken.status == PaymentStatus.PENDING
    page = client.get(response["Location"])
    assert [problem[0] for problem in page.context["problems"]] == [2]
    # Once repaired, importing the file again records the failed line only.
    monkeypatch.setattr(f"{L}.payment_succeeded", original)
    import_file(client, csv_file(*upload))
    latest = BankStatement.objects.latest("pk")
    assert dict(latest.lines.values_list("bank_reference", "status")) == {
        "A": "matched",
        "B": "duplicate",
    }
    assert ledger_breaches() == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("extrait.csv", b"a" * (2 * 1024 * 1024 + 1)), "2 MB"),
        (SimpleUploadedFile("extrait.pdf", b"%PDF-1.4\n"), ".csv"),
        (SimpleUploadedFile("extrait.csv", EXE_BYTES), "CSV"),
        (SimpleUploadedFile("extrait.csv", b"Date;Montant\n"), "communication"),
        (SimpleUploadedFile("extrait.csv", "é;x".encode("latin-1")), "UTF-8"),
        (SimpleUploadedFile("extrait.csv", f"{HEADER}\n".encode()), "no lines"),
    ],
    ids=["too-big", "not-csv-name", "binary", "missing-columns", "not-utf8", "no-lines"],
)
def test_unreadable_files_are_refused_next_to_the_field(client, admin, upload, message, settings):
    settings.LANGUAGE_CODE = "en"
    response = client.post(
        reverse("bank_statement_import"), {"statement": upload}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["statement"]
    assert any(message in error for error in errors), errors
    assert not BankStatement.objects.exists()


def test_a_file_whose_every_line_is_malformed_lists_them(client, admin):
    response = import_file(client, csv_file(line("x", amount="abc"), line("x", date="hier")))
    assert response.status_code == 200
    assert response.context["form"].errors["statement"]
    assert [problem.line_number for problem in response.context["problems"]] == [2, 3]
    assert not BankStatement.objects.exists()


@pytest.mark.parametrize("who", ["client", "member", "anonymous"])
def test_statement_pages_are_for_staff(client, who):
    statement = BankStatement.objects.create(filename="x.csv", uploaded_by=AdminFactory())
    if who != "anonymous":
        client.force_login(ClientFactory() if who == "client" else MemberFactory())
    urls = [
        reverse("bank_statement_import"),
        reverse("bank_statement_detail", args=[statement.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == (302 if who == "anonymous" else 404)
    response = client.post(urls[0], {"statement": csv_file(line("x"))})
    assert response.status_code == (302 if who == "anonymous" else 404)
    assert BankStatement.objects.count() == 1


def test_the_service_refuses_non_staff(payment):
    statement = bank_csv.read_statement(
        f"{HEADER}\n{line(payment.structured_communication)}\n".encode()
    )
    with pytest.raises(PermissionDenied):
        bank_transfers.bank_statement_import(
            rows=statement.rows, filename="x.csv", by=payment.client
        )
    assert not BankStatement.objects.exists()


def test_the_results_page_query_count_does_not_grow(
    client, admin, django_assert_num_queries, django_assert_max_num_queries
):
    def statement_with(count):
        payments = [pending_transfer() for _ in range(count)]
        lines = [line(p.structured_communication, reference=f"R{p.pk}") for p in payments] + [
            line("x", reference=f"U{p.pk}") for p in payments
        ]
        import_file(client, csv_file(*lines))
        return BankStatement.objects.latest("pk")

    small = statement_with(1)
    with django_assert_max_num_queries(12) as baseline:
        client.get(reverse("bank_statement_detail", args=[small.pk]))
    # Counted now: the next import is a request, which empties Django's query log.
    expected = len(baseline.captured_queries)
    large = statement_with(4)
    with django_assert_num_queries(expected):
        response = client.get(reverse("bank_statement_detail", args=[large.pk]))
    assert sum(group.count for group in response.context["groups"]) == 8


def test_the_import_page_lists_recent_statements_in_bounded_queries(
    client, admin, django_assert_num_queries, django_assert_max_num_queries
):
    BankStatement.objects.create(filename="janvier.csv", uploaded_by=admin)
    with django_assert_max_num_queries(10) as baseline:
        client.get(reverse("bank_statement_import"))
    for month in ("fevrier", "mars", "avril"):
        BankStatement.objects.create(filename=f"{month}.csv", uploaded_by=admin)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("bank_statement_import"))
    assert "avril.csv" in response.content.decode()


# --- Races (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_statement_imported_twice_at_once_funds_once():
    import threading

    from django.db import connection

    # Given a transfer waiting, and two admins importing the same statement at the same moment
    payment = pending_transfer()
    admins = [AdminFactory(), AdminFactory()]
    statement = bank_csv.read_statement(
        f"{HEADER}\n{line(payment.structured_communication)}\n".encode()
    )
    barrier = threading.Barrier(len(admins))
    errors: list[BaseException] = []

    def import_as(admin):
        try:
            barrier.wait(timeout=10)
            bank_transfers.bank_statement_import(rows=statement.rows, filename="x.csv", by=admin)
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_as, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one line matched, the other is a duplicate, and the milestone was funded once
    assert errors == []
    statuses = sorted(BankStatementLine.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "matched"]
    assert funding_transactions(payment).count() == 1
    assert ledger_breaches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_admin_and_an_import_at_once_fund_once():
    import threading

    from django.db import connection

    payment = pending_transfer()
    statement = bank_csv.read_statement(
        f"{HEADER}\n{line(payment.structured_communication)}\n".encode()
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(action):
        try:
            barrier.wait(timeout=10)
            action()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    importer, recorder = AdminFactory(), AdminFactory()
    actions = [
        lambda: bank_transfers.bank_statement_import(
            rows=statement.rows, filename="x.csv", by=importer
        ),
        lambda: bank_transfers.bank_transfer_mark_received(
            payment=payment, amount_cents=96800, by=recorder
        ),
    ]
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Whoever came second saw the payment received: one funding, the line matched or already paid
    assert errors == []
    (statement_line,) = BankStatementLine.objects.all()
    assert statement_line.status in {"matched", "already_paid"}
    assert funding_transactions(payment).count() == 1
    assert ledger_breaches() == []
