"""Card and Bancontact payments (Stripe PaymentIntents), Stripe refunds, and the pay pages.

Card flows run against localstripe, started once for this module as a real subprocess.
localstripe has no Bancontact: that branch is tested at the HTTP boundary, with Stripe's
recorded answers replayed by ``responses`` against a client configured with real-looking keys.
"""

import json
from urllib.parse import parse_qs

import pytest
import requests
import responses
import stripe
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from marketplace.models import MilestoneStatus
from payments.models import (
    Invoice,
    LedgerTransaction,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    TransactionKind,
)
from payments.services import funds, stripe_payments
from payments.services.stripe_payments import (
    stripe_payment_start,
    stripe_payment_sync,
    stripe_refund_execute,
)
from payments.stripe_gateway import get_stripe_client
from tests.factories import (
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    fund_milestone,
    make_contract,
)
from tests.test_payments_localstripe import (
    RecordingHTTPClient,
    free_port,
    localstripe,
    point_settings_at,
)

pytestmark = pytest.mark.django_db
S = MilestoneStatus
STRIPE_API = "https://api.stripe.com"


@pytest.fixture(scope="module")
def localstripe_server(tmp_path_factory):
    state_file = tmp_path_factory.mktemp("localstripe") / "localstripe.pickle"
    with localstripe(state_file) as port:
        yield port


@pytest.fixture
def offline_stripe(settings, localstripe_server) -> int:
    """localstripe, emptied: database ids start again in every test, and so would metadata."""
    requests.delete(f"http://127.0.0.1:{localstripe_server}/_config/data", timeout=5)
    point_settings_at(settings, localstripe_server)
    return localstripe_server


@pytest.fixture
def milestone():
    return make_contract().milestones.order_by("position").first()


def card_payment(milestone) -> Payment:
    return funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="card"
    )


def funding_count(payment: Payment) -> int:
    return LedgerTransaction.objects.filter(
        kind=TransactionKind.FUNDING, idempotency_key=f"funding-payment-{payment.pk}"
    ).count()


def authenticate_3ds(port: int, client_secret: str, *, success: bool = True) -> None:
    """What localstripe's Stripe.js stand-in does when the client clicks "Complete
    authentication" in its 3-D Secure dialog."""
    intent_id = client_secret.split("_secret_")[0]
    answer = requests.post(
        f"http://127.0.0.1:{port}/v1/payment_intents/{intent_id}/_authenticate",
        params={"success": "true" if success else "false"},
        data=json.dumps({"key": "pk_test_localstripe", "client_secret": client_secret}),
        timeout=5,
    )
    answer.raise_for_status()


def intents_of(payment: Payment) -> list:
    intents = get_stripe_client().v1.payment_intents.list(params={"limit": 100})
    return [i for i in intents.data if i.metadata.to_dict().get("payment_id") == str(payment.pk)]


# --- Card payments through localstripe -------------------------------------------------------


def test_card_payment_funds_the_milestone_posts_once_and_issues_the_invoice(
    offline_stripe, milestone
):
    payment = card_payment(milestone)

    started = stripe_payment_start(payment=payment, payment_method="pm_card_visa")
    stripe_payment_sync(payment=payment)
    stripe_payment_sync(payment=payment)  # the webhook or a reload: no second effect

    payment.refresh_from_db()
    milestone.refresh_from_db()
    assert started.status == "succeeded"
    assert payment.stripe_payment_intent_id == started.intent_id
    assert (payment.status, payment.funded_milestone) == (PaymentStatus.SUCCEEDED, True)
    assert milestone.status == S.FUNDED
    assert funding_count(payment) == 1
    assert Invoice.objects.filter(payment=payment).count() == 1
    intent = get_stripe_client().v1.payment_intents.retrieve(started.intent_id)
    assert (intent.amount, intent.currency) == (payment.gross_cents, "eur")
    assert intent.metadata.to_dict() == {
        "payment_id": str(payment.pk),
        "milestone_id": str(milestone.pk),
        "contract_id": str(milestone.contract_id),
    }


