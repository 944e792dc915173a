"""Paying members: payout batches (SEPA file and Stripe Connect), their ledger effects, the
staff pages and the member's own statement.

Stripe Connect is not in localstripe, so these tests serve a small fake of its transfer
endpoint on 127.0.0.1 (with Stripe's idempotency-key replay) and point the client at it."""

import datetime
import itertools
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from sepaxml.validation import try_valid_xml

from marketplace.services import milestones as milestone_services
from marketplace.services.bids import bid_accept
from payments.models import (
    AccountKind,
    ConnectedAccount,
    LedgerTransaction,
    Payment,
    PayoutBatch,
    PayoutBatchStatus,
    PayoutLine,
    PayoutLineKind,
    PayoutLineStatus,
    PayoutRail,
    Refund,
    RefundStatus,
    TransactionKind,
)
from payments.selectors.ledger import account_balance, ledger_breaches
from payments.services import funds
from payments.services import payouts as services
from payments.services.ledger import account_for
from payments.stripe_gateway import idempotency_key
from tests.factories import AdminFactory, ClientFactory, MemberFactory, fund_milestone, make_bid

pytestmark = pytest.mark.django_db

NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{services.SEPA_SCHEMA}"}
AMINA_IBAN = "BE71096123456769"
JONAS_IBAN = "NL91ABNA0417164300"
CLIENT_IBAN = "DE89370400440532013000"
TODAY = datetime.date.today


# --- helpers ------------------------------------------------------------------------------


def member_with(iban: str = "", name: str = "Amina"):
    user = MemberFactory(full_name=f"{name} Test")
    profile = user.member_profile
    profile.display_name = name
    profile.iban = iban
    profile.save(update_fields=["display_name", "iban"])
    return profile


def released_contract(member, milestones=(("Maquettes", 80000), ("Site en ligne", 120000))):
    """A contract whose milestones are all funded (bank transfer), delivered and approved:
    approval releases them (10 % solidarity share, the rest payable to the member)."""
    bid = make_bid(member=member, price_cents=sum(a for _t, a in milestones), milestones=milestones)
    contract = bid_accept(bid=bid, client=bid.job.client)
    admin = AdminFactory()
    for milestone in contract.milestones.order_by("position"):
        fund_milestone(milestone, by=admin)
        user = member.user
        milestone_services.milestone_start(milestone=milestone, member=user)
        milestone_services.milestone_deliver(milestone=milestone, member=user, message="Voilà.")
        milestone_services.milestone_approve(milestone=milestone, client=contract.client)
    return contract


def payable(member) -> int:
    return account_balance(f"{AccountKind.MEMBER_PAYABLE}:member:{member.pk}")


def in_transit() -> int:
    return account_balance(AccountKind.PAYOUTS_IN_TRANSIT)


def bank() -> int:
    return account_balance(AccountKind.BANK)


def stripe_clearing() -> int:
    return account_balance(AccountKind.STRIPE_CLEARING)


def sepa_batch(admin, **kwargs):
    kwargs.setdefault("execution_date", TODAY())
    return services.payout_batch_create(rail=PayoutRail.SEPA, by=admin, **kwargs)


def pending_bank_refund(iban=CLIENT_IBAN):
    """A bank-transfer payment of 968 € (800 € + VAT) refunded in full by the cooperative."""
    bid = make_bid(price_cents=80000, milestones=(("Tout", 80000),))
    contract = bid_accept(bid=bid, client=bid.job.client)
    milestone = contract.milestones.get()
    admin = AdminFactory()
    fund_milestone(milestone, by=admin)
    refund = funds.milestone_refund(
        milestone=milestone, by=admin, reason="Annulé d'un commun accord"
    )
    refund.iban = iban
    refund.save(update_fields=["iban"])
    return refund


@pytest.fixture
def admin():
    return AdminFactory()


@pytest.fixture
def amina():
    member = member_with(AMINA_IBAN, "Amina")
    released_contract(member)  # 2 000 € released: 200 € solidarity, 1 800 € payable
    return member


# --- SEPA: create, sent, cancel -----------------------------------------------------------


