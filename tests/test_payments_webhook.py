"""Stripe's webhook: signature, storage once, processing once, failures, order, concurrency.

Deliveries are signed here as Stripe signs them (``t=<ts>,v1=<HMAC-SHA256>``), so most tests
need no server; one test lets localstripe itself deliver to the live server.
"""

import hashlib
import hmac
import json
import threading
import time

import pytest
import requests
from django.db import connection
from django.test import Client
from django.urls import reverse

from marketplace.models import MilestoneStatus
from payments.models import (
    LedgerTransaction,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
    StripeEventStatus,
    TransactionKind,
)
from payments.services import funds
from tests.factories import AdminFactory, fund_milestone, make_contract
from tests.test_payments_localstripe import localstripe, point_settings_at

pytestmark = pytest.mark.django_db
S = MilestoneStatus
SECRET = "whsec_test_sirius"
URL = "/payments/stripe/webhook/"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_WEBHOOK_TOLERANCE = 300


def signature(payload: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def deliver(client: Client, event: dict | bytes, **signing):
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signing.pop("header", None) or signature(payload, **signing),
    )


def intent_event(payment: Payment, status: str, *, event_id: str = "evt_1", **intent) -> dict:
    kind = {
        "succeeded": "payment_intent.succeeded",
        "requires_payment_method": "payment_intent.payment_failed",
        "canceled": "payment_intent.canceled",
    }[status]
    milestone = payment.milestone
    obj = {
        "id": payment.stripe_payment_intent_id or "pi_sirius_1",
        "object": "payment_intent",
        "amount": payment.gross_cents,
        "currency": "eur",
        "status": status,
        "metadata": {
            "payment_id": str(payment.pk),
            "milestone_id": str(milestone.pk),
            "contract_id": str(milestone.contract_id),
        },
        "last_payment_error": (
            {"code": "card_declined", "message": "Your card was declined."}
            if status == "requires_payment_method"
            else None
        ),
        **intent,
    }
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


@pytest.fixture
def payment():
    milestone = make_contract().milestones.order_by("position").first()
    payment = funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="card"
    )
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id="pi_sirius_1")
    payment.refresh_from_db()
    return payment


def fundings() -> int:
    return LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count()


# --- Signature ---------------------------------------------------------------------------------


def test_a_signed_success_funds_the_milestone(client, payment):
    response = deliver(client, intent_event(payment, "succeeded"))

    assert response.status_code == 200
    payment.refresh_from_db()
    event = StripeEvent.objects.get()
    assert (event.event_id, event.status, event.attempts) == (
        "evt_1",
        StripeEventStatus.PROCESSED,
        1,
    )
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.milestone.status == S.FUNDED
    assert fundings() == 1


def test_the_same_event_five_times_has_one_effect(client, payment):
    event = intent_event(payment, "succeeded")

    answers = [deliver(client, event).status_code for _ in range(5)]

    assert answers == [200] * 5
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert fundings() == 1


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "whsec_someone_else"},
        {"at": int(time.time()) - 301},  # older than the 300 s tolerance
        {"header": "t=1,v1=deadbeef"},
        {"header": "garbage"},
    ],
    ids=["forged", "stale", "wrong-mac", "unreadable"],
)
def test_a_forged_or_stale_delivery_is_refused_and_writes_nothing(client, payment, signing):
    response = deliver(client, intent_event(payment, "succeeded"), **signing)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert fundings() == 0


def test_a_delivery_without_signature_is_refused(client, payment):
    payload = json.dumps(intent_event(payment, "succeeded")).encode()

    response = client.post(URL, data=payload, content_type="application/json")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(
    "payload", [b"{not json", b"[]", b'{"id": "evt_1"}', b'{"type": "payment_intent.succeeded"}']
)
def test_a_signed_but_unreadable_event_is_refused(client, payload):
    assert deliver(client, payload).status_code == 400
    assert not StripeEvent.objects.exists()


def test_only_post_is_accepted(client):
    assert client.get(URL).status_code == 405


def test_the_webhook_needs_no_csrf_token_nor_log_in(payment):
    browser = Client(enforce_csrf_checks=True)

    assert deliver(browser, intent_event(payment, "succeeded")).status_code == 200


# --- Types, failures, order ---------------------------------------------------------------------


def test_an_unknown_type_is_stored_ignored(client):
    event = {"id": "evt_c", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}

    response = deliver(client, event)
    again = deliver(client, event)

    assert (response.status_code, again.status_code) == (200, 200)
    stored = StripeEvent.objects.get()
    assert (stored.event_type, stored.status) == ("customer.created", StripeEventStatus.IGNORED)


def test_an_event_about_an_unknown_intent_is_ignored_with_the_reason(client, payment):
    event = intent_event(payment, "succeeded", id="pi_nobody", metadata={})

    response = deliver(client, event)

    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == StripeEventStatus.IGNORED
    assert "pi_nobody" in stored.error
    assert fundings() == 0


def test_an_intent_never_recorded_is_found_by_its_metadata(client, payment):
    # We crashed between creating the intent and recording its id.
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=None)
    event = intent_event(payment, "succeeded", id="pi_made_before_crash")

    assert deliver(client, event).status_code == 200

    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id == "pi_made_before_crash"
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fundings() == 1