def test_a_browser_card_intent_waits_for_the_clients_confirmation(offline_stripe, milestone):
    payment = card_payment(milestone)

    started = stripe_payment_start(payment=payment)
    stripe_payment_sync(payment=payment)
    payment.refresh_from_db()
    assert started.status == "requires_action"
    assert started.client_secret.startswith(started.intent_id + "_secret_")
    assert payment.status == PaymentStatus.PENDING
    assert funding_count(payment) == 0

    authenticate_3ds(offline_stripe, started.client_secret)
    stripe_payment_sync(payment=payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert funding_count(payment) == 1


def test_a_failed_3d_secure_fails_the_payment_and_a_new_attempt_is_a_new_payment(
    offline_stripe, milestone
):
    payment = card_payment(milestone)
    started = stripe_payment_start(payment=payment)

    authenticate_3ds(offline_stripe, started.client_secret, success=False)
    stripe_payment_sync(payment=payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert "authentication" in payment.failure_message
    retry = card_payment(milestone)
    assert retry.pk != payment.pk
    assert stripe_payment_start(payment=retry).intent_id != started.intent_id


def test_a_declined_card_fails_the_payment_and_posts_nothing(offline_stripe, milestone):
    payment = card_payment(milestone)

    with pytest.raises(ValidationError) as refused:
        stripe_payment_start(payment=payment, payment_method="pm_card_chargeCustomerFail")

    payment.refresh_from_db()
    assert refused.value.code == "refused"
    assert "declined" in payment.failure_message
    assert payment.status == PaymentStatus.FAILED
    assert funding_count(payment) == 0


def test_starting_again_fetches_the_same_intent(offline_stripe, milestone):
    payment = card_payment(milestone)
    recorder = RecordingHTTPClient()

    first = stripe_payment_start(payment=payment)
    again_payment = card_payment(milestone)  # the client clicks "card" again: same payment
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            stripe_payments, "get_stripe_client", lambda: get_stripe_client(http_client=recorder)
        )
        again = stripe_payment_start(payment=again_payment)

    assert again_payment.pk == payment.pk
    assert again.intent_id == first.intent_id
    assert [sent.method for sent in recorder.sent] == ["get"]
    assert len(intents_of(payment)) == 1


class IdempotentStripe(RecordingHTTPClient):
    """Records every request and behaves as Stripe does with idempotency keys (localstripe
    ignores them): a POST whose key was seen before gets the first answer again, and does not
    reach the server. ``crash_after`` makes the first POST to that path reach the server and
    then lose its answer, as when our process dies or the network drops after Stripe acted."""

    def __init__(self, crash_after: str | None = None) -> None:
        super().__init__()
        self.answers: dict[str, tuple] = {}
        self.crash_after = crash_after

    def request(self, method, url, headers, post_data=None):
        key = (headers or {}).get("Idempotency-Key")
        if method == "post" and key in self.answers:
            self.sent.append(self._sent(method, url, headers))
            return self.answers[key]
        answer = super().request(method, url, headers, post_data)
        if method == "post" and key:
            self.answers[key] = answer
        if self.crash_after and url.endswith(self.crash_after):
            self.crash_after = None
            raise stripe.APIConnectionError("connection lost after Stripe answered")
        return answer

    @staticmethod
    def _sent(method, url, headers):
        from tests.test_payments_localstripe import SentRequest

        return SentRequest(method, url, dict(headers or {}))


def test_a_retry_after_a_crash_reuses_our_key_and_makes_no_second_intent(
    offline_stripe, milestone, monkeypatch
):
    payment = card_payment(milestone)
    wire = IdempotentStripe(crash_after="/v1/payment_intents")
    monkeypatch.setattr(
        stripe_payments, "get_stripe_client", lambda: get_stripe_client(http_client=wire)
    )

    # Given a first attempt whose answer is lost after Stripe made the intent
    with pytest.raises(stripe.APIConnectionError):
        stripe_payment_start(payment=payment, payment_method="pm_card_visa")
    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id is None

    # When the client (or a retry) starts it again
    started = stripe_payment_start(payment=payment, payment_method="pm_card_visa")

    # Then the same key went out twice and Stripe's first intent is the one recorded
    creates = [s for s in wire.sent if s.method == "post" and s.url.endswith("/payment_intents")]
    key = f"sirius-payment_intent-{payment.pk}-0"
    assert [s.headers["Idempotency-Key"] for s in creates] == [key, key]
    [intent] = intents_of(payment)
    payment.refresh_from_db()
    assert payment.stripe_payment_intent_id == started.intent_id == intent.id


def test_no_intent_is_made_for_a_milestone_paid_meanwhile(offline_stripe, milestone):
    payment = card_payment(milestone)
    fund_milestone(milestone)  # paid by bank transfer in another tab

    with pytest.raises(ValidationError) as refused:
        stripe_payment_start(payment=payment)

    assert refused.value.code == "already_paid"
    assert intents_of(payment) == []


# --- Refunds through localstripe -------------------------------------------------------------


def paid_by_card(milestone) -> Payment:
    payment = card_payment(milestone)
    stripe_payment_start(payment=payment, payment_method="pm_card_visa")
    return stripe_payment_sync(payment=payment)


def stripe_refunds(payment: Payment) -> list:
    found = get_stripe_client().v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id, "limit": 100}
    )
    return list(found.auto_paging_iter())


