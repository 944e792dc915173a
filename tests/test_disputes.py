"""Disputes: freezing, deadlines on a frozen clock, settlement by agreement, decisions with their
exact ledger effects, corrections, conflicts of interest, permissions, notifications, pages and
the queue's query count; races on PostgreSQL at the end."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.milestone_states import IllegalTransition
from marketplace.models import (
    ContractEvent,
    ContractStatus,
    DecisionOutcome,
    Dispute,
    DisputeDecision,
    DisputeEvent,
    DisputeProposal,
    DisputeReason,
    DisputeStatus,
    MemberProfile,
    MilestoneStatus,
    Notification,
    ProposalStatus,
)
from marketplace.selectors.disputes import dispute_stats, disputes_queue
from marketplace.services import bids as bid_services
from marketplace.services import disputes as services
from marketplace.services import milestones as milestone_services
from payments.models import AccountKind, LedgerTransaction, Refund, TransactionKind
from payments.selectors.ledger import account_balance, ledger_breaches
from payments.services import funds
from payments.services.ledger import account_for, ledger_post
from tests.concurrency import race
from tests.factories import (
    EXE_BYTES,
    PDF_BYTES,
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    MemberProfileFactory,
    fund_milestone,
    make_bid,
    make_contract,
)
from tests.test_admin_mfa import record_mfa

S = MilestoneStatus
SENTINEL = "Sentinelle-7Q: le site ne marche pas sur mobile"
# The first milestone of make_contract(): 800 € excl. VAT, paid by a private client (21 % VAT),
# with the statutes' default solidarity share of 10 %.
NET, VAT = 80000, 16800


# --- helpers ---------------------------------------------------------------------------------


def submitted_milestone(contract=None):
    """The contract's first milestone, paid, started and delivered."""
    contract = contract or make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    milestone_services.milestone_start(milestone=milestone, member=member)
    milestone_services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
    milestone.refresh_from_db()
    return milestone


def open_dispute(milestone, *, by=None, member_cents=20000, now=None, account=SENTINEL):
    contract = milestone.contract
    return services.dispute_open(
        milestone=milestone,
        by=by or contract.client,
        reason=DisputeReason.NOT_AS_AGREED,
        account=account,
        member_cents=member_cents,
        now=now,
    )


def balances(contract) -> dict[str, int]:
    return {
        "member": account_balance(f"member_payable:member:{contract.member_id}"),
        "solidarity": account_balance("solidarity"),
        "refund": account_balance(f"refund_payable:client:{contract.client_id}"),
        "vat": account_balance("vat_payable"),
        "held": account_balance(f"client_held:contract:{contract.pk}"),
    }


def answered(dispute, *, member_cents=60000, now=None):
    contract = dispute.contract
    return services.dispute_answer(
        dispute=dispute,
        by=contract.member.user,
        answer="Le site s'affiche bien sur mobile, voici des captures.",
        member_cents=member_cents,
        now=now,
    )


def staff(**kwargs):
    admin = AdminFactory(**kwargs)
    return admin


def login_staff(client, admin):
    client.force_login(admin)
    record_mfa(client, admin)