def test_create_moves_the_payable_balance_in_transit_and_writes_one_line_per_member(admin, amina):
    jonas = member_with(JONAS_IBAN, "Jonas")
    released_contract(jonas, milestones=(("Tout", 50000),))
    assert payable(amina) == 180000 and payable(jonas) == 45000

    created = sepa_batch(admin)

    batch = created.batch
    assert created.skipped == []
    assert batch.status == PayoutBatchStatus.EXPORTED
    assert batch.total_cents == 225000
    lines = {line.member_id: line for line in batch.lines.all()}
    assert lines[amina.pk].amount_cents == 180000
    assert lines[amina.pk].iban == AMINA_IBAN and lines[amina.pk].bic == "GKCCBEBB"
    assert lines[jonas.pk].amount_cents == 45000
    assert payable(amina) == 0 and payable(jonas) == 0
    assert in_transit() == 225000
    assert bank() == -(200000 * 121 // 100 + 50000 * 121 // 100)  # only the clients' money
    exported = LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_EXPORTED)
    assert sorted(exported.values_list("idempotency_key", flat=True)) == sorted(
        f"payout-exported-line-{line.pk}" for line in lines.values()
    )
    assert ledger_breaches() == []


def test_a_second_batch_right_after_the_first_finds_nothing_to_pay(admin, amina):
    sepa_batch(admin)

    with pytest.raises(ValidationError) as refused:
        sepa_batch(admin)

    assert refused.value.code == "nothing_payable"
    assert PayoutBatch.objects.count() == 1
    assert PayoutLine.objects.get().amount_cents == 180000
    assert ledger_breaches() == []


def test_mark_sent_moves_the_money_from_in_transit_to_the_bank_once(admin, amina):
    batch = sepa_batch(admin).batch
    bank_before = bank()

    services.payout_batch_mark_sent(batch=batch, by=admin)
    services.payout_batch_mark_sent(batch=batch, by=admin)  # a double click changes nothing

    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.SENT and batch.sent_by == admin
    assert batch.lines.get().status == PayoutLineStatus.SENT
    assert in_transit() == 0
    assert bank() == bank_before + 180000
    assert payable(amina) == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_SENT).count() == 1
    assert ledger_breaches() == []
    with pytest.raises(ValidationError):
        services.payout_batch_cancel(batch=batch, by=admin, reason="Trop tard")


def test_cancel_gives_the_money_back_to_the_member_who_can_then_be_paid_again(admin, amina):
    batch = sepa_batch(admin).batch

    services.payout_batch_cancel(batch=batch, by=admin, reason="Mauvaise date")
    services.payout_batch_cancel(batch=batch, by=admin, reason="Mauvaise date")  # idempotent

    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.CANCELLED
    assert batch.lines.get().status == PayoutLineStatus.CANCELLED
    assert payable(amina) == 180000 and in_transit() == 0
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_CANCELLED).count() == 1
    assert ledger_breaches() == []
    with pytest.raises(ValidationError):
        services.payout_batch_mark_sent(batch=batch, by=admin)

    second = sepa_batch(admin).batch
    assert second.total_cents == 180000 and payable(amina) == 0
    assert ledger_breaches() == []


def test_cancel_needs_a_reason(admin, amina):
    batch = sepa_batch(admin).batch
    with pytest.raises(ValidationError):
        services.payout_batch_cancel(batch=batch, by=admin, reason="  ")
    assert PayoutBatch.objects.get().status == PayoutBatchStatus.EXPORTED


def test_only_staff_make_batches(amina):
    with pytest.raises(PermissionDenied):
        sepa_batch(amina.user)
    assert PayoutBatch.objects.count() == 0


def test_execution_date_in_the_past_is_refused(admin, amina):
    with pytest.raises(ValidationError):
        sepa_batch(admin, execution_date=TODAY() - datetime.timedelta(days=1))
    assert payable(amina) == 180000


def test_members_without_a_valid_iban_are_skipped_with_a_reason(admin, amina):
    nobody = member_with("", "Sans IBAN")
    released_contract(nobody, milestones=(("Tout", 10000),))
    wrong = member_with("BE00123", "Mauvais IBAN")
    released_contract(wrong, milestones=(("Tout", 10000),))

    created = sepa_batch(admin)

    assert list(created.batch.lines.values_list("member_id", flat=True)) == [amina.pk]
    assert sorted(s.name for s in created.skipped) == ["Mauvais IBAN", "Sans IBAN"]
    assert all("IBAN" in s.reason for s in created.skipped)
    assert payable(nobody) == 9000 and payable(wrong) == 9000
    with pytest.raises(ValidationError):
        sepa_batch(admin, member_ids=[nobody.pk])


