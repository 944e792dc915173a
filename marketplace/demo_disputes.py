"""Demo disputes: one open (waiting for the member's answer) and one decided by the cooperative
with a split, both made through the services. Running it twice changes nothing.

Called from marketplace.demo after the contracts exist::

    from marketplace.demo_disputes import seed_disputes
    seed_disputes(admin=admin)                      # picks two suitable demo contracts
    seed_disputes(admin=admin, contracts=[c1, c2])  # or these two (open, decided)
"""

import datetime

from django.utils import timezone

from marketplace.models import (
    Contract,
    ContractStatus,
    DecisionOutcome,
    Dispute,
    DisputeReason,
    Milestone,
    MilestoneStatus,
    User,
)
from marketplace.selectors.disputes import DISPUTABLE, dispute_conflicted_user_ids
from marketplace.services import disputes as services
from marketplace.services import milestones as milestone_services

S = MilestoneStatus


def _ready_milestone(contract: Contract, admin: User) -> Milestone:
    """The contract's first milestone, paid (by bank transfer, recorded by the admin) and
    delivered if it was not yet, through the services."""
    from payments.services import funds

    milestone = contract.milestones.order_by("position").first()
    member = contract.member.user
    if milestone.status == S.AWAITING_FUNDING:
        payment = funds.payment_create(
            milestone=milestone, client=contract.client, method="bank_transfer"
        )
        funds.payment_succeeded(payment=payment, by=admin)
        milestone.refresh_from_db()
    if milestone.status == S.FUNDED:
        milestone_services.milestone_start(milestone=milestone, member=member)
        milestone.refresh_from_db()
    if milestone.status == S.IN_PROGRESS:
        milestone_services.milestone_deliver(
            milestone=milestone,
            member=member,
            message="Voici la première version du site, en ligne sur l'adresse de test.",
            links=["https://example.org/demo-site"],
        )
        milestone.refresh_from_db()
    return milestone


def _pick_contracts(admin: User) -> list[Contract]:
    """Two active contracts whose first milestone can still be disputed (or paid then
    disputed) and that the admin may arbitrate."""
    picked = []
    for contract in Contract.objects.filter(status=ContractStatus.ACTIVE).order_by("pk"):
        first = contract.milestones.order_by("position").first()
        if first is None or first.status not in DISPUTABLE | {S.AWAITING_FUNDING}:
            continue
        if admin.pk in dispute_conflicted_user_ids(contract):
            continue
        picked.append(contract)
        if len(picked) == 2:
            break
    return picked


def seed_disputes(*, admin: User, contracts: list[Contract] | None = None) -> list[Dispute]:
    """One open dispute and one decided dispute. Idempotent: if the demo already has
    disputes, they are returned unchanged."""
    existing = list(Dispute.objects.order_by("pk"))
    if existing:
        return existing
    contracts = contracts if contracts is not None else _pick_contracts(admin)
    if len(contracts) < 2:
        return []
    open_contract, decided_contract = contracts[:2]
    now = timezone.now()

    # An open dispute: the client finds the delivery incomplete; the member has a week to answer.
    milestone = _ready_milestone(open_contract, admin)
    opened = services.dispute_open(
        milestone=milestone,
        by=open_contract.client,
        reason=DisputeReason.NOT_AS_AGREED,
        account=(
            "Le site livré n'a pas la version néerlandaise prévue dans l'offre, et le "
            "formulaire de contact ne fonctionne pas."
        ),
        member_cents=milestone.amount_cents // 2,
        now=now - datetime.timedelta(days=2),
    )
    services.dispute_add_evidence(
        dispute=opened,
        by=open_contract.client,
        text="L'offre acceptée mentionne « site en français et en néerlandais ».",
        links=["https://example.org/demo-offre"],
        now=now - datetime.timedelta(days=2),
    )

    # A decided dispute: opened ten days ago, answered, then split by the cooperative.
    milestone = _ready_milestone(decided_contract, admin)
    decided = services.dispute_open(
        milestone=milestone,
        by=decided_contract.member.user,
        reason=DisputeReason.SCOPE,
        account=(
            "Le client demande une boutique en ligne complète, qui ne faisait pas partie de "
            "l'offre. Le travail prévu est livré."
        ),
        member_cents=milestone.amount_cents,
        now=now - datetime.timedelta(days=10),
    )
    services.dispute_answer(
        dispute=decided,
        by=decided_contract.client,
        answer="La page des produits était prévue ; elle n'est pas faite.",
        member_cents=milestone.amount_cents // 2,
        now=now - datetime.timedelta(days=9),
    )
    member_part = milestone.amount_cents * 3 // 4
    services.dispute_decide(
        dispute=decided,
        admin=admin,
        outcome=DecisionOutcome.SPLIT,
        member_cents=member_part,
        client_cents=milestone.amount_cents - member_part,
        reasoning=(
            "L'offre prévoyait une page de produits simple, sans paiement en ligne. Elle "
            "manque ; le reste est livré et conforme. Trois quarts au membre, un quart "
            "rendu au client."
        ),
    )
    return list(Dispute.objects.filter(pk__in=[opened.pk, decided.pk]).order_by("pk"))