def pdf(name="capture.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


# --- opening and freezing --------------------------------------------------------------------


@pytest.mark.django_db
class TestOpening:
    def test_opening_freezes_the_milestone_and_tells_the_other_side(
        self, django_capture_on_commit_callbacks
    ):
        milestone = submitted_milestone()
        contract = milestone.contract
        with django_capture_on_commit_callbacks(execute=True):
            dispute = open_dispute(milestone)

        milestone.refresh_from_db()
        assert milestone.status == S.DISPUTED
        assert dispute.status == DisputeStatus.OPEN
        assert dispute.frozen_cents == NET
        assert dispute.opened_by_side == "client"
        assert dispute.milestone_status_before == S.SUBMITTED
        assert dispute.answer_due_at - dispute.opened_at == datetime.timedelta(days=7)
        assert dispute.evidence_due_at - dispute.opened_at == datetime.timedelta(days=14)
        # The opener's amount is their first proposal.
        proposal = dispute.proposals.get()
        assert (proposal.side, proposal.member_cents) == ("client", 20000)
        assert list(dispute.events.values_list("kind", flat=True)) == ["opened"]
        assert contract.events.filter(kind="disputed", milestone=milestone).exists()
        notice = Notification.objects.filter(user=contract.member.user).latest("pk")
        assert f"/disputes/{dispute.pk}/" in notice.url
        assert any(contract.member.user.email in m.to for m in mail.outbox)
        assert balances(contract)["held"] == NET
        assert ledger_breaches() == []

    def test_while_open_no_release_no_refund_no_auto_approval(self):
        milestone = submitted_milestone()
        contract = milestone.contract
        open_dispute(milestone)
        transactions_before = LedgerTransaction.objects.count()

        with pytest.raises(IllegalTransition):
            milestone_services.milestone_approve(milestone=milestone, client=contract.client)
        with pytest.raises(ValidationError) as refused:
            funds.milestone_refund(milestone=milestone, by=AdminFactory(), reason="Accord.")
        assert refused.value.code == "disputed"
        later = timezone.now() + datetime.timedelta(days=60)
        assert milestone_services.milestones_auto_approve(now=later) == 0
        milestone.refresh_from_db()
        with pytest.raises(ValidationError):
            funds.milestone_release(milestone=milestone)
        # Neither side can slip the milestone out of "disputed" through the contract page.
        with pytest.raises(IllegalTransition):
            milestone_services.milestone_start(milestone=milestone, member=contract.member.user)
        with pytest.raises(IllegalTransition):
            milestone_services.milestone_request_changes(
                milestone=milestone, client=contract.client, reason="Encore."
            )

        milestone.refresh_from_db()
        assert milestone.status == S.DISPUTED
        assert LedgerTransaction.objects.count() == transactions_before
        assert balances(contract)["held"] == NET

    @pytest.mark.parametrize("walk", ["funded", "in_progress"])
    def test_a_paid_milestone_not_yet_delivered_can_be_disputed_by_the_member(self, walk):
        contract = make_contract()
        milestone = contract.milestones.get(position=1)
        fund_milestone(milestone)
        if walk == "in_progress":
            milestone_services.milestone_start(milestone=milestone, member=contract.member.user)
        dispute = open_dispute(milestone, by=contract.member.user, member_cents=NET)
        assert dispute.opened_by_side == "member"
        assert dispute.respondent_side == "client"

    def test_refusals(self):
        contract = make_contract()
        unpaid = contract.milestones.get(position=2)
        with pytest.raises(ValidationError) as error:
            open_dispute(unpaid)
        assert error.value.code == "not_disputable"

        milestone = submitted_milestone(contract)
        with pytest.raises(PermissionDenied):
            open_dispute(milestone, by=ClientFactory())
        with pytest.raises(PermissionDenied):
            open_dispute(milestone, by=AdminFactory())
        with pytest.raises(ValidationError) as error:
            open_dispute(milestone, member_cents=NET + 1)
        assert "member_amount" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            open_dispute(milestone, account="   ")
        assert "account" in error.value.message_dict

        open_dispute(milestone)
        with pytest.raises(ValidationError) as error:
            open_dispute(milestone, by=contract.member.user)
        assert error.value.code == "already_disputed"
        assert Dispute.objects.count() == 1

    def test_the_database_allows_one_open_dispute_per_milestone(self):
        milestone = submitted_milestone()
        dispute = open_dispute(milestone)
        with pytest.raises(IntegrityError), transaction.atomic():
            Dispute.objects.create(
                contract=dispute.contract,
                milestone=milestone,
                opened_by=dispute.opened_by,
                opened_by_side="member",
                reason="other",
                account="x",
                opener_member_cents=0,
                frozen_cents=NET,
                milestone_status_before="submitted",
                answer_due_at=dispute.answer_due_at,
                evidence_due_at=dispute.evidence_due_at,
            )

    def test_history_rows_are_append_only(self):
        dispute = open_dispute(submitted_milestone())
        event = DisputeEvent.objects.get(dispute=dispute)
        with pytest.raises(ValueError):
            event.save()
        with pytest.raises(ValueError):
            event.delete()


# --- deadlines on a frozen clock -------------------------------------------------------------


@pytest.mark.django_db
class TestDeadlines:
    T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)

    def at(self, days: float) -> datetime.datetime:
        return self.T0 + datetime.timedelta(days=days)

    def test_answer_within_the_answer_time_only(self):
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        with pytest.raises(ValidationError) as late:
            answered(dispute, now=self.at(7.01))
        assert late.value.code == "answer_late"
        answered(dispute, now=self.at(6.9))
        dispute.refresh_from_db()
        assert dispute.answered_at == self.at(6.9)
        assert dispute.respondent_member_cents == 60000
        with pytest.raises(ValidationError) as twice:
            answered(dispute, now=self.at(6.95))
        assert twice.value.code == "answered"

    def test_the_opener_does_not_answer_their_own_dispute(self):
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        with pytest.raises(PermissionDenied):
            services.dispute_answer(
                dispute=dispute,
                by=dispute.contract.client,
                answer="Moi-même.",
                member_cents=0,
                now=self.at(1),
            )

    def test_evidence_until_the_evidence_deadline(self):
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        member = dispute.contract.member.user
        item = services.dispute_add_evidence(
            dispute=dispute, by=member, text="Captures.", files=[pdf()], now=self.at(13.9)
        )
        assert item.side == "member"
        assert item.files.get().content_type == "application/pdf"
        with pytest.raises(ValidationError) as late:
            services.dispute_add_evidence(
                dispute=dispute, by=member, text="Trop tard.", now=self.at(14.01)
            )
        assert late.value.code == "evidence_late"

    def test_evidence_follows_the_upload_rules(self):
        dispute = open_dispute(submitted_milestone())
        fake = SimpleUploadedFile("virus.pdf", EXE_BYTES, content_type="application/pdf")
        with pytest.raises(ValidationError) as refused:
            services.dispute_add_evidence(
                dispute=dispute,
                by=dispute.contract.client,
                text="Voici.",
                links=["javascript:alert(1)"],
                files=[fake],
            )
        assert set(refused.value.message_dict) == {"links", "files"}
        assert not dispute.evidence.exists()

    def test_admins_are_prompted_once_and_nothing_is_decided(self):
        admin = AdminFactory()
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        assert services.disputes_prompt_overdue(now=self.at(6.9)) == 0

        assert services.disputes_prompt_overdue(now=self.at(7.01)) == 1
        assert services.disputes_prompt_overdue(now=self.at(8)) == 0  # idempotent
        assert Notification.objects.filter(user=admin, url__contains=f"/{dispute.pk}/").count() == 1
        assert services.disputes_prompt_overdue(now=self.at(14.01)) == 1
        assert Notification.objects.filter(user=admin, url__contains=f"/{dispute.pk}/").count() == 2

        dispute.refresh_from_db()
        dispute.milestone.refresh_from_db()
        assert dispute.status == DisputeStatus.OPEN
        assert dispute.milestone.status == S.DISPUTED
        assert not DisputeDecision.objects.exists()
        kinds = list(dispute.events.values_list("kind", flat=True))
        assert kinds == ["opened", "answer_overdue", "evidence_closed"]

    def test_an_answered_dispute_is_not_reported_as_unanswered(self):
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        answered(dispute, now=self.at(1))
        assert services.disputes_prompt_overdue(now=self.at(8)) == 0

    def test_no_decision_before_the_other_side_could_answer(self):
        admin = AdminFactory()
        dispute = open_dispute(submitted_milestone(), now=self.T0)
        with pytest.raises(ValidationError) as early:
            services.dispute_decide(
                dispute=dispute,
                admin=admin,
                outcome=DecisionOutcome.REFUND,
                reasoning="Trop tôt.",
                now=self.at(3),
            )
        assert early.value.code == "not_heard"
        # Once the time to answer is over, an admin may decide (never automatically).
        services.dispute_decide(
            dispute=dispute,
            admin=admin,
            outcome=DecisionOutcome.REFUND,
            reasoning="Pas de réponse, livraison non conforme.",
            now=self.at(7.5),
        )

    def test_run_periodic_prompts_admins(self):
        AdminFactory()
        open_dispute(submitted_milestone(), now=timezone.now() - datetime.timedelta(days=8))
        from io import StringIO

        out = StringIO()
        call_command("run_periodic", stdout=out)
        assert "1 dispute prompt(s)" in out.getvalue()


