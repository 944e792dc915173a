import threading

import pytest
from django.db import IntegrityError, connection

from marketplace.models import User

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_concurrent_signups_with_one_address_in_different_cases_make_one_account():
    # Given eight requests racing to create the same address, spelled differently
    variants = ["amina@example.be", "Amina@example.be", "AMINA@EXAMPLE.BE", "amina@Example.be"] * 2
    barrier = threading.Barrier(len(variants))
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_up(email: str) -> None:
        try:
            barrier.wait(timeout=10)
            # Bypass save()'s lower-casing to prove the database itself refuses the duplicate.
            User.objects.bulk_create([User(email=email, password="!")])
            result = "created"
        except IntegrityError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign_up, args=(email,)) for email in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one account exists and every other attempt was refused by the constraint
    assert sorted(outcomes) == ["created"] + ["refused"] * (len(variants) - 1)
    assert User.objects.filter(email__iexact="amina@example.be").count() == 1


def test_two_validators_deciding_at_once_record_one_decision():
    from django.core.exceptions import ValidationError

    from matching import services
    from matching.models import SkillClaim, SkillDecision
    from tests.factories import SkillClaimFactory, ValidatorFactory

    # Given one pending claim and six validators who open it at the same moment
    claim = SkillClaimFactory()
    validators = [ValidatorFactory() for _ in range(6)]
    barrier = threading.Barrier(len(validators))
    outcomes: list[str] = []
    lock = threading.Lock()

    def decide(validator, index):
        kind = "validated" if index % 2 == 0 else "declined"
        try:
            barrier.wait(timeout=10)
            services.skill_claim_decide(
                claim=claim,
                validator=validator,
                decision=services.DecisionInput(kind=kind, level="advanced", comment="raison"),
            )
            result = "decided"
        except ValidationError:
            result = "refused"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=decide, args=(v, i)) for i, v in enumerate(validators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one decision is recorded and the claim agrees with it
    assert sorted(outcomes) == ["decided"] + ["refused"] * 5
    decision = SkillDecision.objects.get(claim=claim)
    claim.refresh_from_db()
    assert claim.status == (
        SkillClaim.Status.VALIDATED if decision.kind == "validated" else SkillClaim.Status.DECLINED
    )


def run_together(count: int, action) -> list[str]:
    """Run `action(index)` in `count` threads released together; return each outcome."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index):
        try:
            barrier.wait(timeout=10)
            result = action(index)
        except Exception as error:  # the outcome is what the test looks at
            result = type(error).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_fifty_accepts_at_once_on_one_job_give_one_contract(settings):
    from marketplace.models import Bid, Contract, Job
    from marketplace.services import bids
    from tests.concurrency import race
    from tests.factories import JobFactory, make_bid

    # Argon2 for fifty members would cost seconds; the race is not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Given a job with fifty bids, and fifty accepts released at the same instant (the client's
    # tabs, a double click, the API): each thread has its own connection
    job = JobFactory()
    offers = [make_bid(job=job) for _ in range(50)]

    def accept(index):
        bids.bid_accept(bid=offers[index], client=job.client)
        return "accepted"

    outcomes = race(len(offers), accept)

    # Then exactly one contract exists, and every other accept got a clear refusal
    assert sorted(outcomes) == ["AlreadyDecided"] * 49 + ["accepted"]
    contract = Contract.objects.get(job=job)
    assert Bid.objects.get(job=job, status="accepted") == contract.bid
    assert Bid.objects.filter(job=job, status="declined").count() == 49
    assert contract.milestones.count() == 2
    assert Job.objects.get(pk=job.pk).status == "in_progress"


def test_double_submission_of_one_bid_makes_one_bid():
    from marketplace.models import Bid
    from marketplace.services import bids
    from tests.factories import JobFactory, MemberFactory, bid_input

    job = JobFactory()
    member = MemberFactory().member_profile

    def submit(index):
        bids.bid_submit(member=member, job=job, data=bid_input())
        return "created"

    outcomes = run_together(6, submit)
    assert sorted(outcomes) == ["ValidationError"] * 5 + ["created"]
    assert Bid.objects.filter(job=job, member=member).count() == 1