def test_a_card_paid_twice_is_refunded_through_stripe(offline_stripe, milestone):
    # Given a card payment confirmed after the milestone was paid by bank transfer
    payment = card_payment(milestone)
    started = stripe_payment_start(payment=payment)
    fund_milestone(milestone)
    authenticate_3ds(offline_stripe, started.client_secret)
    stripe_payment_sync(payment=payment)
    payment.refresh_from_db()
    assert (payment.status, payment.funded_milestone) == (PaymentStatus.SUCCEEDED, False)
    refund = Refund.objects.get(payment=payment)

    # When the cooperative sends it back, twice (a double click)
    stripe_refund_execute(refund=refund)
    stripe_refund_execute(refund=refund)

    refund.refresh_from_db()
    payment.refresh_from_db()
    [sent] = stripe_refunds(payment)
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.stripe_refund_id == sent.id
    assert sent.amount == refund.amount_cents == payment.gross_cents
    assert payment.refunded_cents == payment.gross_cents
    assert (
        LedgerTransaction.objects.filter(
            kind=TransactionKind.REFUND_SENT, idempotency_key=f"refund-sent-{refund.pk}"
        ).count()
        == 1
    )


def test_a_refund_never_exceeds_what_was_paid(offline_stripe, milestone):
    payment = paid_by_card(milestone)
    refund = funds.milestone_refund(milestone=milestone, by=AdminFactory(), reason="Annulé")
    stripe_refund_execute(refund=refund)
    extra = Refund.objects.create(payment=payment, amount_cents=1, reason="one cent more")

    with pytest.raises(ValidationError) as refused:
        stripe_refund_execute(refund=extra)

    extra.refresh_from_db()
    assert refused.value.code == "refund_too_large"
    assert extra.status == RefundStatus.PENDING
    assert len(stripe_refunds(payment)) == 1  # localstripe would have accepted it


def test_a_refund_made_on_stripe_outside_sirius_counts_too(offline_stripe, milestone):
    payment = paid_by_card(milestone)
    # Someone refunded part of the charge from Stripe's dashboard: our database does not know.
    get_stripe_client().v1.refunds.create(
        params={"payment_intent": payment.stripe_payment_intent_id, "amount": 500}
    )
    refund = funds.milestone_refund(milestone=milestone, by=AdminFactory(), reason="Annulé")

    with pytest.raises(ValidationError) as refused:
        stripe_refund_execute(refund=refund)

    assert refused.value.code == "refund_too_large"
    assert [r.amount for r in stripe_refunds(payment)] == [500]


def test_a_stripe_error_leaves_the_refund_pending_with_the_reason(offline_stripe, milestone):
    payment = paid_by_card(milestone)
    refund = funds.milestone_refund(milestone=milestone, by=AdminFactory(), reason="Annulé")
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id="pi_unknown")

    stripe_refund_execute(refund=refund)

    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert refund.failure_message
    assert not LedgerTransaction.objects.filter(kind=TransactionKind.REFUND_SENT).exists()


def test_a_bank_transfer_is_not_refunded_through_stripe(milestone):
    fund_milestone(milestone)
    refund = funds.milestone_refund(milestone=milestone, by=AdminFactory(), reason="Annulé")

    with pytest.raises(ValidationError) as refused:
        stripe_refund_execute(refund=refund)

    assert refused.value.code == "method"


