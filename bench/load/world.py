"""The load test's world and its verification, run inside Django (by run.py, as subprocesses).

    python bench/load/world.py seed WORLD.json [--clients N --members N --jobs N]
    python bench/load/world.py verify RESULTS.json VERIFY.json

``seed`` creates clients, members with a validated skill, and published jobs, then writes what
the locust users need (accounts, the password, job ids) to WORLD.json. ``verify`` reads what the
locust users recorded and checks the database: every acknowledged bid exists exactly once, no job
has two contracts, every webhook event sent was processed exactly once, one funding per milestone.
"""

import argparse
import datetime
import json
import os
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "load-test-password-not-a-secret-42"
# Letters only: a marker must never look like a phone number to the contact-details filter.
MARKER = re.compile(r"LOADMARK[A-Z]{16}")


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seed(*, clients: int, members: int, jobs: int, jobs_with_bids: int) -> dict:
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from marketplace.models import ClientProfile, Job, MemberProfile, User
    from marketplace.services.bids import bid_submit
    from matching.models import Skill, SkillClaim
    from tests.factories import JobFactory

    # One hash for every account: hashing a password with Argon2 costs a tenth of a second.
    password_hash = make_password(PASSWORD)
    css = Skill.objects.get(label_en="style sheet languages")
    world: dict = {"password": PASSWORD, "clients": [], "members": [], "jobs": []}
    with transaction.atomic():
        validator = User.objects.create(
            email="load-validator@example.be",
            full_name="Validatrice",
            is_validator=True,
            password=password_hash,
        )
        for n in range(clients):
            user = User.objects.create(
                email=f"load-client-{n}@example.be",
                full_name=f"Client {n}",
                is_client=True,
                password=password_hash,
            )
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
            ClientProfile.objects.create(
                user=user,
                kind=ClientProfile.Kind.INDIVIDUAL,
                street="Rue Léopold 1",
                postal_code="4000",
                city="Liège",
            )
            world["clients"].append({"email": user.email, "jobs": []})
        for n in range(members):
            user = User.objects.create(
                email=f"load-member-{n}@example.be",
                full_name=f"Member {n}",
                is_member=True,
                password=password_hash,
            )
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
            profile = MemberProfile.objects.create(
                user=user,
                display_name=f"Membre {n}",
                membership_status=MemberProfile.Membership.MEMBER,
            )
            SkillClaim.objects.create(
                member=profile,
                skill=css,
                self_level="advanced",
                description="Feuilles de style de plusieurs sites.",
                status=SkillClaim.Status.VALIDATED,
                validated_level="advanced",
                validated_by=validator,
                validated_at=timezone.now(),
            )
            world["members"].append({"email": user.email})
        client_users = list(User.objects.filter(email__startswith="load-client-").order_by("pk"))
        for n in range(jobs):
            owner = client_users[n % len(client_users)]
            job = JobFactory(client=owner, title=f"Site vitrine de test de charge n°{n}")
            world["jobs"].append(job.pk)
            world["clients"][n % len(client_users)]["jobs"].append(job.pk)
        # A few jobs start with three offers, so that clients accept, pay and approve from the
        # first seconds (the others get their offers from the locust members).
        profiles = list(MemberProfile.objects.filter(user__email__startswith="load-member-"))
        for job in Job.objects.filter(pk__in=world["jobs"][:jobs_with_bids]):
            for member in random.sample(profiles, k=min(3, len(profiles))):
                bid_submit(member=member, job=job, data=_seed_bid())
    return world


def _seed_bid():
    from marketplace.services.bids import BidInput, MilestoneInput

    start = datetime.date.today() + datetime.timedelta(days=3)
    return BidInput(
        price_cents=200000,
        start_date=start,
        cover_message="Bonjour, je peux faire ce site en trois semaines.",
        milestones=[
            MilestoneInput("Maquettes", 80000, start + datetime.timedelta(days=7)),
            MilestoneInput("Site en ligne", 120000, start + datetime.timedelta(days=14)),
        ],
    )