def test_only_the_selected_members_are_paid(admin, amina):
    jonas = member_with(JONAS_IBAN, "Jonas")
    released_contract(jonas, milestones=(("Tout", 50000),))

    batch = sepa_batch(admin, member_ids=[jonas.pk]).batch

    assert list(batch.lines.values_list("member_id", flat=True)) == [jonas.pk]
    assert payable(amina) == 180000 and payable(jonas) == 0


def test_the_sepa_file_is_valid_and_pays_each_line(admin, amina):
    jonas = member_with(JONAS_IBAN, "Jonas")
    released_contract(jonas, milestones=(("Tout", 50000),))
    execution = TODAY() + datetime.timedelta(days=2)

    batch = sepa_batch(admin, execution_date=execution).batch

    xml = batch.sepa_xml.encode()
    try_valid_xml(xml, services.SEPA_SCHEMA)  # raises on any schema error
    root = ET.fromstring(xml)
    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header.findtext("p:MsgId", namespaces=NS) == batch.message_id
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert header.findtext("p:CtrlSum", namespaces=NS) == "2250.00"
    info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == "BE71096123456769"
    assert info.findtext("p:Dbtr/p:Nm", namespaces=NS) == "Sirius SCRL"
    assert info.findtext("p:ReqdExctnDt/p:Dt", namespaces=NS) == execution.isoformat()
    transfers = {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): (
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS),
            tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS),
        )
        for tx in info.findall("p:CdtTrfTxInf", NS)
    }
    lines = {line.member_id: line for line in batch.lines.all()}
    assert transfers[lines[amina.pk].end_to_end_id][:2] == (AMINA_IBAN, "1800.00")
    assert transfers[lines[jonas.pk].end_to_end_id][:2] == (JONAS_IBAN, "450.00")
    assert all(batch.message_id in text for _iban, _amount, text in transfers.values())


# --- Bank refunds in SEPA batches ---------------------------------------------------------


def test_a_pending_bank_refund_is_paid_back_through_the_batch(admin, amina):
    refund = pending_bank_refund()
    client = refund.payment.client
    refund_payable = f"{AccountKind.CLIENT_REFUND_PAYABLE}:client:{client.pk}"
    assert account_balance(refund_payable) == 96800

    batch = sepa_batch(admin).batch

    line = batch.lines.get(kind=PayoutLineKind.CLIENT_REFUND)
    assert line.refund == refund and line.amount_cents == 96800 and line.iban == CLIENT_IBAN
    assert CLIENT_IBAN in batch.sepa_xml and line.end_to_end_id in batch.sepa_xml
    assert account_balance(refund_payable) == 0
    assert in_transit() == 180000 + 96800
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING  # not yet: the file is not sent
    assert ledger_breaches() == []

    bank_before = bank()
    services.payout_batch_mark_sent(batch=batch, by=admin)

    refund.refresh_from_db()
    payment = Payment.objects.get(pk=refund.payment_id)
    assert refund.status == RefundStatus.SUCCEEDED and refund.completed_at is not None
    assert payment.refunded_cents == 96800 == payment.gross_cents
    assert bank() == bank_before + 180000 + 96800
    assert in_transit() == 0
    assert ledger_breaches() == []


def test_a_refund_without_iban_waits_and_is_reported(admin, amina):
    refund = pending_bank_refund(iban="")

    with translation.override("en"):
        created = sepa_batch(admin)

    assert not created.batch.lines.filter(kind=PayoutLineKind.CLIENT_REFUND).exists()
    assert any(f"#{refund.pk}" in s.reason for s in created.skipped)


def test_a_cancelled_refund_line_is_replaced_by_a_new_pending_refund(admin):
    refund = pending_bank_refund()
    batch = sepa_batch(admin).batch
    client = refund.payment.client

    services.payout_batch_cancel(batch=batch, by=admin, reason="Fichier refusé par la banque")

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    replacement = Refund.objects.get(status=RefundStatus.PENDING)
    assert replacement.amount_cents == 96800 and replacement.iban == CLIENT_IBAN
    assert account_balance(f"{AccountKind.CLIENT_REFUND_PAYABLE}:client:{client.pk}") == 96800
    assert ledger_breaches() == []

    again = sepa_batch(admin).batch
    assert again.lines.get().refund == replacement
    services.payout_batch_mark_sent(batch=again, by=admin)
    assert Payment.objects.get(pk=refund.payment_id).refunded_cents == 96800
    assert ledger_breaches() == []