# --- Bancontact, at the HTTP boundary (real Stripe's recorded answers) -----------------------

INTENT_ID = "pi_3SiriusBancontact0001"
REDIRECT = "https://pm-redirects.stripe.com/authorize/acct_1Sirius/pa_nonce_Sirius"


def bancontact_intent(payment: Payment, status: str, **extra) -> dict:
    """A PaymentIntent as Stripe's API answers it (abridged to the fields we read)."""
    milestone = payment.milestone
    return {
        "id": INTENT_ID,
        "object": "payment_intent",
        "amount": payment.gross_cents,
        "amount_received": payment.gross_cents if status == "succeeded" else 0,
        "capture_method": "automatic",
        "client_secret": f"{INTENT_ID}_secret_Sirius",
        "currency": "eur",
        "last_payment_error": None,
        "livemode": False,
        "metadata": {
            "contract_id": str(milestone.contract_id),
            "milestone_id": str(milestone.pk),
            "payment_id": str(payment.pk),
        },
        "next_action": None,
        "payment_method": "pm_1SiriusBancontact",
        "payment_method_types": ["bancontact"],
        "status": status,
        "transfer_group": f"contract_{milestone.contract_id}",
        **extra,
    }


@pytest.fixture
def real_stripe(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_51SiriusNotARealKey"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_51SiriusNotARealKey"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SITE_URL = "https://sirius.example"
    with responses.RequestsMock() as mock:
        yield mock


def bancontact_payment(milestone) -> Payment:
    return funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="bancontact"
    )


def test_bancontact_sends_the_client_to_the_bank_and_back(real_stripe, milestone):
    payment = bancontact_payment(milestone)
    waiting = bancontact_intent(
        payment,
        "requires_action",
        next_action={"type": "redirect_to_url", "redirect_to_url": {"url": REDIRECT}},
    )
    real_stripe.post(f"{STRIPE_API}/v1/payment_intents", json=waiting)
    real_stripe.get(
        f"{STRIPE_API}/v1/payment_intents/{INTENT_ID}",
        json=bancontact_intent(payment, "succeeded"),
    )

    started = stripe_payment_start(payment=payment)
    stripe_payment_sync(payment=payment)

    create = real_stripe.calls[0].request
    sent = parse_qs(create.body)
    assert create.headers["Idempotency-Key"] == f"sirius-payment_intent-{payment.pk}-0"
    assert create.headers["Authorization"] == "Bearer sk_test_51SiriusNotARealKey"
    assert sent["amount"] == [str(payment.gross_cents)]
    assert sent["currency"] == ["eur"]
    assert sent["payment_method_types[0]"] == ["bancontact"]
    assert sent["payment_method_data[type]"] == ["bancontact"]
    assert sent["payment_method_data[billing_details][name]"] == [payment.client.full_name]
    assert sent["capture_method"] == ["automatic"]
    assert sent["confirm"] == ["true"]
    assert sent["return_url"] == [f"https://sirius.example/payments/stripe/return/{payment.pk}/"]
    assert sent["transfer_group"] == [f"contract_{milestone.contract_id}"]
    assert sent["metadata[payment_id]"] == [str(payment.pk)]
    assert started.redirect_url == REDIRECT
    payment.refresh_from_db()
    milestone.refresh_from_db()
    assert payment.stripe_payment_intent_id == INTENT_ID
    assert payment.status == PaymentStatus.SUCCEEDED
    assert milestone.status == S.FUNDED
    assert funding_count(payment) == 1


def test_bancontact_refused_by_the_bank_fails_the_payment(real_stripe, milestone):
    payment = bancontact_payment(milestone)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=INTENT_ID)
    refused = bancontact_intent(
        payment,
        "requires_payment_method",
        last_payment_error={
            "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication.",
            "type": "invalid_request_error",
        },
    )
    real_stripe.get(f"{STRIPE_API}/v1/payment_intents/{INTENT_ID}", json=refused)

    stripe_payment_sync(payment=payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_message == "The provided PaymentMethod has failed authentication."
    assert funding_count(payment) == 0


def test_an_intent_with_another_amount_never_funds(real_stripe, milestone):
    payment = bancontact_payment(milestone)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent_id=INTENT_ID)
    cheaper = bancontact_intent(payment, "succeeded", amount=100)
    real_stripe.get(f"{STRIPE_API}/v1/payment_intents/{INTENT_ID}", json=cheaper)

    with pytest.raises(stripe_payments.IntentMismatch):
        stripe_payment_sync(payment=payment)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert funding_count(payment) == 0