def test_a_handler_failure_rolls_back_answers_500_and_the_next_delivery_processes_it(
    client, payment, monkeypatch
):
    from payments.services import invoices

    def broken_invoice(**kwargs):
        raise RuntimeError("invoice numbering unavailable")

    event = intent_event(payment, "succeeded")
    monkeypatch.setattr(invoices, "invoice_issue_for_payment", broken_invoice)

    failed = deliver(client, event)

    assert failed.status_code == 500
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == (StripeEventStatus.FAILED, 1)
    assert "invoice numbering unavailable" in stored.error
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # the ledger posting was rolled back too
    assert payment.milestone.status == S.AWAITING_FUNDING
    assert fundings() == 0

    monkeypatch.undo()
    redelivered = deliver(client, event)

    assert redelivered.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.error) == (StripeEventStatus.PROCESSED, 2, "")
    assert fundings() == 1


def test_an_amount_that_differs_is_never_funded(client, payment):
    response = deliver(client, intent_event(payment, "succeeded", amount=1))

    assert response.status_code == 500
    assert StripeEvent.objects.get().status == StripeEventStatus.FAILED
    assert fundings() == 0


def test_a_failure_arriving_after_the_success_changes_nothing(client, payment):
    deliver(client, intent_event(payment, "succeeded", event_id="evt_ok"))

    late = deliver(client, intent_event(payment, "requires_payment_method", event_id="evt_ko"))

    assert late.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.failure_message == ""
    assert fundings() == 1


def test_a_success_after_a_failure_wins(client, payment):
    deliver(client, intent_event(payment, "requires_payment_method", event_id="evt_ko"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED

    deliver(client, intent_event(payment, "succeeded", event_id="evt_ok"))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fundings() == 1


def test_a_cancelled_intent_fails_the_payment(client, payment):
    deliver(client, intent_event(payment, "canceled"))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED


def test_a_success_for_a_milestone_paid_meanwhile_becomes_a_refund(client, payment):
    fund_milestone(payment.milestone)  # by bank transfer

    deliver(client, intent_event(payment, "succeeded"))

    payment.refresh_from_db()
    assert (payment.status, payment.funded_milestone) == (PaymentStatus.SUCCEEDED, False)
    assert Refund.objects.get(payment=payment).amount_cents == payment.gross_cents


def test_a_refund_event_records_a_refund_sent_before_a_crash(client, payment):
    deliver(client, intent_event(payment, "succeeded", event_id="evt_paid"))
    refund = funds.milestone_refund(milestone=payment.milestone, by=AdminFactory(), reason="x")
    stripe_refund = {
        "id": "re_sirius_1",
        "object": "refund",
        "amount": refund.amount_cents,
        "payment_intent": "pi_sirius_1",
        "status": "succeeded",
        "metadata": {"refund_id": str(refund.pk)},
    }
    event = {"id": "evt_re", "type": "refund.updated", "data": {"object": stripe_refund}}

    assert deliver(client, event).status_code == 200
    assert deliver(client, {**event, "id": "evt_re2", "type": "refund.created"}).status_code == 200

    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (RefundStatus.SUCCEEDED, "re_sirius_1")
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_SENT).count() == 1


def test_the_webhook_query_count_of_a_duplicate(client, payment, django_assert_num_queries):
    event = intent_event(payment, "succeeded")
    deliver(client, event)

    # The insert refused by the unique id (savepoint, insert, rollback, release), then the
    # locked read in its own transaction (savepoint, select, release): nothing else.
    with django_assert_num_queries(7):
        assert deliver(client, event).status_code == 200


# --- localstripe delivering to the live server ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_success_the_site_processes(live_server, settings, tmp_path):
    from payments.services.stripe_payments import stripe_payment_start

    milestone = make_contract().milestones.order_by("position").first()
    payment = funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="card"
    )
    with localstripe(tmp_path / "localstripe.pickle") as port:
        point_settings_at(settings, port)
        requests.post(
            f"http://127.0.0.1:{port}/_config/webhooks/sirius",
            data={"url": live_server.url + URL, "secret": SECRET},
            timeout=5,
        ).raise_for_status()

        stripe_payment_start(payment=payment, payment_method="pm_card_visa")

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if StripeEvent.objects.filter(status=StripeEventStatus.PROCESSED).exists():
                break
            time.sleep(0.1)
    event = StripeEvent.objects.get()
    assert (event.event_type, event.status) == (
        "payment_intent.succeeded",
        StripeEventStatus.PROCESSED,
    )
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert fundings() == 1


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_ten_times_at_once_has_one_effect(payment):
    event = intent_event(payment, "succeeded")
    payload = json.dumps(event).encode()
    header = signature(payload)
    barrier = threading.Barrier(10)
    answers: list[int] = []
    errors: list[BaseException] = []

    def deliver_concurrently():
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
            )
            answers.append(response.status_code)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_concurrently) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(answers) == [200] * 10
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().status == StripeEventStatus.PROCESSED
    assert fundings() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_the_webhook_url_is_the_one_dev_py_registers():
    assert reverse("stripe_webhook") == URL
