"""bench/generate.py on a small scale: the rows it makes, a clean ledger, the same rows again
for the same seed."""

import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import generate

from marketplace.models import Contract, Job, MemberProfile, Milestone
from payments.models import LedgerTransaction, Payment, PayoutLine
from payments.selectors.ledger import ledger_breaches

pytestmark = pytest.mark.django_db
SMALL = {"jobs": 120, "members": 40, "contracts": 25, "clients": 6}


class _Rollback(Exception):
    pass


def fingerprint() -> list[tuple]:
    return list(
        Job.objects.order_by("pk").values_list(
            "title", "status", "category", "commune", "budget_cents", "closes_on"
        )
    )


def generate_then_forget(seed: int) -> list[tuple]:
    """Generate inside a transaction rolled back at the end: the rows it made."""
    try:
        with transaction.atomic():
            generate.generate(seed=seed, **SMALL)
            rows = fingerprint()
            raise _Rollback
    except _Rollback:
        return rows


def test_the_generator_makes_the_rows_asked_with_a_balanced_ledger(capsys):
    summary = generate.generate(seed=1, **SMALL)
    assert Job.objects.count() == 120
    assert MemberProfile.objects.count() == 40
    assert Contract.objects.count() == 25
    assert summary["contracts"] == 25
    # Every contract's job is under way or done; most other jobs are published.
    assert set(Job.objects.filter(contract__isnull=False).values_list("status", flat=True)) <= {
        "in_progress",
        "completed",
    }
    assert Job.objects.filter(status="published").count() > 20
    # Money: paid milestones have a funding payment, released ones a release, some payouts.
    paid = Milestone.objects.exclude(status__in=["awaiting_funding", "cancelled"]).count()
    assert Payment.objects.filter(funded_milestone=True).count() == paid
    assert LedgerTransaction.objects.filter(kind="release").count() == (
        Milestone.objects.filter(status="released").count()
    )
    assert PayoutLine.objects.exists()
    assert ledger_breaches() == []
    call_command("ledger_check")
    assert "Ledger OK" in capsys.readouterr().out


def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    first = generate_then_forget(seed=7)
    assert len(first) == 120
    assert generate_then_forget(seed=7) == first
    assert generate_then_forget(seed=8) != first