# --- settlement by agreement -----------------------------------------------------------------


@pytest.mark.django_db
class TestAgreement:
    def test_accepting_the_other_sides_proposal_settles_with_that_split(
        self, django_capture_on_commit_callbacks
    ):
        dispute = open_dispute(submitted_milestone(), member_cents=20000)
        contract = dispute.contract
        answered(dispute, member_cents=60000)
        member_proposal = dispute.proposals.get(side="member", status=ProposalStatus.OPEN)

        with pytest.raises(PermissionDenied):
            services.dispute_accept_proposal(proposal=member_proposal, by=contract.member.user)
        with django_capture_on_commit_callbacks(execute=True):
            services.dispute_accept_proposal(proposal=member_proposal, by=contract.client)

        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.SETTLED
        assert dispute.closed_at is not None
        member_proposal.refresh_from_db()
        assert member_proposal.status == ProposalStatus.ACCEPTED
        assert dispute.proposals.get(side="client").status == ProposalStatus.LAPSED
        # 600 € to the member (10 % solidarity on it), 200 € + its 21 % VAT back to the client.
        assert balances(contract) == {
            "member": 54000,
            "solidarity": 6000,
            "refund": 24200,
            "vat": VAT - 4200,
            "held": 0,
        }
        refund = Refund.objects.get(payment__milestone=dispute.milestone)
        assert refund.amount_cents == 24200
        assert dispute.milestone.__class__.objects.get(pk=dispute.milestone_id).status == (
            S.CANCELLED
        )
        assert ledger_breaches() == []
        for user in (contract.client, contract.member.user):
            assert Notification.objects.filter(user=user, message__contains="600").exists()

    def test_a_newer_proposal_replaces_the_older_and_old_ones_cannot_be_accepted(self):
        dispute = open_dispute(submitted_milestone(), member_cents=20000)
        contract = dispute.contract
        first = dispute.proposals.get()
        newer = services.dispute_propose(dispute=dispute, by=contract.client, member_cents=40000)
        first.refresh_from_db()
        assert first.status == ProposalStatus.SUPERSEDED
        with pytest.raises(ValidationError) as stale:
            services.dispute_accept_proposal(proposal=first, by=contract.member.user)
        assert stale.value.code == "proposal_closed"
        services.dispute_accept_proposal(proposal=newer, by=contract.member.user)
        assert balances(contract)["member"] == 36000
        assert ledger_breaches() == []

    def test_everything_to_the_member_by_agreement_releases_the_milestone(self):
        dispute = open_dispute(submitted_milestone(), member_cents=NET)
        contract = dispute.contract
        services.dispute_accept_proposal(proposal=dispute.proposals.get(), by=contract.member.user)
        dispute.milestone.refresh_from_db()
        assert dispute.milestone.status == S.RELEASED
        assert balances(contract)["member"] == 72000
        assert not Refund.objects.exists()

    def test_nothing_can_happen_after_the_end(self):
        dispute = open_dispute(submitted_milestone(), member_cents=NET)
        contract = dispute.contract
        services.dispute_accept_proposal(proposal=dispute.proposals.get(), by=contract.member.user)
        with pytest.raises(ValidationError):
            services.dispute_propose(dispute=dispute, by=contract.client, member_cents=0)
        with pytest.raises(ValidationError):
            services.dispute_add_evidence(dispute=dispute, by=contract.client, text="Encore.")