def verify(results: dict) -> dict:
    """What the database says about what the locust users did; ``problems`` lists failures."""
    from django.db.models import Count

    from marketplace.models import Bid, Contract
    from payments.models import (
        LedgerTransaction,
        Payment,
        PaymentStatus,
        StripeEvent,
        StripeEventStatus,
        TransactionKind,
    )

    problems: list[str] = []

    # Bids: every marker acknowledged (302 to the bid's page, which answered 200) exists once.
    in_db: Counter = Counter()
    bid_of_marker: dict[str, int] = {}
    for pk, message in Bid.objects.filter(cover_message__contains="LOADMARK").values_list(
        "pk", "cover_message"
    ):
        for marker in MARKER.findall(message):
            in_db[marker] += 1
            bid_of_marker[marker] = pk
    acked = [b for b in results["bids"] if b["acked"]]
    missing = [b["marker"] for b in acked if in_db[b["marker"]] == 0]
    doubled = [m for m, n in in_db.items() if n > 1]
    wrong_page = [
        b["marker"]
        for b in acked
        if b.get("bid_id") and bid_of_marker.get(b["marker"]) != b["bid_id"]
    ]
    unacked_but_saved = [
        b["marker"] for b in results["bids"] if not b["acked"] and in_db[b["marker"]]
    ]
    # A user stopped by the end of the run mid-request never recorded its bid: stored, unanswered.
    recorded = {b["marker"] for b in results["bids"]}
    cut_off = [m for m in in_db if m not in recorded]
    if missing:
        problems.append(
            f"{len(missing)} acknowledged bid(s) missing from the database: {missing[:5]}"
        )
    if doubled:
        problems.append(f"{len(doubled)} bid marker(s) stored more than once: {doubled[:5]}")
    if wrong_page:
        problems.append(f"{len(wrong_page)} bid(s) acknowledged with another bid's page")

    # Contracts: one per job at most, and its job has exactly one accepted bid.
    twice = list(
        Contract.objects.values("job_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("job_id", flat=True)
    )
    if twice:
        problems.append(f"jobs with two contracts: {twice[:10]}")
    accepted_twice = list(
        Bid.objects.filter(status="accepted")
        .values("job_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("job_id", flat=True)
    )
    if accepted_twice:
        problems.append(f"jobs with two accepted bids: {accepted_twice[:10]}")

    # Webhooks: every unique event sent is stored once and processed.
    sent = {e["event_id"] for e in results["webhooks"]}
    processed = StripeEvent.objects.filter(
        event_id__in=sent, status=StripeEventStatus.PROCESSED
    ).count()
    stored = StripeEvent.objects.filter(event_id__in=sent).count()
    not_processed = list(
        StripeEvent.objects.filter(event_id__in=sent)
        .exclude(status=StripeEventStatus.PROCESSED)
        .values_list("event_id", "status", "error")[:5]
    )
    if processed != len(sent):
        problems.append(
            f"processed webhook events {processed} != unique events sent {len(sent)} "
            f"(stored {stored}; e.g. {not_processed})"
        )

    # Money: one funding per milestone, one funding transaction per succeeded payment.
    funded_twice = list(
        Payment.objects.filter(funded_milestone=True)
        .values("milestone_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("milestone_id", flat=True)
    )
    if funded_twice:
        problems.append(f"milestones funded twice: {funded_twice[:10]}")
    succeeded = Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count()
    fundings = LedgerTransaction.objects.filter(kind=TransactionKind.FUNDING).count()
    if succeeded != fundings:
        problems.append(f"{succeeded} succeeded payments but {fundings} funding transactions")
    releases = LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE).count()

    return {
        "bids_sent": len(results["bids"]),
        "bids_acknowledged": len(acked),
        "bids_in_db": sum(in_db.values()),
        "bids_unacknowledged_but_saved": len(unacked_but_saved),
        "bids_cut_off_by_the_end": len(cut_off),
        "contracts": Contract.objects.count(),
        "webhook_deliveries": len(results["webhooks"]),
        "webhook_unique_events": len(sent),
        "webhook_events_processed": processed,
        "payments_succeeded": succeeded,
        "funding_transactions": fundings,
        "release_transactions": releases,
        "problems": problems,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seeding = commands.add_parser("seed")
    seeding.add_argument("out", type=Path)
    seeding.add_argument("--clients", type=int, default=20)
    seeding.add_argument("--members", type=int, default=60)
    seeding.add_argument("--jobs", type=int, default=400)
    seeding.add_argument("--jobs-with-bids", type=int, default=40)
    checking = commands.add_parser("verify")
    checking.add_argument("results", type=Path)
    checking.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    _django()
    if args.command == "seed":
        world = seed(
            clients=args.clients,
            members=args.members,
            jobs=args.jobs,
            jobs_with_bids=args.jobs_with_bids,
        )
        args.out.write_text(json.dumps(world))
    else:
        report = verify(json.loads(args.results.read_text()))
        args.out.write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
