"""Faults in the middle of money flows, on PostgreSQL: after recovery and the retry that follows,
every payment counts once and the ledger check passes.

1. The database connection dies mid payment (``pg_terminate_backend`` on our own backend, after
   the ledger posting was written): the transaction rolls back, the webhook answers 500, and
   Stripe's redelivery funds the milestone once.
2. A Stripe call that succeeds on Stripe's side but times out for us (a fake Stripe transport
   with Stripe's idempotency-key replay): the retry sends the same key and gets the same
   PaymentIntent, refund or transfer back; nothing is counted twice.
3. A process killed (SIGKILL) in the middle of its work:
   - ``manage.py run_periodic`` between two automatic approvals: the approval in flight rolls
     back, the next pass approves it, each milestone is released once;
   - ``manage.py db_worker`` (django-tasks-db) in the middle of ``notify_job_matches``: the
     task's writes roll back, but django-tasks-db leaves its row RUNNING for ever; no worker
     takes it again. ``run_periodic`` puts it back in the queue once it has been RUNNING longer
     than ``TASKS_STALE_AFTER_MINUTES`` (60), or an operator at once, the worker known dead,
     with ``manage.py requeue_stale_tasks --older-than 0`` (marketplace/services/task_queue.py).
     Re-running is safe for our tasks after such a kill: ``notify_job_matches`` writes all its
     notices in one transaction (a kill leaves none), ``send_email`` may send its one e-mail
     twice (sent, then killed before the result was saved) — at least once, never lost.
"""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe
from django.conf import settings
from django.db import connection, transaction

from marketplace.models import MilestoneStatus
from payments.models import (
    LedgerTransaction,
    Payment,
    PaymentStatus,
    PayoutLine,
    Refund,
    RefundStatus,
    StripeEvent,
    StripeEventStatus,
    TransactionKind,
)
from payments.selectors.ledger import ledger_breaches
from payments.services import funds, stripe_payments
from tests.factories import AdminFactory, fund_milestone, make_contract

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK = "/payments/stripe/webhook/"


@pytest.fixture(autouse=True)
def cheap_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fundings() -> int:
    return LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count()


def signed(event: dict) -> tuple[bytes, str]:
    import hashlib
    import hmac

    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(),
        f"{timestamp}.".encode() + payload,
        hashlib.sha256,
    ).hexdigest()
    return payload, f"t={timestamp},v1={digest}"


def deliver(client, event: dict) -> int:
    payload, header = signed(event)
    return client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    ).status_code


def succeeded_event(event_id: str, payment: Payment, intent_id: str) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": payment.gross_cents,
                "currency": "eur",
                "status": "succeeded",
                "metadata": {"payment_id": str(payment.pk)},
            }
        },
    }


def card_payment(intent_id: str | None = None) -> Payment:
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    payment = funds.payment_create(milestone=milestone, client=contract.client, method="card")
    if intent_id:
        Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=intent_id)
        payment.refresh_from_db()
    return payment


# --- 1. The database connection dies mid payment ----------------------------------------------