def test_a_refund_beyond_what_the_ledger_owes_the_client_is_not_paid(admin):
    # Given a second pending refund of the same payment, written by mistake
    refund = pending_bank_refund()
    duplicate = Refund.objects.create(
        payment=refund.payment, amount_cents=refund.amount_cents, reason="x", iban=CLIENT_IBAN
    )

    with translation.override("en"):
        created = sepa_batch(admin)

    assert created.batch.lines.get().refund == refund
    assert any(f"#{duplicate.pk}" in s.reason for s in created.skipped)
    assert ledger_breaches() == []


def test_refunds_can_be_left_out(admin, amina):
    pending_bank_refund()
    batch = sepa_batch(admin, include_refunds=False).batch
    assert list(batch.lines.values_list("kind", flat=True)) == [PayoutLineKind.MEMBER]


# --- Stripe Connect -----------------------------------------------------------------------


@dataclass
class FakeConnect:
    """Stripe's POST /v1/transfers, with idempotency-key replay, on a loopback port."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    replies: dict[str, tuple[int, dict]] = field(default_factory=dict)
    refused_destinations: set[str] = field(default_factory=set)
    failing_with_500: int = 0
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, key: str, params: dict) -> tuple[int, dict]:
        with self.lock:
            self.requests.append({"key": key, **params})
            if key and key in self.replies:
                return self.replies[key]
            if self.failing_with_500:
                self.failing_with_500 -= 1
                return 500, {"error": {"type": "api_error", "message": "Something went wrong"}}
            if params["destination"] in self.refused_destinations:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"No such destination: '{params['destination']}'",
                        "param": "destination",
                    }
                }
            reply = (
                200,
                {
                    "id": f"tr_fake_{next(self.ids)}",
                    "object": "transfer",
                    "amount": int(params["amount"]),
                    "currency": params["currency"],
                    "destination": params["destination"],
                    "transfer_group": params.get("transfer_group"),
                },
            )
            if key:
                self.replies[key] = reply
            return reply

    def transfers(self) -> list[dict]:
        return [reply for status, reply in self.replies.values() if status == 200]


@pytest.fixture
def fake_connect(settings):
    fake = FakeConnect()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            params = {k: v[0] for k, v in parse_qs(body).items()}
            if self.path != "/v1/transfers":
                status, reply = 404, {"error": {"type": "invalid_request_error"}}
            else:
                status, reply = fake.answer(self.headers.get("Idempotency-Key", ""), params)
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_SECRET_KEY = ""
    settings.LOCALSTRIPE_URL = fake.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield fake
    server.shutdown()
    server.server_close()


def connected(member, account_id="acct_amina", enabled=True):
    return ConnectedAccount.objects.create(
        member=member, stripe_account_id=account_id, payouts_enabled=enabled
    )


def connect_batch(admin, **kwargs):
    kwargs.setdefault("execution_date", TODAY())
    return services.payout_batch_create(rail=PayoutRail.STRIPE_CONNECT, by=admin, **kwargs)


def test_connect_makes_one_transfer_per_contract_with_its_transfer_group(
    admin, amina, fake_connect
):
    first = amina.contracts.get()
    second = released_contract(amina, milestones=(("Tout", 30000),))  # +270 €
    connected(amina)

    batch = connect_batch(admin).batch

    lines = {line.contract_id: line for line in batch.lines.all()}
    assert {cid: line.amount_cents for cid, line in lines.items()} == {
        first.pk: 180000,
        second.pk: 27000,
    }
    assert payable(amina) == 0 and in_transit() == 207000
    assert batch.sepa_xml == ""

    services.payout_batch_execute_connect(batch=batch, by=admin)

    sent = {
        (r["transfer_group"], int(r["amount"]), r["destination"]) for r in fake_connect.requests
    }
    assert sent == {
        (f"contract_{first.pk}", 180000, "acct_amina"),
        (f"contract_{second.pk}", 27000, "acct_amina"),
    }
    assert {r["key"] for r in fake_connect.requests} == {
        idempotency_key("payout_line", line.pk) for line in lines.values()
    }
    assert all(r["currency"] == "eur" for r in fake_connect.requests)
    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.SENT
    assert set(batch.lines.values_list("status", flat=True)) == {PayoutLineStatus.SENT}
    assert all(line.stripe_transfer_id for line in batch.lines.all())
    assert in_transit() == 0
    assert stripe_clearing() == 207000
    assert ledger_breaches() == []
    # Nothing left: a new Connect batch finds nothing.
    with pytest.raises(ValidationError):
        connect_batch(admin)


def test_connect_skips_members_without_an_enabled_account(admin, amina, fake_connect):
    connected(amina, enabled=False)
    with pytest.raises(ValidationError) as refused:
        connect_batch(admin)
    assert refused.value.code == "nothing_payable"
    assert payable(amina) == 180000


def test_connect_after_a_sepa_payout_only_pays_the_new_contract(admin, amina, fake_connect):
    services.payout_batch_mark_sent(batch=sepa_batch(admin).batch, by=admin)
    newer = released_contract(amina, milestones=(("Tout", 30000),))
    connected(amina)

    batch = connect_batch(admin).batch

    assert list(batch.lines.values_list("contract_id", "amount_cents")) == [(newer.pk, 27000)]
    assert ledger_breaches() == []


def test_a_crash_after_stripe_answered_is_retried_with_the_same_key_and_posts_once(
    admin, amina, fake_connect, monkeypatch
):
    connected(amina)
    batch = connect_batch(admin).batch
    line = batch.lines.get()
    record = services.connect_line_record_transfer

    def crash(**kwargs):
        raise RuntimeError("the worker died before recording the transfer")

    # Stripe made the transfer, but our side dies before recording it.
    monkeypatch.setattr(services, "connect_line_record_transfer", crash)
    with pytest.raises(RuntimeError):
        services.payout_batch_execute_connect(batch=batch, by=admin)
    line.refresh_from_db()
    assert line.status == PayoutLineStatus.PENDING and in_transit() == 180000
    assert len(fake_connect.transfers()) == 1

    # The retry sends the same key and gets the same transfer back.
    monkeypatch.setattr(services, "connect_line_record_transfer", record)
    services.payout_batch_execute_connect(batch=batch, by=admin)

    keys = [r["key"] for r in fake_connect.requests]
    assert keys == [idempotency_key("payout_line", line.pk)] * 2
    assert len(fake_connect.transfers()) == 1
    line.refresh_from_db()
    assert line.status == PayoutLineStatus.SENT
    assert line.stripe_transfer_id == fake_connect.transfers()[0]["id"]
    assert LedgerTransaction.objects.filter(kind=TransactionKind.CONNECT_TRANSFER).count() == 1
    assert stripe_clearing() == 180000 and in_transit() == 0
    assert ledger_breaches() == []
    # Executing a finished batch again calls nobody.
    services.payout_batch_execute_connect(batch=batch, by=admin)
    assert len(fake_connect.requests) == 2


def test_a_refused_transfer_fails_its_line_and_gives_the_money_back(admin, amina, fake_connect):
    connected(amina, account_id="acct_closed")
    fake_connect.refused_destinations.add("acct_closed")
    batch = connect_batch(admin).batch

    services.payout_batch_execute_connect(batch=batch, by=admin)

    line = batch.lines.get()
    line.refresh_from_db()
    batch.refresh_from_db()
    assert line.status == PayoutLineStatus.FAILED and line.stripe_transfer_id is None
    assert batch.status == PayoutBatchStatus.CANCELLED  # nothing left through it
    assert payable(amina) == 180000 and in_transit() == 0 and stripe_clearing() == 0
    assert ledger_breaches() == []
    # The money can be paid another way.
    assert sepa_batch(admin).batch.total_cents == 180000
    assert ledger_breaches() == []


def test_a_transfer_without_answer_stays_pending_and_the_retry_completes_it(
    admin, amina, fake_connect
):
    connected(amina)
    fake_connect.failing_with_500 = 1
    batch = connect_batch(admin).batch

    services.payout_batch_execute_connect(batch=batch, by=admin)

    line = batch.lines.get()
    line.refresh_from_db()
    assert line.status == PayoutLineStatus.PENDING and in_transit() == 180000
    assert PayoutBatch.objects.get().status == PayoutBatchStatus.EXPORTED

    services.payout_batch_execute_connect(batch=batch, by=admin)

    line.refresh_from_db()
    assert line.status == PayoutLineStatus.SENT
    assert len({r["key"] for r in fake_connect.requests}) == 1
    assert ledger_breaches() == []


def test_connect_batches_are_not_cancelled_nor_marked_sent_by_hand(admin, amina, fake_connect):
    connected(amina)
    batch = connect_batch(admin).batch
    with pytest.raises(ValidationError):
        services.payout_batch_cancel(batch=batch, by=admin, reason="Non")
    with pytest.raises(ValidationError):
        services.payout_batch_mark_sent(batch=batch, by=admin)
    with pytest.raises(ValidationError):
        services.payout_batch_execute_connect(batch=sepa_batch_of_nothing(admin), by=admin)


def sepa_batch_of_nothing(admin):
    """A SEPA batch (for the wrong-rail check): a member with a little payable."""
    member = member_with(JONAS_IBAN, "Jonas")
    released_contract(member, milestones=(("Tout", 10000),))
    return sepa_batch(admin, member_ids=[member.pk]).batch


# --- Staff pages --------------------------------------------------------------------------


def staff_urls(batch_id: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("payouts")),
        ("post", reverse("payouts")),
        ("get", reverse("payout_batch", args=[batch_id])),
        ("get", reverse("payout_batch_file", args=[batch_id])),
        ("post", reverse("payout_batch_mark_sent", args=[batch_id])),
        ("post", reverse("payout_batch_cancel", args=[batch_id])),
        ("post", reverse("payout_batch_execute", args=[batch_id])),
    ]


@pytest.mark.parametrize("who", ["anonymous", "member", "client"])
def test_every_staff_page_is_not_found_for_non_staff(client, admin, amina, who):
    batch = sepa_batch(admin).batch
    if who == "member":
        client.force_login(amina.user)
    elif who == "client":
        client.force_login(ClientFactory())
    for method, url in staff_urls(batch.pk):
        response = getattr(client, method)(url, {"reason": "x"} if method == "post" else None)
        assert response.status_code == 404, (method, url)
    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.EXPORTED


def test_the_payouts_page_lists_what_is_payable_with_masked_ibans(client, admin, amina):
    member_with("", "Sans IBAN")
    pending_bank_refund()
    client.force_login(admin)

    response = client.get(reverse("payouts"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "•••• •••• •••• 6769" in page and AMINA_IBAN not in page
    assert CLIENT_IBAN not in page and "•• 3000" in page
    assert "1 800 €" in page or "1\u00a0800 €" in page or "1.800 €" in page
    assert [row.member_id for row in response.context["payables"]] == [amina.pk]


def test_creating_a_batch_from_the_page(client, admin, amina):
    nobody = member_with("", "Sans IBAN")
    released_contract(nobody, milestones=(("Tout", 10000),))
    client.force_login(admin)

    response = client.post(
        reverse("payouts"),
        {
            "members": [amina.pk, nobody.pk],
            "rail": PayoutRail.SEPA,
            "execution_date": TODAY().isoformat(),
            "include_refunds": "on",
        },
        follow=True,
    )

    batch = PayoutBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("payout_batch", args=[batch.pk])
    messages = [str(m) for m in response.context["messages"]]
    assert any("Sans IBAN" in m for m in messages)
    assert list(batch.lines.values_list("member_id", flat=True)) == [amina.pk]
    assert payable(amina) == 0 and payable(nobody) == 9000


def test_the_form_keeps_its_input_and_shows_errors_by_the_fields(client, admin, amina):
    client.force_login(admin)
    past = (TODAY() - datetime.timedelta(days=3)).isoformat()

    response = client.post(
        reverse("payouts"), {"members": [amina.pk], "rail": "sepa", "execution_date": past}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "execution_date" in form.errors
    assert response.context["selected"] == {str(amina.pk)}
    assert f'value="{past}"' in response.content.decode()
    assert PayoutBatch.objects.count() == 0


def test_nothing_payable_is_a_form_error(client, admin, amina):
    sepa_batch(admin)
    client.force_login(admin)
    response = client.post(
        reverse("payouts"),
        {"members": [], "rail": "sepa", "execution_date": TODAY().isoformat()},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert PayoutBatch.objects.count() == 1


def test_download_mark_sent_and_cancel_from_the_batch_page(client, admin, amina):
    batch = sepa_batch(admin).batch
    client.force_login(admin)

    download = client.get(reverse("payout_batch_file", args=[batch.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/xml")
    assert download["Content-Disposition"] == f'attachment; filename="{batch.message_id}.xml"'
    assert download.content.decode() == batch.sepa_xml

    page = client.get(reverse("payout_batch", args=[batch.pk]))
    assert page.status_code == 200 and page.context["can_mark_sent"]
    assert AMINA_IBAN not in page.content.decode() and "6769" in page.content.decode()

    empty_reason = client.post(reverse("payout_batch_cancel", args=[batch.pk]), {"reason": ""})
    assert empty_reason.status_code == 400
    assert "reason" in empty_reason.context["cancel_form"].errors

    client.post(reverse("payout_batch_mark_sent", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.SENT

    too_late = client.post(reverse("payout_batch_cancel", args=[batch.pk]), {"reason": "Oups"})
    assert too_late.status_code == 400
    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.SENT
    assert ledger_breaches() == []


def test_executing_connect_transfers_from_the_page(client, admin, amina, fake_connect):
    connected(amina)
    batch = connect_batch(admin).batch
    client.force_login(admin)

    response = client.post(reverse("payout_batch_execute", args=[batch.pk]), follow=True)

    assert response.status_code == 200
    batch.refresh_from_db()
    assert batch.status == PayoutBatchStatus.SENT
    assert len(fake_connect.transfers()) == 1
    assert client.get(reverse("payout_batch_file", args=[batch.pk])).status_code == 404


def test_staff_pages_query_counts_do_not_grow(
    client, admin, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(admin)
    first = member_with(AMINA_IBAN, "Amina")
    released_contract(first, milestones=(("Tout", 10000),))
    batch = sepa_batch(admin).batch
    released_contract(first, milestones=(("Tout", 10000),))
    with django_assert_max_num_queries(15) as list_baseline:
        client.get(reverse("payouts"))
    with django_assert_max_num_queries(15) as detail_baseline:
        client.get(reverse("payout_batch", args=[batch.pk]))

    for name, iban in [("Jonas", JONAS_IBAN), ("Lina", AMINA_IBAN), ("Omar", JONAS_IBAN)]:
        member = member_with(iban, name)
        released_contract(member, milestones=(("Tout", 10000),))
    bigger = sepa_batch(admin).batch
    for name in ["Rami", "Sara"]:
        released_contract(member_with(AMINA_IBAN, name), milestones=(("Tout", 10000),))
    pending_bank_refund()
    pending_bank_refund()

    with django_assert_num_queries(len(list_baseline.captured_queries)):
        response = client.get(reverse("payouts"))
    assert len(response.context["payables"]) == 2 and len(response.context["batches"]) == 2
    with django_assert_num_queries(len(detail_baseline.captured_queries)):
        response = client.get(reverse("payout_batch", args=[bigger.pk]))
    assert len(response.context["lines"]) == 4


def test_the_batch_list_is_paginated_by_key(client, admin, settings):
    from payments.selectors import payouts as selectors

    for index in range(3):
        member = member_with(AMINA_IBAN, f"M{index}")
        released_contract(member, milestones=(("Tout", 10000),))
        sepa_batch(admin, member_ids=[member.pk])
    ids = list(PayoutBatch.objects.order_by("-pk").values_list("pk", flat=True))

    page = selectors.payout_batches_page(limit=2)
    assert [b.pk for b in page.batches] == ids[:2] and page.next_before == ids[1]
    rest = selectors.payout_batches_page(before=page.next_before, limit=2)
    assert [b.pk for b in rest.batches] == ids[2:] and rest.next_before is None

    client.force_login(admin)
    response = client.get(reverse("payouts"), {"before": ids[0]})
    assert [b.pk for b in response.context["batches"]] == ids[1:]


# --- The member's statement ---------------------------------------------------------------


def test_the_statement_shows_each_release_payouts_and_the_balance(client, admin, amina):
    contract = amina.contracts.get()
    sent = sepa_batch(admin).batch
    services.payout_batch_mark_sent(batch=sent, by=admin)
    released_contract(amina, milestones=(("Tout", 30000),))
    client.force_login(amina.user)

    response = client.get(reverse("member_earnings"))

    assert response.status_code == 200
    statement = response.context["statement"]
    rows = {row.milestone.title: row for row in statement.releases}
    assert set(rows) == {"Maquettes", "Site en ligne", "Tout"}
    maquettes = rows["Maquettes"]
    assert maquettes.contract == contract
    assert (maquettes.gross_cents, maquettes.vat_cents, maquettes.net_cents) == (
        96800,
        16800,
        80000,
    )
    assert (maquettes.solidarity_cents, maquettes.member_cents) == (8000, 72000)
    assert statement.earned_cents == 180000 + 27000
    assert statement.solidarity_cents == 20000 + 3000
    assert statement.paid_cents == 180000 and statement.in_transit_cents == 0
    assert statement.balance_cents == 27000 == payable(amina)
    assert [(line.amount_cents, line.status) for line in statement.payouts] == [
        (180000, PayoutLineStatus.SENT)
    ]


def test_a_member_sees_only_their_own_statement(client, admin, amina):
    other = member_with(JONAS_IBAN, "Jonas")
    released_contract(other, milestones=(("Confidentiel", 50000),))
    client.force_login(amina.user)

    response = client.get(reverse("member_earnings"))

    titles = {row.milestone.title for row in response.context["statement"].releases}
    assert "Confidentiel" not in titles and "Confidentiel" not in response.content.decode()
    assert response.context["statement"].balance_cents == 180000


def test_the_statement_is_for_members_only(client):
    url = reverse("member_earnings")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and reverse("account_login") in anonymous["Location"]
    client.force_login(ClientFactory())
    assert client.get(url).status_code == 403


def test_an_empty_statement(client):
    client.force_login(MemberFactory())
    response = client.get(reverse("member_earnings"))
    assert response.status_code == 200
    assert response.context["statement"].releases == []
    assert response.context["statement"].balance_cents == 0


def test_the_statement_query_count_does_not_grow(
    client, admin, amina, django_assert_num_queries, django_assert_max_num_queries
):
    client.force_login(amina.user)
    with django_assert_max_num_queries(15) as baseline:
        client.get(reverse("member_earnings"))

    services.payout_batch_mark_sent(batch=sepa_batch(admin).batch, by=admin)
    for _ in range(3):
        released_contract(amina, milestones=(("A", 10000), ("B", 20000)))
    sepa_batch(admin)

    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("member_earnings"))
    assert len(response.context["statement"].releases) == 8
    assert len(response.context["statement"].payouts) == 2


# --- PostgreSQL: concurrency --------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_batches_for_one_member_make_exactly_one():
    # Given one member with 1 800 € payable and twenty staff requests racing to pay her
    admin = AdminFactory()
    member = member_with(AMINA_IBAN, "Amina")
    released_contract(member)
    account_for(AccountKind.PAYOUTS_IN_TRANSIT)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def pay() -> None:
        try:
            barrier.wait(timeout=10)
            services.payout_batch_create(
                rail=PayoutRail.SEPA,
                by=admin,
                execution_date=timezone.localdate(),
                member_ids=[member.pk],
            )
            result = "created"
        except ValidationError as error:
            result = error.code
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=pay) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one batch pays her once; every other request was told there was nothing to pay
    assert sorted(outcomes) == ["created"] + ["nothing_payable"] * 19
    assert PayoutBatch.objects.count() == 1
    assert PayoutLine.objects.get().amount_cents == 180000
    assert LedgerTransaction.objects.filter(kind=TransactionKind.PAYOUT_EXPORTED).count() == 1
    assert payable(member) == 0 and in_transit() == 180000
    assert ledger_breaches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_connect_executions_make_one_transfer_per_line(fake_connect):
    admin = AdminFactory()
    member = member_with(AMINA_IBAN, "Amina")
    released_contract(member)
    connected(member)
    batch = connect_batch(admin).batch
    barrier = threading.Barrier(6)
    errors: list[Exception] = []

    def execute() -> None:
        try:
            barrier.wait(timeout=10)
            services.payout_batch_execute_connect(batch=batch, by=admin)
        except Exception as error:  # collected for the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(fake_connect.transfers()) == 1
    assert LedgerTransaction.objects.filter(kind=TransactionKind.CONNECT_TRANSFER).count() == 1
    assert PayoutBatch.objects.get().status == PayoutBatchStatus.SENT
    assert ledger_breaches() == []
