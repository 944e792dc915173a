"""Staff pays a milestone back: the page, its permissions, and what it leaves behind."""

import pytest
from django.urls import reverse
from django.utils import translation

from marketplace.models import MilestoneStatus
from payments.models import Invoice, Refund
from payments.selectors.ledger import ledger_breaches
from tests.factories import AdminFactory, ClientFactory, fund_milestone, make_contract
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded():
    contract = make_contract(milestones=(("Tout", 200000),))
    fund_milestone(contract.milestones.get())
    return contract


def url(contract):
    return reverse("milestone_refund", args=[contract.pk, contract.milestones.get().pk])


def test_only_staff_reach_the_refund_page(client, funded):
    for user in (funded.client, funded.member.user, ClientFactory()):
        client.force_login(user)
        assert client.get(url(funded)).status_code == 404
        assert client.post(url(funded), {"reason": "x", "confirm": "on"}).status_code == 404
    assert not Refund.objects.exists()


def test_a_refund_needs_a_reason_and_a_confirmation_and_keeps_the_input(client, funded):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    with translation.override("en"):
        response = client.post(url(funded), {"reason": "Accord des deux parties"})
    assert response.status_code == 200
    assert "Accord des deux parties" in response.content.decode()
    assert response.context["form"].errors["confirm"]
    assert not Refund.objects.exists()


def test_refunding_the_last_milestone_cancels_the_contract(client, funded):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    page = client.get(reverse("contract_detail", args=[funded.pk]))
    assert url(funded) in page.content.decode()
    response = client.post(url(funded), {"reason": "Accord des deux parties", "confirm": "on"})
    assert response.status_code == 302
    funded.refresh_from_db()
    milestone = funded.milestones.get()
    assert milestone.status == MilestoneStatus.CANCELLED
    assert funded.status == "cancelled"
    funded.job.refresh_from_db()
    assert funded.job.status == "cancelled"
    refund = Refund.objects.get()
    assert refund.amount_cents == 242000
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    assert ledger_breaches() == []
    # A second post finds nothing held any more.
    again = client.post(url(funded), {"reason": "Encore", "confirm": "on"})
    assert again.status_code == 200 and Refund.objects.count() == 1


def staff_client(client):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    return admin


def test_pending_refunds_are_listed_for_staff_only(client, funded, django_assert_num_queries):
    from payments.services import funds

    funds.milestone_refund(milestone=funded.milestones.get(), by=AdminFactory(), reason="Accord")
    client.force_login(funded.client)
    assert client.get(reverse("refunds_pending")).status_code == 404
    staff_client(client)
    client.get(reverse("refunds_pending"))  # warm the session and MFA checks
    with django_assert_num_queries(3):
        page = client.get(reverse("refunds_pending"))
    body = page.content.decode()
    assert page.status_code == 200
    from marketplace.templatetags.money import euros

    with translation.override("fr"):
        assert euros(242000) in body
    refund = Refund.objects.get()
    assert reverse("refund_iban", args=[refund.pk]) in body


def test_a_bank_refund_gets_a_valid_iban_and_then_a_payout_line(client, funded):
    from payments.services import funds, payouts

    funds.milestone_refund(milestone=funded.milestones.get(), by=AdminFactory(), reason="Accord")
    refund = Refund.objects.get()
    admin = staff_client(client)
    url = reverse("refund_iban", args=[refund.pk])
    with translation.override("en"):
        bad = client.post(url, {"iban": "BE00 1234"})
    assert bad.status_code == 200 and bad.context["form"].errors["iban"]
    assert "BE00 1234" in bad.content.decode()
    refund.refresh_from_db()
    assert refund.iban == ""
    assert client.post(url, {"iban": "BE71 0961 2345 6769"}).status_code == 302
    refund.refresh_from_db()
    assert refund.iban == "BE71096123456769"
    import datetime

    created = payouts.payout_batch_create(
        rail="sepa", by=admin, execution_date=datetime.date.today()
    )
    assert created.batch.lines.filter(refund=refund).count() == 1
    assert ledger_breaches() == []


def test_refund_steps_are_refused_to_non_staff(client, funded):
    from payments.services import funds

    funds.milestone_refund(milestone=funded.milestones.get(), by=AdminFactory(), reason="Accord")
    refund = Refund.objects.get()
    for user in (funded.client, funded.member.user):
        client.force_login(user)
        assert (
            client.post(
                reverse("refund_iban", args=[refund.pk]), {"iban": "BE71096123456769"}
            ).status_code
            == 404
        )
        assert client.post(reverse("refund_stripe_send", args=[refund.pk])).status_code == 404
    refund.refresh_from_db()
    assert refund.iban == ""