# --- decisions -------------------------------------------------------------------------------


@pytest.mark.django_db
class TestDecisions:
    @pytest.mark.parametrize(
        ("outcome", "member_cents", "client_cents", "expected", "milestone_status"),
        [
            (
                DecisionOutcome.RELEASE,
                None,
                None,
                {"member": 72000, "solidarity": 8000, "refund": 0, "vat": VAT, "held": 0},
                S.RELEASED,
            ),
            (
                DecisionOutcome.REFUND,
                None,
                None,
                {"member": 0, "solidarity": 0, "refund": NET + VAT, "vat": 0, "held": 0},
                S.CANCELLED,
            ),
            (
                DecisionOutcome.SPLIT,
                50000,
                30000,
                # 500 €: 50 € solidarity, 450 € member; 300 € + 63 € VAT back to the client.
                {"member": 45000, "solidarity": 5000, "refund": 36300, "vat": 10500, "held": 0},
                S.CANCELLED,
            ),
            (
                DecisionOutcome.SPLIT,
                33333,
                46667,
                # Rounding half up on the member's part and on the client's VAT, never both.
                {
                    "member": 30000,
                    "solidarity": 3333,
                    "refund": 46667 + 9800,
                    "vat": 7000,
                    "held": 0,
                },
                S.CANCELLED,
            ),
        ],
    )
    def test_each_decision_posts_one_balanced_transaction(
        self,
        outcome,
        member_cents,
        client_cents,
        expected,
        milestone_status,
        django_capture_on_commit_callbacks,
    ):
        admin = AdminFactory()
        dispute = answered(open_dispute(submitted_milestone()))
        contract = dispute.contract
        settlements_before = LedgerTransaction.objects.filter(
            kind=TransactionKind.SETTLEMENT
        ).count()
        with django_capture_on_commit_callbacks(execute=True):
            decision = services.dispute_decide(
                dispute=dispute,
                admin=admin,
                outcome=outcome,
                member_cents=member_cents,
                client_cents=client_cents,
                reasoning="Vu les captures et l'offre.",
            )

        assert decision.member_cents + decision.client_cents == NET
        posted = LedgerTransaction.objects.get(idempotency_key=decision.ledger_key)
        assert posted.kind == TransactionKind.SETTLEMENT
        assert (
            LedgerTransaction.objects.filter(kind=TransactionKind.SETTLEMENT).count()
            == settlements_before + 1
        )
        assert balances(contract) == expected
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.DECIDED
        dispute.milestone.refresh_from_db()
        assert dispute.milestone.status == milestone_status
        # The second milestone still waits for payment: the contract goes on.
        contract.refresh_from_db()
        assert contract.status == ContractStatus.ACTIVE
        assert ledger_breaches() == []
        for user in (contract.client, contract.member.user):
            assert Notification.objects.filter(user=user, url__contains=f"/{dispute.pk}/").exists()
        assert {contract.client.email, contract.member.user.email} <= {
            address for message in mail.outbox for address in message.to
        }

    def test_a_split_that_does_not_add_up_is_refused_with_a_clear_message(self):
        admin = AdminFactory()
        dispute = answered(open_dispute(submitted_milestone()))
        with pytest.raises(ValidationError) as refused:
            services.dispute_decide(
                dispute=dispute,
                admin=admin,
                outcome=DecisionOutcome.SPLIT,
                member_cents=50000,
                client_cents=20000,
                reasoning="Moitié-moitié.",
            )
        assert refused.value.code == "split_mismatch"
        assert "700" in refused.value.messages[0] and "800" in refused.value.messages[0]
        with pytest.raises(ValidationError) as one_sided:
            services.dispute_decide(
                dispute=dispute,
                admin=admin,
                outcome=DecisionOutcome.SPLIT,
                member_cents=NET,
                client_cents=0,
                reasoning="Tout au membre.",
            )
        assert one_sided.value.code == "split_one_sided"
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.OPEN
        assert not DisputeDecision.objects.exists()
        assert balances(dispute.contract)["held"] == NET

    def test_a_decision_is_made_once(self):
        dispute = answered(open_dispute(submitted_milestone()))
        services.dispute_decide(
            dispute=dispute, admin=AdminFactory(), outcome="release", reasoning="Conforme."
        )
        with pytest.raises(ValidationError) as closed:
            services.dispute_decide(
                dispute=dispute, admin=AdminFactory(), outcome="refund", reasoning="Non."
            )
        assert closed.value.code == "closed"
        decision = DisputeDecision.objects.get()
        with pytest.raises(ValueError):
            decision.save()

    def test_only_admins_decide(self):
        dispute = answered(open_dispute(submitted_milestone()))
        with pytest.raises(PermissionDenied):
            services.dispute_decide(
                dispute=dispute, admin=MemberFactory(), outcome="release", reasoning="Moi."
            )