def kill_own_backend() -> None:
    """Terminate this thread's PostgreSQL backend from another connection, as a crashed or
    restarted database server, a failover or a network cut would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def terminate():
        from django.db import connection as other

        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join(timeout=10)


def test_connection_killed_mid_webhook_rolls_back_and_the_redelivery_funds_once(
    client, monkeypatch
):
    from payments.services import invoices

    # Given a card payment whose intent succeeded, and a database that dies during its recording,
    # after the funding was posted to the ledger and the milestone marked funded
    payment = card_payment("pi_fault_db")
    real_issue = invoices.invoice_issue_for_payment
    calls = Counter()

    def dying_issue(**kwargs):
        calls["issue"] += 1
        if calls["issue"] == 1:
            assert LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).exists()
            kill_own_backend()
        return real_issue(**kwargs)

    monkeypatch.setattr(invoices, "invoice_issue_for_payment", dying_issue)
    event = succeeded_event("evt_fault_db", payment, "pi_fault_db")

    # When Stripe delivers the event: the connection is lost mid-transaction
    assert deliver(client, event) == 500

    # Then nothing of it was kept (a fresh connection looks)
    connection.close()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.milestone.status == MilestoneStatus.AWAITING_FUNDING
    assert fundings() == 0
    failed = StripeEvent.objects.get()
    assert failed.status == StripeEventStatus.FAILED and failed.attempts == 1
    assert "terminat" in failed.error or "closed" in failed.error

    # When Stripe delivers it again (it retries a 500 for three days), twice for good measure
    assert deliver(client, event) == 200
    assert deliver(client, event) == 200

    # Then the milestone is funded once, with one invoice, and the ledger is clean
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.funded_milestone
    assert fundings() == 1
    assert payment.invoices.count() == 1
    assert StripeEvent.objects.get().status == StripeEventStatus.PROCESSED
    assert calls["issue"] == 2
    assert ledger_breaches() == []


def test_connection_killed_while_staff_records_a_transfer_then_the_retry_counts_it_once(
    monkeypatch,
):
    from django.db import InterfaceError, OperationalError

    from payments.services import invoices

    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    payment = funds.payment_create(
        milestone=milestone, client=contract.client, method="bank_transfer"
    )
    admin = AdminFactory()
    real_issue = invoices.invoice_issue_for_payment
    calls = Counter()

    def dying_issue(**kwargs):
        calls["issue"] += 1
        if calls["issue"] == 1:
            kill_own_backend()
        return real_issue(**kwargs)

    monkeypatch.setattr(invoices, "invoice_issue_for_payment", dying_issue)
    with pytest.raises((OperationalError, InterfaceError)):
        funds.payment_succeeded(payment=payment, by=admin)
    connection.close()
    assert fundings() == 0

    funds.payment_succeeded(payment=payment, by=admin)  # staff clicks again
    funds.payment_succeeded(payment=payment, by=admin)  # and once more
    assert fundings() == 1
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.FUNDED
    assert ledger_breaches() == []


# --- 2. Stripe succeeds, we time out --------------------------------------------------------


class FakeStripe(stripe.RequestsClient):
    """Stripe's API as far as these flows use it, in memory, with Stripe's idempotency: a key
    seen before returns the first answer (and refuses other parameters). ``time_out_once_on``:
    paths whose first POST is carried out and then answered by a timeout."""

    def __init__(self, *, time_out_once_on: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.objects: dict[str, dict] = {}
        self.replies: dict[str, tuple[dict, str]] = {}
        self.time_out_once_on = set(time_out_once_on)
        self.created: Counter = Counter()
        self.timeouts = 0

    def _new(self, prefix: str, fields: dict) -> dict:
        self.created[prefix] += 1
        obj = {"id": f"{prefix}_fake{self.created[prefix]}", **fields}
        self.objects[obj["id"]] = obj
        return obj

    @staticmethod
    def _params(post_data) -> dict:
        if isinstance(post_data, bytes):
            post_data = post_data.decode()
        flat = {k: v[0] for k, v in parse_qs(post_data or "").items()}
        params: dict = {}
        for key, value in flat.items():
            if "[" in key:
                outer, inner = key.split("[", 1)
                params.setdefault(outer, {})[inner.rstrip("]")] = value
            else:
                params[key] = value
        return params

    def request(self, method, url, headers, post_data=None):
        method = method.lower()
        parts = urlsplit(url)
        path = parts.path
        params = self._params(post_data)
        key = (headers or {}).get("Idempotency-Key")
        if method == "post" and key in self.replies:
            first_params, body = self.replies[key]
            if first_params != params:
                error = {"error": {"type": "idempotency_error", "message": "other parameters"}}
                return json.dumps(error), 400, {}
            return body, 200, {"Idempotent-Replayed": "true"}
        status, reply = self._answer(method, path, params, parse_qs(parts.query))
        body = json.dumps(reply)
        if method == "post" and status == 200:
            if key:
                self.replies[key] = (params, body)
            if path in self.time_out_once_on:
                self.time_out_once_on.discard(path)
                self.timeouts += 1
                raise stripe.APIConnectionError(
                    "Request to Stripe timed out (read timeout=80)", should_retry=True
                )
        return body, status, {}

    def _answer(self, method, path, params, query):
        if (method, path) == ("post", "/v1/payment_methods"):
            return 200, self._new("pm", {"object": "payment_method", "type": "card"})
        if (method, path) == ("post", "/v1/payment_intents"):
            return 200, self._new(
                "pi",
                {
                    "object": "payment_intent",
                    "amount": int(params["amount"]),
                    "currency": params["currency"],
                    "status": "requires_action"
                    if params.get("confirm")
                    else "requires_payment_method",
                    "metadata": params.get("metadata", {}),
                    "client_secret": "secret",
                    "next_action": None,
                },
            )
        if method == "get" and path.startswith("/v1/payment_intents/"):
            return 200, self.objects[path.rsplit("/", 1)[1]]
        if (method, path) == ("get", "/v1/refunds"):
            intent = query.get("payment_intent", [""])[0]
            data = [
                o
                for o in self.objects.values()
                if o["object"] == "refund" and o["payment_intent"] == intent
            ]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}
        if (method, path) == ("post", "/v1/refunds"):
            return 200, self._new(
                "re",
                {
                    "object": "refund",
                    "amount": int(params["amount"]),
                    "payment_intent": params["payment_intent"],
                    "status": "succeeded",
                    "metadata": params.get("metadata", {}),
                },
            )
        if (method, path) == ("post", "/v1/transfers"):
            return 200, self._new(
                "tr",
                {
                    "object": "transfer",
                    "amount": int(params["amount"]),
                    "destination": params["destination"],
                    "metadata": params.get("metadata", {}),
                },
            )
        return 404, {"error": {"type": "invalid_request_error", "message": f"no {path}"}}


def stripe_client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        "sk_test_fake",
        http_client=fake,
        max_network_retries=0,
        base_addresses={"api": "http://stripe.invalid"},
    )


def test_an_intent_created_but_timed_out_is_the_same_intent_on_retry(client, monkeypatch):
    fake = FakeStripe(time_out_once_on=("/v1/payment_intents",))
    monkeypatch.setattr(stripe_payments, "get_stripe_client", lambda **_: stripe_client(fake))
    payment = card_payment()

    # When Stripe makes the intent but its answer never reaches us
    with pytest.raises(stripe.APIConnectionError):
        stripe_payments.stripe_payment_start(payment=payment)
    payment.refresh_from_db()
    assert fake.created["pi"] == 1 and payment.stripe_payment_intent_id is None

    # Then the client's retry gets Stripe's first intent back, not a second one
    started = stripe_payments.stripe_payment_start(payment=payment)
    assert fake.created["pi"] == 1
    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id == started.intent_id == "pi_fake1"

    # And its success, delivered twice under two event ids, funds the milestone once
    assert deliver(client, succeeded_event("evt_a", payment, "pi_fake1")) == 200
    assert deliver(client, succeeded_event("evt_b", payment, "pi_fake1")) == 200
    assert fundings() == 1
    assert Payment.objects.filter(funded_milestone=True).count() == 1
    assert ledger_breaches() == []


def test_the_webhook_finds_a_timed_out_intent_by_its_metadata(client, monkeypatch):
    fake = FakeStripe(time_out_once_on=("/v1/payment_intents",))
    monkeypatch.setattr(stripe_payments, "get_stripe_client", lambda **_: stripe_client(fake))
    payment = card_payment()
    with pytest.raises(stripe.APIConnectionError):
        stripe_payments.stripe_payment_start(payment=payment)

    # The client paid on Stripe's side; its webhook arrives before anybody retries
    assert deliver(client, succeeded_event("evt_first", payment, "pi_fake1")) == 200
    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id == "pi_fake1"
    assert payment.status == PaymentStatus.SUCCEEDED

    # A late retry of the page is told it is paid; no second intent, no second funding
    with pytest.raises(stripe_payments.ValidationError):
        stripe_payments.stripe_payment_start(payment=payment)
    assert fake.created["pi"] == 1
    assert fundings() == 1
    assert ledger_breaches() == []


def test_a_refund_sent_but_timed_out_is_sent_once(monkeypatch):
    fake = FakeStripe(time_out_once_on=("/v1/refunds",))
    monkeypatch.setattr(stripe_payments, "get_stripe_client", lambda **_: stripe_client(fake))
    # Given a paid card milestone that the cooperative refunds in full
    payment = card_payment("pi_refund")
    fake.objects["pi_refund"] = {"id": "pi_refund", "object": "payment_intent"}
    funds.payment_succeeded(payment=payment)
    refund = funds.milestone_refund(
        milestone=payment.milestone, by=AdminFactory(), reason="Annulé d'un commun accord"
    )

    # When Stripe makes the refund but we time out: the refund stays pending, with the reason
    refund = stripe_payments.stripe_refund_execute(refund=refund)
    assert refund.status == RefundStatus.PENDING and "timed out" in refund.failure_message
    assert fake.created["re"] == 1

    # Then staff's retry gets the same Stripe refund and records it once
    refund = stripe_payments.stripe_refund_execute(refund=refund)
    stripe_payments.stripe_refund_execute(refund=refund)
    assert fake.created["re"] == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.stripe_refund_id == "re_fake1"
    assert LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_SENT).count() == 1
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert payment.refunded_cents == payment.gross_cents
    assert ledger_breaches() == []


def test_a_connect_transfer_made_but_timed_out_is_made_once():
    from django.utils import timezone

    from marketplace.services import milestones as milestone_services
    from payments.models import ConnectedAccount, PayoutRail
    from payments.services import payouts

    # Given a released milestone and a member paid through Stripe Connect
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    milestone_services.milestone_start(milestone=milestone, member=member)
    milestone_services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
    milestone_services.milestone_approve(milestone=milestone, client=contract.client)
    ConnectedAccount.objects.create(
        member=contract.member, stripe_account_id="acct_fault", payouts_enabled=True
    )
    admin = AdminFactory()
    batch = payouts.payout_batch_create(
        rail=PayoutRail.STRIPE_CONNECT, by=admin, execution_date=timezone.localdate()
    ).batch
    fake = FakeStripe(time_out_once_on=("/v1/transfers",))

    # When the transfer is made but its answer is lost: the line stays pending
    payouts.payout_batch_execute_connect(batch=batch, by=admin, client=stripe_client(fake))
    assert PayoutLine.objects.get().status == "pending" and fake.created["tr"] == 1

    # Then the retry gets the same transfer back and posts it once
    payouts.payout_batch_execute_connect(batch=batch, by=admin, client=stripe_client(fake))
    payouts.payout_batch_execute_connect(batch=batch, by=admin, client=stripe_client(fake))
    assert fake.created["tr"] == 1 and fake.timeouts == 1
    line = PayoutLine.objects.get()
    assert line.status == "sent" and line.stripe_transfer_id == "tr_fake1"
    assert LedgerTransaction.objects.filter(kind=TransactionKind.CONNECT_TRANSFER).count() == 1
    assert ledger_breaches() == []


# --- 3. A process killed mid-work -----------------------------------------------------------


def database_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def manage(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def backends_waiting_on_a_lock() -> int:
    """Other sessions on the test database blocked on a lock (ours is the one holding it)."""
    from django.db import connection as watcher

    with watcher.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def in_thread(action):
    """Run ``action`` on a connection of its own (the test's holds a lock meanwhile)."""
    result = []

    def run():
        try:
            result.append(action())
        finally:
            from django.db import connection as own

            own.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result[0]


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_the_periodic_pass_killed_between_two_approvals_releases_each_milestone_once():
    import datetime

    from django.utils import timezone

    from marketplace.locks import lock_milestone
    from marketplace.models import Milestone
    from marketplace.services import milestones as milestone_services

    # Given two deliveries whose automatic approval is overdue
    delivered = []
    for _ in range(2):
        contract = make_contract()
        milestone = contract.milestones.get(position=1)
        fund_milestone(milestone)
        member = contract.member.user
        milestone_services.milestone_start(milestone=milestone, member=member)
        milestone_services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
        delivered.append(milestone)
    long_ago = timezone.now() - datetime.timedelta(days=30)
    Milestone.objects.filter(pk__in=[m.pk for m in delivered]).update(submitted_at=long_ago)
    first, second = sorted(delivered, key=lambda m: m.pk)
    env = database_env()

    def releases() -> int:
        return in_thread(
            lambda: LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count()
        )

    # When the pass is killed while approving the second one (it waits on a lock we hold)...
    with transaction.atomic():
        lock_milestone(second.pk)
        worker = manage("run_periodic", env=env)
        wait_until(lambda: releases() == 1, "the first approval")
        wait_until(lambda: in_thread(backends_waiting_on_a_lock) >= 1, "the pass to block")
        kill(worker)

    # ...then only the first approval was kept
    assert Milestone.objects.get(pk=first.pk).status == MilestoneStatus.RELEASED
    assert Milestone.objects.get(pk=second.pk).status == MilestoneStatus.SUBMITTED
    assert releases() == 1

    # And the next pass (cron, the timer) approves the second; a third pass changes nothing
    for _ in range(2):
        done = manage("run_periodic", env=env)
        output, _ = done.communicate(timeout=120)
        assert done.returncode == 0, output
    assert releases() == 2
    assert set(
        Milestone.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {MilestoneStatus.RELEASED}
    assert ledger_breaches() == []


def test_a_task_worker_killed_mid_task_leaves_it_running_until_it_is_requeued(
    settings,
):
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from marketplace.models import Notification
    from matching.models import Language, MemberLanguage, Skill, SkillClaim
    from matching.recommendations import JOB_MATCH_KIND
    from matching.tasks import notify_job_matches
    from tests.factories import JobFactory, MemberFactory

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # Given a published job that fits two members, and its notice queued for the worker
    validator = AdminFactory()
    for _ in range(2):
        member = MemberFactory().member_profile
        SkillClaim.objects.create(
            member=member,
            skill=Skill.objects.get(label_en="style sheet languages"),
            self_level="advanced",
            status="validated",
            validated_level="advanced",
            validated_by=validator,
            validated_at=timezone.now(),
        )
        MemberLanguage.objects.create(
            member=member, language=Language.objects.get(code="fr"), level="B2"
        )
    job = JobFactory()
    Notification.objects.filter(kind=JOB_MATCH_KIND).delete()
    queued = notify_job_matches.enqueue(job_id=job.pk)
    env = database_env(TASKS_BACKEND="django_tasks_db.DatabaseBackend")
    table = Notification._meta.db_table

    def status() -> str:
        return in_thread(lambda: DBTaskResult.objects.get(pk=queued.id).status)

    def notices() -> int:
        return in_thread(lambda: Notification.objects.filter(kind=JOB_MATCH_KIND).count())

    # When the worker is killed while the task writes its notices (blocked by our table lock)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
        worker = manage("db_worker", "--batch", "--interval", "0", env=env)
        wait_until(lambda: status() == TaskResultStatus.RUNNING, "the worker to claim the task")
        wait_until(lambda: in_thread(backends_waiting_on_a_lock) >= 1, "the task to block")
        kill(worker)

    # Then none of its notices were kept, and the task stays RUNNING: a new worker skips it
    assert notices() == 0
    again = manage("db_worker", "--batch", "--interval", "0", env=env)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert status() == TaskResultStatus.RUNNING
    assert notices() == 0

    # When the operator puts the dead worker's task back in the queue (see the module docstring)
    from django.core.management import call_command

    out = io.StringIO()
    call_command("requeue_stale_tasks", "--older-than", "0", stdout=out)
    assert f"requeued {queued.id}" in out.getvalue()
    rerun = manage("db_worker", "--batch", "--interval", "0", env=env)
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output

    # Then the task ran once to its end: each fitting member was told once
    assert status() == TaskResultStatus.SUCCESSFUL
    assert notices() == 2
    told = list(Notification.objects.filter(kind=JOB_MATCH_KIND).values_list("user_id", flat=True))
    assert len(told) == len(set(told)) == 2
    assert ledger_breaches() == []