def test_the_bancontact_button_redirects_to_the_bank(real_stripe, milestone, client):
    real_stripe.post(
        f"{STRIPE_API}/v1/payment_intents",
        json={
            "id": INTENT_ID,
            "object": "payment_intent",
            "status": "requires_action",
            "client_secret": "x",
            "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": REDIRECT}},
        },
    )
    client.force_login(milestone.contract.client)

    response = client.post(pay_url(milestone), {"method": "bancontact"})

    assert response.status_code == 302
    assert response["Location"] == REDIRECT
    payment = Payment.objects.get(milestone=milestone)
    assert (payment.method, payment.stripe_payment_intent_id) == ("bancontact", INTENT_ID)


# --- The pages -------------------------------------------------------------------------------


def pay_url(milestone) -> str:
    return reverse("pay_milestone", args=[milestone.contract_id, milestone.pk])


def test_the_pay_page_shows_amounts_vat_and_the_three_ways_to_pay(client, milestone):
    client.force_login(milestone.contract.client)

    response = client.get(pay_url(milestone))

    html = response.content.decode()
    assert response.status_code == 200
    assert "800 €" in html  # 800 € excl. VAT
    assert "168 €" in html  # 21 % VAT
    assert "968 €" in html
    assert "21 %" in html
    assert 'value="card"' in html and 'value="bancontact"' in html
    bank = reverse("pay_bank_transfer", args=[milestone.contract_id, milestone.pk])
    assert f'href="{bank}"' in html


def test_an_eu_business_client_sees_the_reverse_charge(client):
    buyer = ClientFactory(
        client_profile__kind="organisation",
        client_profile__organisation_name="Bakkerij BV",
        client_profile__vat_number="NL000099998B57",
    )
    contract = make_contract(job=JobFactory(client=buyer))
    milestone = contract.milestones.order_by("position").first()
    client.force_login(buyer)

    html = client.get(pay_url(milestone)).content.decode()

    assert "art. 196" in html
    assert "968 €" not in html


def test_only_the_contracts_client_sees_the_pay_page(client, milestone):
    contract = milestone.contract
    for viewer in (contract.member.user, ClientFactory(), MemberFactory(), AdminFactory()):
        client.force_login(viewer)
        assert client.get(pay_url(milestone)).status_code == 404
        assert client.post(pay_url(milestone), {"method": "card"}).status_code == 404
    assert not Payment.objects.exists()


def test_a_milestone_under_another_contract_is_not_found(client, milestone):
    other = make_contract(job=JobFactory(client=milestone.contract.client))
    client.force_login(milestone.contract.client)

    url = reverse("pay_milestone", args=[other.pk, milestone.pk])

    assert client.get(url).status_code == 404