@pytest.mark.django_db
class TestConflictOfInterest:
    def test_an_admin_who_bid_on_the_job_cannot_decide(self):
        job = JobFactory()
        admin = AdminFactory(is_member=True)
        MemberProfileFactory(user=admin, membership_status=MemberProfile.Membership.MEMBER)
        make_bid(job=job, member=admin.member_profile)
        winner = make_bid(job=job)
        contract = bid_services.bid_accept(bid=winner, client=job.client)
        dispute = answered(open_dispute(submitted_milestone(contract)))
        with pytest.raises(PermissionDenied):
            services.dispute_decide(
                dispute=dispute, admin=admin, outcome="release", reasoning="Conforme."
            )
        assert not DisputeDecision.objects.exists()

    def test_an_admin_who_is_a_side_cannot_decide(self):
        client_admin = ClientFactory(is_staff=True)
        job = JobFactory(client=client_admin)
        contract = bid_services.bid_accept(bid=make_bid(job=job), client=client_admin)
        dispute = answered(open_dispute(submitted_milestone(contract)))
        with pytest.raises(PermissionDenied):
            services.dispute_decide(
                dispute=dispute, admin=client_admin, outcome="refund", reasoning="À moi."
            )

    def test_conflicted_admins_are_not_prompted(self):
        client_admin = ClientFactory(is_staff=True)
        other_admin = AdminFactory()
        job = JobFactory(client=client_admin)
        contract = bid_services.bid_accept(bid=make_bid(job=job), client=client_admin)
        now = timezone.now()
        open_dispute(submitted_milestone(contract), now=now)
        services.disputes_prompt_overdue(now=now + datetime.timedelta(days=8))
        assert Notification.objects.filter(user=other_admin, url__contains="/disputes/").exists()
        assert not Notification.objects.filter(
            user=client_admin, url__contains="/disputes/"
        ).exists()


# --- corrections -----------------------------------------------------------------------------


