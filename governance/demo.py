"""The demo's governance: a register history for the demo members, one open vote on the
solidarity rate they can vote on, and one closed general vote with its published result (it
moves no money: the 10 % rate stays). Idempotent: keyed by the proposals' questions and by
whether a profile already has a register history."""

import datetime

from django.db import transaction
from django.utils import timezone

from governance.models import MembershipChange, Proposal, ProposalKind, ProposalOption
from governance.services import (
    ProposalInput,
    ballot_cast,
    member_shares_change,
    proposal_close,
    proposal_create,
    proposal_open,
)
from marketplace.models import MemberProfile, User

DEMO_DOMAIN = "demo.sirius.coop"
OPEN_QUESTION = "Quel taux de part solidaire pour les contrats financés à partir de l'an prochain ?"
CLOSED_QUESTION = "L'assemblée générale se tient-elle aussi en ligne ?"


def _demo_register(admin: User) -> None:
    today = timezone.localdate()
    profiles = MemberProfile.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    for index, profile in enumerate(profiles):
        if MembershipChange.objects.filter(member=profile).exists():
            continue
        applied = today - datetime.timedelta(days=500 - 9 * index)
        changes = [
            MembershipChange(
                member=profile,
                status=MemberProfile.Membership.APPLICANT,
                effective_on=applied,
                reason="Candidature (démo)",
                recorded_by=admin,
            )
        ]
        if profile.membership_status == MemberProfile.Membership.MEMBER:
            joined = applied + datetime.timedelta(days=30)
            changes.append(
                MembershipChange(
                    member=profile,
                    status=MemberProfile.Membership.MEMBER,
                    effective_on=joined,
                    reason="Admission par le conseil d'administration (démo)",
                    recorded_by=admin,
                )
            )
            profile.membership_since = joined
        else:
            profile.membership_since = applied
        with transaction.atomic():
            MembershipChange.objects.bulk_create(changes)
            profile.save(update_fields=["membership_since", "updated_at"])
            if profile.membership_status == MemberProfile.Membership.MEMBER:
                member_shares_change(
                    member=profile,
                    shares=1 + index % 4,
                    effective_on=profile.membership_since,
                    recorded_by=admin,
                    reason="Souscription à l'admission (démo)",
                )


def _demo_closed_vote(admin: User) -> None:
    """A general question decided a few weeks ago: created in the past (the service only
    schedules future votes), then opened, voted and closed through the services."""
    if Proposal.objects.filter(question=CLOSED_QUESTION).exists():
        return
    now = timezone.now()
    opens_at = now - datetime.timedelta(days=40)
    closes_at = now - datetime.timedelta(days=26)
    with transaction.atomic():
        proposal = Proposal.objects.create(
            kind=ProposalKind.GENERAL,
            status="scheduled",
            question=CLOSED_QUESTION,
            explanation=(
                "Plusieurs membres travaillent en journée ou vivent loin de Liège. "
                "Proposition : chaque assemblée générale se tient à Liège et en visioconférence."
            ),
            opens_at=opens_at,
            closes_at=closes_at,
            quorum_percent=25,
            created_by=admin,
        )
        options = ProposalOption.objects.bulk_create(
            ProposalOption(proposal=proposal, position=position, label=label)
            for position, label in enumerate(["Oui", "Non", "Abstention"], start=1)
        )
    proposal_open(proposal_id=proposal.pk, now=opens_at)
    voters = (
        MemberProfile.objects.filter(pk__in=proposal.roll.values("member"))
        .select_related("user")
        .order_by("pk")
    )
    pattern = [0, 0, 1, 0, 2, 0, 1, 0, 0, 1, 0, 0, 2, 0, 0, 1]
    for index, voter in enumerate(voters[: len(pattern)]):
        ballot_cast(
            proposal=proposal,
            voter=voter.user,
            option_id=options[pattern[index]].pk,
            now=opens_at + datetime.timedelta(days=1),
        )
    proposal_close(proposal_id=proposal.pk, now=closes_at)


def _demo_open_vote(admin: User) -> None:
    """The rate vote demo members can take part in: 8 %, 10 % or 12 %. A lone demo vote
    stays under the quorum, so the demo's money keeps the 10 % rate."""
    if Proposal.objects.filter(question=OPEN_QUESTION).exists():
        return
    now = timezone.now()
    proposal = proposal_create(
        author=admin,
        data=ProposalInput(
            kind=ProposalKind.SOLIDARITY_RATE,
            question=OPEN_QUESTION,
            explanation=(
                "La part solidaire finance la formation des nouveaux membres et le fonds de "
                "solidarité. Le conseil propose de la garder à 10 %, certains membres demandent "
                "8 % ou 12 %. Le taux décidé vaut pour les contrats financés à partir du "
                "lendemain de la clôture, jamais pour les contrats déjà financés."
            ),
            opens_at=now - datetime.timedelta(minutes=5),
            closes_at=now + datetime.timedelta(days=14),
            quorum_percent=50,
            options=[800, 1000, 1200],
        ),
    )
    proposal_open(proposal_id=proposal.pk, now=now)


def seed_governance(*, admin: User) -> None:
    _demo_register(admin)
    _demo_closed_vote(admin)
    _demo_open_vote(admin)