def test_a_visitor_is_sent_to_log_in(client, milestone):
    response = client.get(pay_url(milestone))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_choosing_no_method_shows_the_error_by_the_field(client, milestone):
    client.force_login(milestone.contract.client)

    response = client.post(pay_url(milestone), {"method": "bitcoin"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_method_error"' in html
    assert "bitcoin" not in html  # the error does not echo what was sent
    assert not Payment.objects.exists()


def test_paying_needs_the_csrf_token(milestone):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(milestone.contract.client)

    response = browser.post(pay_url(milestone), {"method": "card"})

    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_a_paid_milestone_says_so_and_is_not_charged_again(client, milestone):
    fund_milestone(milestone)
    client.force_login(milestone.contract.client)

    page = client.get(pay_url(milestone))
    again = client.post(pay_url(milestone), {"method": "card"})

    assert 'name="method"' not in page.content.decode()
    assert 'class="message message-success"' in page.content.decode()
    assert again.status_code == 400
    assert Payment.objects.filter(milestone=milestone).count() == 1  # the transfer only


def test_paying_by_card_through_the_pages(offline_stripe, client, milestone):
    client.force_login(milestone.contract.client)

    chosen = client.post(pay_url(milestone), {"method": "card"})
    payment = Payment.objects.get(milestone=milestone)
    assert chosen.status_code == 302
    assert chosen["Location"] == reverse("pay_card", args=[payment.pk])
    again = client.post(pay_url(milestone), {"method": "card"})  # back button, click again
    card_page = client.get(chosen["Location"])

    assert again["Location"] == chosen["Location"]
    assert Payment.objects.filter(milestone=milestone).count() == 1
    assert len(intents_of(payment)) == 1
    html = card_page.content.decode()
    payment.refresh_from_db()
    intent = get_stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert f'data-client-secret="{intent.client_secret}"' in html
    assert 'data-publishable-key="pk_test_localstripe"' in html
    assert f'src="http://127.0.0.1:{offline_stripe}/js.stripe.com/v3/"' in html
    assert 'src="/static/js/pay_card.js"' in html
    assert "<script>" not in html  # no inline script

    authenticate_3ds(offline_stripe, intent.client_secret)
    result = client.get(reverse("stripe_return", args=[payment.pk]))

    payment.refresh_from_db()
    milestone.refresh_from_db()
    assert result.status_code == 200
    assert payment.status == PaymentStatus.SUCCEEDED
    assert milestone.status == S.FUNDED
    assert 'class="message message-success"' in result.content.decode()
    # The card page of a paid payment goes to the result, with no second charge.
    assert client.get(reverse("pay_card", args=[payment.pk]))["Location"] == reverse(
        "stripe_return", args=[payment.pk]
    )


def test_a_failed_card_payment_offers_to_try_again(offline_stripe, client, milestone):
    client.force_login(milestone.contract.client)
    client.post(pay_url(milestone), {"method": "card"})
    payment = Payment.objects.get(milestone=milestone)
    intent = get_stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    authenticate_3ds(offline_stripe, intent.client_secret, success=False)

    result = client.get(reverse("stripe_return", args=[payment.pk]))

    assert f'href="{pay_url(milestone)}"' in result.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED


def test_payment_pages_are_not_found_for_others(offline_stripe, client, milestone):
    payment = card_payment(milestone)
    stripe_payment_start(payment=payment)
    for viewer in (milestone.contract.member.user, ClientFactory()):
        client.force_login(viewer)
        assert client.get(reverse("pay_card", args=[payment.pk])).status_code == 404
        assert client.get(reverse("stripe_return", args=[payment.pk])).status_code == 404


def test_the_contract_page_offers_the_client_to_pay(client, milestone):
    contract = milestone.contract
    url = reverse("contract_detail", args=[contract.pk])

    client.force_login(contract.client)
    as_client = client.get(url).content.decode()
    client.force_login(contract.member.user)
    as_member = client.get(url).content.decode()

    assert f'href="{pay_url(milestone)}"' in as_client
    assert f'href="{pay_url(milestone)}"' not in as_member


def test_the_pay_page_query_count(client, milestone, django_assert_num_queries):
    client.force_login(milestone.contract.client)
    client.get(pay_url(milestone))  # warm the session and the language

    with django_assert_num_queries(6):
        response = client.get(pay_url(milestone))

    assert response.status_code == 200


def test_the_return_page_query_count(client, milestone, django_assert_num_queries):
    payment = fund_milestone(milestone, method="bank_transfer")
    client.force_login(milestone.contract.client)

    with django_assert_num_queries(7):
        response = client.get(reverse("stripe_return", args=[payment.pk]))

    assert response.status_code == 200


def test_stripe_down_leaves_a_clear_message_and_no_charge(settings, client, milestone):
    point_settings_at(settings, free_port())  # nothing listens there
    client.force_login(milestone.contract.client)

    response = client.post(pay_url(milestone), {"method": "card"})

    assert response.status_code == 502
    assert 'class="errorlist nonfield"' in response.content.decode()
    payment = Payment.objects.get(milestone=milestone)
    assert payment.status == PaymentStatus.PENDING
    assert payment.stripe_payment_intent_id is None
    assert milestone.status == S.AWAITING_FUNDING