@pytest.mark.django_db
class TestCorrections:
    def decided(self, outcome="release"):
        first_admin = AdminFactory()
        dispute = answered(open_dispute(submitted_milestone()))
        decision = services.dispute_decide(
            dispute=dispute, admin=first_admin, outcome=outcome, reasoning="Première lecture."
        )
        return dispute, decision, first_admin

    def test_another_admin_corrects_with_a_linked_decision_and_the_difference_is_posted(self):
        dispute, decision, first_admin = self.decided("release")
        contract = dispute.contract
        with pytest.raises(PermissionDenied):
            services.dispute_correct(
                decision=decision,
                admin=first_admin,
                outcome="split",
                member_cents=60000,
                client_cents=20000,
                reasoning="Je me corrige moi-même.",
            )
        correction = services.dispute_correct(
            decision=decision,
            admin=AdminFactory(),
            outcome="split",
            member_cents=60000,
            client_cents=20000,
            reasoning="La version néerlandaise manque bel et bien.",
        )
        assert correction.corrects == decision
        decision.refresh_from_db()
        assert decision.member_cents == NET  # the first decision stays on record
        # Exactly as if 600 / 200 had been decided at once.
        assert balances(contract) == {
            "member": 54000,
            "solidarity": 6000,
            "refund": 24200,
            "vat": VAT - 4200,
            "held": 0,
        }
        assert Refund.objects.get(payment__milestone=dispute.milestone).amount_cents == 24200
        assert list(dispute.events.values_list("kind", flat=True))[-2:] == [
            "decided",
            "corrected",
        ]
        assert ledger_breaches() == []

    def test_a_correction_cannot_take_a_refund_back(self):
        _dispute, decision, _first = self.decided("refund")
        with pytest.raises(ValidationError) as refused:
            services.dispute_correct(
                decision=decision,
                admin=AdminFactory(),
                outcome="release",
                reasoning="Finalement conforme.",
            )
        assert refused.value.code == "correction_direction"
        assert DisputeDecision.objects.count() == 1

    def test_only_the_latest_decision_is_corrected(self):
        _dispute, decision, _first = self.decided("release")
        services.dispute_correct(
            decision=decision,
            admin=AdminFactory(),
            outcome="split",
            member_cents=60000,
            client_cents=20000,
            reasoning="Correction.",
        )
        with pytest.raises(ValidationError) as stale:
            services.dispute_correct(
                decision=decision,
                admin=AdminFactory(),
                outcome="refund",
                reasoning="Encore une.",
            )
        assert stale.value.code == "not_latest"

    def test_a_correction_is_refused_when_the_member_was_already_paid_out(self):
        dispute, decision, _first = self.decided("release")
        contract = dispute.contract
        # The member's balance left in a payout export.
        ledger_post(
            key="payout-export-test",
            kind=TransactionKind.PAYOUT_EXPORTED,
            lines=[
                (account_for(AccountKind.MEMBER_PAYABLE, member=contract.member), -72000),
                (account_for(AccountKind.PAYOUTS_IN_TRANSIT), 72000),
            ],
        )
        with pytest.raises(ValidationError) as refused:
            services.dispute_correct(
                decision=decision, admin=AdminFactory(), outcome="refund", reasoning="Non."
            )
        assert refused.value.code == "correction_funds"
        assert DisputeDecision.objects.count() == 1
        assert not Refund.objects.exists()
        assert ledger_breaches() == []


# --- pages and permissions -------------------------------------------------------------------


def dispute_urls(dispute) -> list[tuple[str, str]]:
    proposal = dispute.proposals.first()
    decision = dispute.decisions.first()
    evidence_file = dispute.evidence.first().files.first()
    return [
        ("get", reverse("dispute_detail", args=[dispute.pk])),
        ("post", reverse("dispute_answer", args=[dispute.pk])),
        ("post", reverse("dispute_evidence", args=[dispute.pk])),
        ("post", reverse("dispute_propose", args=[dispute.pk])),
        ("post", reverse("dispute_accept", args=[dispute.pk, proposal.pk])),
        ("post", reverse("dispute_decide", args=[dispute.pk])),
        ("post", reverse("dispute_correct", args=[dispute.pk, decision.pk if decision else 1])),
        ("get", reverse("dispute_evidence_file", args=[evidence_file.pk])),
        (
            "get",
            reverse("dispute_open", args=[dispute.contract_id, dispute.milestone_id]),
        ),
    ]


@pytest.mark.django_db
class TestPermissions:
    def make(self):
        dispute = open_dispute(submitted_milestone())
        services.dispute_add_evidence(
            dispute=dispute, by=dispute.contract.client, text=SENTINEL, files=[pdf()]
        )
        return dispute

    @pytest.mark.parametrize("outsider", ["client", "member"])
    def test_a_third_party_gets_404_on_every_dispute_address(self, client, outsider):
        dispute = self.make()
        stranger = ClientFactory() if outsider == "client" else MemberFactory()
        client.force_login(stranger)
        for method, url in dispute_urls(dispute):
            response = getattr(client, method)(url, {"member_amount": "1", "text": "x"})
            assert response.status_code == 404, url
            assert SENTINEL not in response.content.decode()
        assert Dispute.objects.get().status == DisputeStatus.OPEN
        assert dispute.evidence.count() == 1
        assert dispute.proposals.count() == 1

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        dispute = self.make()
        for method, url in dispute_urls(dispute):
            response = getattr(client, method)(url)
            assert response.status_code == 302, url
            assert "/accounts/login/" in response["Location"]

    def test_both_sides_and_staff_see_the_dispute(self, client):
        dispute = self.make()
        contract = dispute.contract
        for user in (contract.client, contract.member.user):
            client.force_login(user)
            page = client.get(reverse("dispute_detail", args=[dispute.pk]))
            assert page.status_code == 200
            assert SENTINEL in page.content.decode()
            served = client.get(
                reverse("dispute_evidence_file", args=[dispute.evidence.get().files.get().pk])
            )
            assert served.status_code == 200
            assert served["X-Content-Type-Options"] == "nosniff"
        login_staff(client, AdminFactory())
        assert SENTINEL in client.get(reverse("dispute_detail", args=[dispute.pk])).content.decode()

    def test_the_queue_is_for_staff(self, client):
        client.force_login(MemberFactory())
        assert client.get(reverse("dispute_queue")).status_code == 403


