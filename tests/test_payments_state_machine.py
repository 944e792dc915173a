"""A Hypothesis state machine over the money of a few contracts, on PostgreSQL (so that the
database's deferred balance trigger runs at every commit): fund, pay late or twice, approve
(release), refund, split, send refunds, pay members out — and after every step the whole
ledger check must pass: every transaction balances, no internal account is negative, held
funds match the milestones' states, payouts never exceed what was released."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from marketplace.locks import lock_milestone
from marketplace.milestone_states import IllegalTransition
from marketplace.models import MemberProfile, Milestone, MilestoneStatus
from marketplace.services import milestones as milestone_services
from payments.models import LedgerAccount, PaymentStatus, Refund, RefundStatus
from payments.selectors.ledger import ledger_breaches
from payments.services import funds, payouts
from tests.factories import AdminFactory, make_contract

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
S = MilestoneStatus
PRICES = st.sampled_from(
    [
        (("Maquettes", 80000), ("Site", 120000)),
        (("Tout", 99999),),
        (("A", 1), ("B", 33333), ("C", 7)),
    ]
)


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.admin = AdminFactory()
        self.contract_ids: list[int] = []

    def _milestones(self, *statuses):
        return list(
            Milestone.objects.filter(contract_id__in=self.contract_ids, status__in=statuses)
            .select_related("contract")
            .order_by("pk")
        )

    @rule(milestones=PRICES)
    def new_contract(self, milestones):
        if len(self.contract_ids) >= 4:
            return
        price = sum(amount for _title, amount in milestones)
        contract = make_contract(price_cents=price, milestones=milestones)
        # Members are paid by SEPA transfer: they need an IBAN.
        MemberProfile.objects.filter(pk=contract.member_id).update(iban="BE71096123456769")
        self.contract_ids.append(contract.pk)

    @rule(data=st.data(), method=st.sampled_from(["bank_transfer", "card", "bancontact"]))
    def fund(self, data, method):
        waiting = self._milestones(S.AWAITING_FUNDING)
        if not waiting:
            return
        milestone = data.draw(st.sampled_from(waiting))
        payment = funds.payment_create(
            milestone=milestone, client=milestone.contract.client, method=method
        )
        by = self.admin if method == "bank_transfer" else None
        funds.payment_succeeded(payment=payment, by=by)
        funds.payment_succeeded(payment=payment, by=by)  # a duplicated confirmation

    @rule(data=st.data())
    def pay_late_by_a_second_method(self, data):
        waiting = self._milestones(S.AWAITING_FUNDING)
        if not waiting:
            return
        milestone = data.draw(st.sampled_from(waiting))
        client = milestone.contract.client
        card = funds.payment_create(milestone=milestone, client=client, method="card")
        transfer = funds.payment_create(milestone=milestone, client=client, method="bank_transfer")
        funds.payment_succeeded(payment=transfer, by=self.admin)
        funds.payment_succeeded(payment=card)
        card.refresh_from_db()
        assert card.status == PaymentStatus.SUCCEEDED and not card.funded_milestone

    @rule(data=st.data())
    def approve(self, data):
        funded = self._milestones(S.FUNDED)
        if not funded:
            return
        milestone = data.draw(st.sampled_from(funded))
        member = milestone.contract.member.user
        milestone_services.milestone_start(milestone=milestone, member=member)
        milestone_services.milestone_deliver(milestone=milestone, member=member, message="ok")
        milestone_services.milestone_approve(milestone=milestone, client=milestone.contract.client)
        # Approved already (or the contract is completed by it): refused, nothing posted.
        with pytest.raises((IllegalTransition, ValidationError)):
            milestone_services.milestone_approve(
                milestone=milestone, client=milestone.contract.client
            )

    @rule(data=st.data())
    def refund_everything(self, data):
        held = self._milestones(S.FUNDED, S.IN_PROGRESS)
        if not held:
            return
        milestone = data.draw(st.sampled_from(held))
        funds.milestone_refund(milestone=milestone, by=self.admin, reason="accord")

    @rule(data=st.data(), share=st.integers(min_value=0, max_value=100))
    def split(self, data, share):
        held = self._milestones(S.FUNDED, S.IN_PROGRESS)
        if not held:
            return
        milestone = data.draw(st.sampled_from(held))
        member_cents = milestone.amount_cents * share // 100
        with transaction.atomic():
            locked = lock_milestone(milestone.pk)
            funds.milestone_settle(
                milestone=locked,
                member_cents=member_cents,
                by=self.admin,
                key=f"split-{milestone.pk}",
                reason="split",
                to_status=S.APPROVED if member_cents == milestone.amount_cents else S.CANCELLED,
            )

    @rule(data=st.data())
    def send_a_refund(self, data):
        pending = list(
            Refund.objects.filter(
                status=RefundStatus.PENDING, payment__milestone__contract_id__in=self.contract_ids
            ).order_by("pk")
        )
        if not pending:
            return
        refund = data.draw(st.sampled_from(pending))
        funds.refund_record_sent(refund=refund)
        funds.refund_record_sent(refund=refund)

    @rule(data=st.data())
    def refund_more_than_paid_is_refused(self, data):
        paid = [
            refund.payment
            for refund in Refund.objects.filter(
                status=RefundStatus.SUCCEEDED,
                payment__milestone__contract_id__in=self.contract_ids,
            )
            .select_related("payment")
            .order_by("pk")
        ]
        if not paid:
            return
        payment = data.draw(st.sampled_from(paid))
        extra = Refund.objects.create(
            payment=payment,
            amount_cents=payment.gross_cents - payment.refunded_cents + 1,
            reason="too much",
        )
        with pytest.raises(ValidationError):
            funds.refund_record_sent(refund=extra)
        Refund.objects.filter(pk=extra.pk).update(status=RefundStatus.FAILED)

    @rule(send=st.booleans())
    def pay_members_out(self, send):
        members = list(
            LedgerAccount.objects.filter(
                kind="member_payable",
                balance_cents__gt=0,
                member__contracts__in=self.contract_ids,
            )
            .values_list("member_id", flat=True)
            .distinct()
            .order_by("member_id")
        )
        if not members:
            return
        created = payouts.payout_batch_create(
            rail="sepa",
            by=self.admin,
            execution_date=datetime.date.today(),
            member_ids=members,
            include_refunds=False,
        )
        if send:
            payouts.payout_batch_mark_sent(batch=created.batch, by=self.admin)
        else:
            payouts.payout_batch_cancel(batch=created.batch, by=self.admin, reason="erreur")
        if send:
            # What was paid out is not payable a second time.
            with pytest.raises(ValidationError):
                payouts.payout_batch_create(
                    rail="sepa",
                    by=self.admin,
                    execution_date=datetime.date.today(),
                    member_ids=members,
                    include_refunds=False,
                )

    @invariant()
    def the_ledger_holds(self):
        assert ledger_breaches() == []
        total = sum(LedgerAccount.objects.values_list("balance_cents", flat=True))
        assert total == 0


MoneyMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_the_money_state_machine():
    MoneyMachine.TestCase().runTest()