@pytest.mark.django_db
class TestPages:
    def test_the_member_opens_a_dispute_from_the_contract_page(self, client):
        milestone = submitted_milestone()
        contract = milestone.contract
        client.force_login(contract.member.user)
        page = client.get(reverse("contract_detail", args=[contract.pk])).content.decode()
        open_url = reverse("dispute_open", args=[contract.pk, milestone.pk])
        assert open_url in page

        refused = client.post(open_url, {"reason": "scope", "account": "", "member_amount": "900"})
        assert refused.status_code == 200
        assert not Dispute.objects.exists()

        response = client.post(
            open_url,
            {"reason": "scope", "account": SENTINEL, "member_amount": "800"},
        )
        dispute = Dispute.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("dispute_detail", args=[dispute.pk])
        assert dispute.opener_member_cents == NET
        assert dispute.opened_by_side == "member"
        page = client.get(reverse("contract_detail", args=[contract.pk])).content.decode()
        assert reverse("dispute_detail", args=[dispute.pk]) in page
        # Opening again leads to the open dispute.
        assert client.get(open_url)["Location"] == reverse("dispute_detail", args=[dispute.pk])

    def test_the_other_side_answers_proposes_and_accepts_through_the_page(self, client):
        dispute = open_dispute(submitted_milestone(), by=None, member_cents=20000)
        contract = dispute.contract
        client.force_login(contract.member.user)
        response = client.post(
            reverse("dispute_answer", args=[dispute.pk]),
            {"answer": "Tout est livré.", "member_amount": "700"},
        )
        assert response.status_code == 302
        dispute.refresh_from_db()
        assert dispute.respondent_member_cents == 70000

        client.force_login(contract.client)
        page = client.get(reverse("dispute_detail", args=[dispute.pk])).content.decode()
        proposal = dispute.proposals.get(side="member", status="open")
        accept_url = reverse("dispute_accept", args=[dispute.pk, proposal.pk])
        assert accept_url in page
        assert client.post(accept_url).status_code == 302
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.SETTLED
        assert balances(contract)["member"] == 63000

    def test_the_decision_form_shows_a_split_error_and_then_decides(self, client):
        admin = AdminFactory()
        dispute = answered(open_dispute(submitted_milestone()))
        login_staff(client, admin)
        url = reverse("dispute_decide", args=[dispute.pk])
        page = client.post(
            url,
            {
                "outcome": "split",
                "member_amount": "500",
                "client_amount": "200",
                "reasoning": "Partage.",
            },
        )
        assert page.status_code == 200
        assert "form-errors" in page.content.decode()
        assert not DisputeDecision.objects.exists()

        done = client.post(
            url,
            {
                "outcome": "split",
                "member_amount": "500",
                "client_amount": "300",
                "reasoning": "Partage.",
            },
        )
        assert done.status_code == 302
        decision = DisputeDecision.objects.get()
        assert (decision.member_cents, decision.client_cents) == (50000, 30000)
        # Both sides read the reasoning.
        client.force_login(dispute.contract.member.user)
        assert (
            "Partage." in client.get(reverse("dispute_detail", args=[dispute.pk])).content.decode()
        )

    def test_a_side_cannot_post_a_decision(self, client):
        dispute = answered(open_dispute(submitted_milestone()))
        client.force_login(dispute.contract.client)
        response = client.post(
            reverse("dispute_decide", args=[dispute.pk]),
            {"outcome": "refund", "reasoning": "À moi."},
        )
        assert response.status_code == 403
        assert not DisputeDecision.objects.exists()

    def test_queue_and_statistics(self, client, django_assert_num_queries):
        admin = AdminFactory()
        # One open, one settled, one decided.
        open_dispute(submitted_milestone())
        settled = open_dispute(submitted_milestone(), member_cents=NET)
        services.dispute_accept_proposal(
            proposal=settled.proposals.get(), by=settled.contract.member.user
        )
        decided = answered(open_dispute(submitted_milestone()))
        services.dispute_decide(
            dispute=decided, admin=admin, outcome="refund", reasoning="Non conforme."
        )
        stats = dispute_stats()
        assert (stats.total, stats.open, stats.settled, stats.decided) == (3, 1, 1, 1)
        assert stats.settled_share == 0.5
        assert stats.outcomes == {"refund": 1}
        assert stats.median_days is not None

        login_staff(client, admin)
        client.get(reverse("dispute_queue"))  # warm the session
        with django_assert_num_queries(7):
            response = client.get(reverse("dispute_queue"))
        assert response.status_code == 200
        # More open disputes, same number of queries.
        open_dispute(submitted_milestone())
        open_dispute(submitted_milestone())
        with django_assert_num_queries(7):
            response = client.get(reverse("dispute_queue"))
        assert len(response.context["disputes"]) == 3

    def test_the_queue_is_ordered_by_the_nearest_deadline(self):
        now = timezone.now()
        late = open_dispute(submitted_milestone(), now=now)
        early = open_dispute(submitted_milestone(), now=now - datetime.timedelta(days=3))
        answered_one = answered(
            open_dispute(submitted_milestone(), now=now - datetime.timedelta(days=5))
        )
        # Answered: its next deadline is the evidence one (9 days left), after both answers due.
        assert [d.pk for d in disputes_queue()] == [early.pk, late.pk, answered_one.pk]


# --- reputation ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_being_in_a_dispute_costs_no_reputation():
    """Disputes feed neither reviews nor the matching's track record."""
    from matching import ranking

    dispute = open_dispute(submitted_milestone())
    with open(ranking.__file__, encoding="utf-8") as module:
        source = module.read()
    assert "Dispute" not in source and "disput" not in source
    assert not dispute.contract.reviews.exists()


# --- demo --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_seeds_one_open_and_one_decided_dispute_once():
    from marketplace.demo_disputes import seed_disputes

    admin = AdminFactory()
    make_contract()
    submitted_milestone()
    opened, decided = seed_disputes(admin=admin)
    assert opened.status == DisputeStatus.OPEN
    assert decided.status == DisputeStatus.DECIDED
    assert decided.decisions.get().outcome == DecisionOutcome.SPLIT
    assert opened.evidence.exists()
    assert seed_disputes(admin=admin) == [opened, decided]
    assert Dispute.objects.count() == 2
    assert ledger_breaches() == []


# --- PostgreSQL races ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_approval_and_opening_one_wins_and_money_stays_consistent():
    for _round in range(4):
        milestone = submitted_milestone()
        contract = milestone.contract

        def act(index, milestone=milestone, contract=contract):
            if index == 0:
                milestone_services.milestone_approve(milestone=milestone, client=contract.client)
                return "approved"
            open_dispute(milestone, by=contract.member.user)
            return "opened"

        outcomes = race(2, act)
        milestone.refresh_from_db()
        if "approved" in outcomes:
            assert outcomes.count("approved") == 1
            assert set(outcomes) - {"approved"} == {"ValidationError"}
            assert milestone.status == S.RELEASED
            assert not Dispute.objects.filter(milestone=milestone).exists()
        else:
            assert sorted(outcomes) == ["IllegalTransition", "opened"]
            assert milestone.status == S.DISPUTED
            assert not LedgerTransaction.objects.filter(
                milestone=milestone, kind=TransactionKind.RELEASE
            ).exists()
        assert ledger_breaches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_concurrent_openings_make_one_dispute():
    milestone = submitted_milestone()
    contract = milestone.contract

    def act(index):
        by = contract.client if index % 2 else contract.member.user
        open_dispute(milestone, by=by)
        return "opened"

    outcomes = race(8, act)
    assert outcomes.count("opened") == 1
    assert set(outcomes) - {"opened"} == {"ValidationError"}
    assert Dispute.objects.filter(milestone=milestone).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_accepting_and_deciding_at_once_move_the_money_once():
    admin = AdminFactory()
    dispute = answered(open_dispute(submitted_milestone(), member_cents=20000))
    contract = dispute.contract
    proposal = DisputeProposal.objects.get(dispute=dispute, side="member", status="open")

    def act(index):
        if index == 0:
            services.dispute_accept_proposal(proposal=proposal, by=contract.client)
            return "settled"
        if index == 1:
            services.dispute_decide(
                dispute=dispute, admin=admin, outcome="release", reasoning="Conforme."
            )
            return "decided"
        funds.milestone_refund(milestone=dispute.milestone, by=admin, reason="Accord.")
        return "refunded"

    outcomes = race(3, act)
    assert len({"settled", "decided"} & set(outcomes)) == 1
    assert "refunded" not in outcomes
    assert (
        LedgerTransaction.objects.filter(
            milestone=dispute.milestone, kind=TransactionKind.SETTLEMENT
        ).count()
        == 1
    )
    assert balances(contract)["held"] == 0
    assert ledger_breaches() == []
    assert ContractEvent.objects.filter(contract=contract, kind="settled").count() == 1
