#!/usr/bin/env python3
"""Data generator for the benchmarks: clients, members, jobs, bids, contracts with milestones,
payments, payouts and their ledger history. Run by hand; it prints what it did and how long.

    DATABASE_URL=postgres://root@127.0.0.1:5432/sirius_bench \\
        .venv/bin/python bench/generate.py --jobs 100000 --members 50000 --contracts 20000 --seed 1

It migrates the database first and refuses to add to one that already holds generated jobs
(`--skip-if-present` makes that a no-op instead, for bench/http_bench.py). The same seed gives the
same rows; dates are drawn relative to the day of the run, so that published jobs are open.

Rows go in with bulk_create in batches (one round trip per few thousand rows). The ledger is
posted as the services post it (payments.services.funds and payouts): a funding per paid
milestone (clearing → funds held + VAT), a release with the solidarity share per released
milestone, and SEPA payouts (member payable → in transit → bank) for some members; every
transaction balances, account balances equal the sum of their entries, and
`manage.py ledger_check` is run at the end. No Stripe call is made: it is data, not a flow.
"""

import argparse
import datetime
import itertools
import math
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BENCH_DOMAIN = "gen.sirius.invalid"
BATCH = 5000
# Weighted choices, roughly what a Liège cooperative's board would hold.
OPEN_JOB_STATUSES = [  # the jobs that are not under a contract
    ("published", 55),
    ("expired", 18),
    ("draft", 8),
    ("submitted", 5),
    ("rejected", 4),
    ("cancelled", 10),
]
CATEGORY_WEIGHTS = {
    "showcase": 30,
    "eshop": 15,
    "maintenance": 18,
    "redesign": 12,
    "accessibility": 5,
    "seo": 8,
    "web_app": 9,
    "other": 3,
}
WORK_MODES = [("hybrid", 45), ("remote", 35), ("on_site", 20)]
TITLE_SUBJECTS = {
    "showcase": ["Site vitrine", "Website", "Site internet", "Landing page"],
    "eshop": ["Boutique en ligne", "Webshop", "E-commerce", "Shop WooCommerce"],
    "maintenance": ["Maintenance", "Mises à jour", "Hébergement et sauvegardes", "Support"],
    "redesign": ["Refonte", "Nouveau design", "Redesign", "Modernisation"],
    "accessibility": ["Audit d'accessibilité", "Mise en conformité WCAG", "Accessibility audit"],
    "seo": ["Référencement naturel", "SEO audit", "Optimisation Google"],
    "web_app": ["Application de réservation", "Portail membres", "Web app", "Intranet"],
    "other": ["Formation WordPress", "Newsletter", "Intégration API"],
}
TITLE_CLIENTS = [
    "boulangerie",
    "asbl culturelle",
    "cabinet de kiné",
    "librairie",
    "café",
    "salle de sport",
    "coopérative",
    "atelier vélo",
    "école de musique",
    "friterie",
    "garage",
    "fleuriste",
    "théâtre",
    "épicerie bio",
    "architecte",
    "maison médicale",
]
DESCRIPTION_SENTENCES = [
    "Nous cherchons une personne de confiance pour ce projet.",
    "Le site doit être rapide, accessible et facile à mettre à jour.",
    "We need a mobile-friendly site in French and Dutch.",
    "Paiement en ligne par Bancontact souhaité.",
    "Le contenu existe déjà ; il faut le mettre en forme.",
    "Une formation courte à la fin serait appréciée.",
    "Hébergement en Belgique de préférence.",
    "Le projet démarre dès que possible.",
    "Nous avons un logo mais pas de charte graphique.",
    "Intégration avec notre agenda et notre newsletter.",
]


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def zipf_weights(count: int, exponent: float = 0.9) -> list[float]:
    """Cumulative weights of a few popular items and a long tail (how skills spread over job
    posts); cumulative so that each draw is a bisection, not a pass over all the weights."""
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))


def budget(rng: random.Random) -> dict:
    if rng.random() < 0.8:
        # Fixed price, log-normal around 2,500 €, 300 € to 60,000 €.
        high = int(min(60_000, max(300, math.exp(rng.gauss(math.log(2500), 0.8)))))
        low = max(100, int(high * rng.uniform(0.5, 0.9)))
        return {
            "budget_type": "fixed",
            "budget_min_cents": low * 100,
            "budget_max_cents": high * 100,
            "budget_cents": high * 100,
        }
    rate, hours = rng.randint(35, 95), rng.randint(5, 200)
    return {
        "budget_type": "hourly",
        "hourly_rate_cents": rate * 100,
        "estimated_hours": hours,
        "budget_cents": rate * 100 * hours,
    }


def fast_insert(objs: list) -> list:
    """Insert model instances and give them their pks: COPY on PostgreSQL (several times faster
    than INSERT for millions of rows), bulk_create elsewhere. Instances must be complete: no
    signal, no save() logic runs, as with bulk_create."""
    from django.db import connection, models

    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    from psycopg.types.json import Jsonb

    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    stamped = [
        field
        for field in fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    json_names = {field.attname for field in fields if isinstance(field, models.JSONField)}
    names = [field.attname for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [meta.db_table, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(
            connection.ops.quote_name(c) for c in ["id", *(f.column for f in fields)]
        )
        with cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                for field in stamped:
                    field.pre_save(obj, True)
                row = [obj.pk]
                for name in names:
                    value = getattr(obj, name)
                    row.append(Jsonb(value) if name in json_names and value is not None else value)
                copy.write_row(row)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = "default"
    return objs


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last = self.started

    def lap(self, label: str, rows: int | None = None) -> None:
        now = time.perf_counter()
        rate = f" ({rows / (now - self.last):,.0f} rows/s)" if rows else ""
        print(f"  {label:<44} {now - self.last:7.1f} s{rate}", flush=True)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started


def generate(*, jobs: int, members: int, contracts: int, seed: int, clients: int | None) -> dict:
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from marketplace.models import (
        Bid,
        ClientProfile,
        Contract,
        Job,
        JobLanguage,
        JobSkill,
        MemberProfile,
        Milestone,
        User,
    )
    from marketplace.regions import COMMUNE_CHOICES
    from marketplace.services.jobs import SEARCH_CONFIG
    from matching.models import Language, MemberLanguage, Skill, SkillClaim
    from matching.search import normalise
    from payments.amounts import STANDARD_VAT_BP, VatTreatment, gross_for, release_split
    from payments.models import (
        AccountKind,
        LedgerAccount,
        LedgerEntry,
        LedgerTransaction,
        Payment,
        PaymentMethod,
        PaymentStatus,
        PayoutBatch,
        PayoutBatchStatus,
        PayoutLine,
        PayoutLineKind,
        PayoutLineStatus,
        PayoutRail,
        TransactionKind,
    )
    from payments.services.funds import HELD_STATES, solidarity_rate_in_force

    if contracts > jobs:
        raise SystemExit("--contracts cannot exceed --jobs (a contract is one job's)")
    rng = random.Random(seed)
    timer = Timer()
    now = timezone.now()
    today = timezone.localdate()
    clients = clients or max(10, jobs // 20)
    password = "!"  # unusable: the bench logs members in by creating their session

    skills = list(Skill.objects.order_by("pk").values_list("pk", "label_en", "label_fr"))
    if not skills:
        raise SystemExit("no skills: the matching reference data is missing (migrate)")
    skill_weights = zipf_weights(len(skills))
    shuffled = skills[:]
    random.Random(seed + 7).shuffle(shuffled)  # which skills are popular: seeded too
    languages = dict(Language.objects.values_list("code", "pk"))
    extra_languages = [
        (code, w) for code, w in [("en", 30), ("nl", 12), ("ar", 4)] if code in languages
    ]
    commune_keys = [key for key, _label in COMMUNE_CHOICES]
    # Liège itself and its neighbours carry most of the work.
    commune_weights = zipf_weights(len(commune_keys), 1.1)
    categories = list(CATEGORY_WEIGHTS.items())

    # --- Users -------------------------------------------------------------------------------
    client_ids: list[int] = []
    for start in range(0, clients, BATCH):
        size = min(BATCH, clients - start)
        with transaction.atomic():
            users = fast_insert(
                User(
                    email=f"client{start + i}@{BENCH_DOMAIN}",
                    full_name=f"Client {start + i}",
                    password=password,
                    is_client=True,
                    language=weighted(rng, [("fr", 80), ("nl", 10), ("en", 10)]),
                )
                for i in range(size)
            )
            fast_insert(ClientProfile(user=user, kind="individual") for user in users)
        client_ids += [user.pk for user in users]
    timer.lap(f"{clients:,} clients", clients)

    member_ids: list[int] = []  # MemberProfile pks
    validator, _ = User.objects.get_or_create(
        email=f"validator@{BENCH_DOMAIN}", defaults={"is_validator": True, "password": password}
    )
    skill_rows = 0
    for start in range(0, members, BATCH):
        size = min(BATCH, members - start)
        with transaction.atomic():
            users = fast_insert(
                User(
                    email=f"member{start + i}@{BENCH_DOMAIN}",
                    full_name=f"Member {start + i}",
                    password=password,
                    is_member=True,
                    language=weighted(rng, [("fr", 75), ("en", 10), ("nl", 10), ("ar", 5)]),
                )
                for i in range(size)
            )
            profiles = fast_insert(
                MemberProfile(
                    user=user,
                    display_name=f"Member {start + i}",
                    membership_status="member",
                    availability=weighted(
                        rng, [("available", 60), ("partly", 25), ("unavailable", 15)]
                    ),
                    hourly_rate_cents=rng.randint(30, 90) * 100,
                )
                for i, user in enumerate(users)
            )
            claims, spoken = [], []
            for profile in profiles:
                held = set()
                while len(held) < rng.randint(3, 8):
                    held.add(rng.choices(shuffled, cum_weights=skill_weights)[0][0])
                for skill_id in sorted(held):
                    level = rng.choice(["intermediate", "advanced", "expert"])
                    claims.append(
                        SkillClaim(
                            member=profile,
                            skill_id=skill_id,
                            self_level=level,
                            status="validated",
                            validated_level=level,
                            validated_by=validator,
                            validated_at=now,
                        )
                    )
                spoken.append(
                    MemberLanguage(
                        member=profile,
                        language_id=languages["fr"],
                        level=rng.choice(["B1", "B2", "C1", "C2"]),
                    )
                )
                for code, weight in extra_languages:
                    if rng.random() * 100 < weight * 1.5:
                        spoken.append(
                            MemberLanguage(
                                member=profile,
                                language_id=languages[code],
                                level=rng.choice(["A2", "B1", "B2", "C1"]),
                            )
                        )
            fast_insert(claims)
            fast_insert(spoken)
            skill_rows += len(claims)
        member_ids += [profile.pk for profile in profiles]
    timer.lap(f"{members:,} members ({skill_rows:,} validated skills)", members)

    # --- Jobs --------------------------------------------------------------------------------
    # Which jobs carry a contract: spread over the whole range, drawn from the seed.
    contract_positions = set(rng.sample(range(jobs), contracts))
    contract_jobs: list[tuple[int, int, int, str]] = []  # job pk, client pk, budget, status
    status_counts: dict[str, int] = defaultdict(int)
    for start in range(0, jobs, BATCH):
        size = min(BATCH, jobs - start)
        batch_jobs, batch_needs = [], []
        for position in range(start, start + size):
            category = weighted(rng, categories)
            if position in contract_positions:
                status = "in_progress" if rng.random() < 0.6 else "completed"
            else:
                status = weighted(rng, OPEN_JOB_STATUSES)
            status_counts[status] += 1
            # Published jobs are open (published in the last 29 days, 30 days to bid);
            # the others are spread over the last two years.
            age_days = rng.uniform(0, 29) if status == "published" else rng.uniform(1, 730)
            published_at = (
                now - datetime.timedelta(days=age_days)
                if status not in ("draft", "submitted", "rejected")
                else None
            )
            opened = (published_at or now - datetime.timedelta(days=age_days)).astimezone(
                timezone.get_current_timezone()
            )
            closes_on = opened.date() + datetime.timedelta(days=30)
            if status == "published":
                closes_on = max(closes_on, today)
            title = f"{rng.choice(TITLE_SUBJECTS[category])} pour {rng.choice(TITLE_CLIENTS)}"
            description = " ".join(rng.sample(DESCRIPTION_SENTENCES, rng.randint(2, 5)))
            picked: list[int] = []
            while len(picked) < rng.randint(2, 5):
                skill = rng.choices(shuffled, cum_weights=skill_weights)[0]
                if skill not in picked:
                    picked.append(skill)
            essential = min(len(picked), rng.randint(1, 3))
            labels = " ".join(f"{label_en} {label_fr}" for _pk, label_en, label_fr in picked)
            wanted = ["fr"] + [
                code for code, weight in extra_languages if rng.random() * 100 < weight
            ]
            job_budget = budget(rng)
            batch_jobs.append(
                Job(
                    client_id=rng.choice(client_ids),
                    title=title,
                    description=description,
                    description_html=f"<p>{description}</p>",
                    category=category,
                    commune=rng.choices(commune_keys, cum_weights=commune_weights)[0],
                    work_mode=weighted(rng, WORK_MODES),
                    status=status,
                    status_changed_at=published_at or opened,
                    submitted_at=None
                    if status == "draft"
                    else opened - datetime.timedelta(hours=6),
                    published_at=published_at,
                    closes_on=closes_on,
                    search_text=normalise(f"{title} {description} {labels}"),
                    **job_budget,
                )
            )
            batch_needs.append((picked, essential, wanted, position in contract_positions))
        with transaction.atomic():
            created = fast_insert(batch_jobs)
            skill_needs, language_needs = [], []
            for job, (picked, essential, wanted, has_contract) in zip(
                created, batch_needs, strict=True
            ):
                for index, (skill_id, _en, _fr) in enumerate(picked):
                    skill_needs.append(
                        JobSkill(
                            job=job,
                            skill_id=skill_id,
                            importance="essential" if index < essential else "nice",
                            min_level=rng.choice(["beginner", "intermediate", "advanced"]),
                            job_essential_count=essential if index < essential else 0,
                        )
                    )
                for code in wanted:
                    language_needs.append(
                        JobLanguage(
                            job=job,
                            language_id=languages[code],
                            min_level=rng.choice(["A2", "B1", "B2"]),
                        )
                    )
                if has_contract:
                    contract_jobs.append((job.pk, job.client_id, job.budget_cents, job.status))
            fast_insert(skill_needs)
            fast_insert(language_needs)
            if connection.vendor == "postgresql":
                # The vector the services keep (services.jobs._refresh_search), in one
                # statement per batch: title A, description B, skill labels B.
                with connection.cursor() as cursor:
                    cursor.execute(
                        """
                        UPDATE marketplace_job AS j SET search_vector =
                            setweight(to_tsvector(%s::regconfig, j.title), 'A')
                            || setweight(to_tsvector(%s::regconfig, j.description), 'B')
                            || setweight(to_tsvector(%s::regconfig, coalesce(labels.text, '')), 'B')
                        FROM (
                            SELECT js.job_id, string_agg(s.label_en || ' ' || s.label_fr, ' ')
                                AS text
                            FROM marketplace_jobskill js JOIN matching_skill s ON s.id = js.skill_id
                            WHERE js.job_id BETWEEN %s AND %s GROUP BY js.job_id
                        ) AS labels
                        WHERE labels.job_id = j.id
                        """,
                        [SEARCH_CONFIG] * 3 + [created[0].pk, created[-1].pk],
                    )
        if (start // BATCH) % 20 == 19:
            print(f"    jobs {start + size:,}/{jobs:,}", flush=True)
    timer.lap(f"{jobs:,} jobs with skills, languages, search vectors", jobs)

    # --- Bids and contracts ------------------------------------------------------------------
    rate_bp = solidarity_rate_in_force(today)
    member_weights = zipf_weights(len(member_ids), 0.6)
    contract_rows = []  # (contract, milestones)
    for start in range(0, len(contract_jobs), BATCH):
        chunk = contract_jobs[start : start + BATCH]
        with transaction.atomic():
            chosen = rng.choices(member_ids, cum_weights=member_weights, k=len(chunk))
            prices = [max(10_000, int(budget * rng.uniform(0.7, 1.0))) for _, _, budget, _ in chunk]
            bids = fast_insert(
                Bid(
                    job_id=job_id,
                    member_id=member_id,
                    status="accepted",
                    price_cents=price,
                    start_date=today - datetime.timedelta(days=rng.randint(0, 400)),
                    cover_message="Bonjour, je peux faire ce travail.",
                )
                for (job_id, _client, _budget, _status), member_id, price in zip(
                    chunk, chosen, prices, strict=True
                )
            )
            made = fast_insert(
                Contract(
                    job_id=job_id,
                    bid=bid,
                    client_id=client_id,
                    member_id=bid.member_id,
                    status="completed" if status == "completed" else "active",
                    total_cents=bid.price_cents,
                    solidarity_rate_bp=rate_bp,
                    completed_at=now if status == "completed" else None,
                )
                for (job_id, client_id, _budget, status), bid in zip(chunk, bids, strict=True)
            )
            milestones = []
            for contract in made:
                count = rng.choice([1, 2, 2, 3, 3, 4])
                parts = [rng.uniform(1, 3) for _ in range(count)]
                amounts = [int(contract.total_cents * part / sum(parts)) for part in parts]
                amounts[-1] = contract.total_cents - sum(amounts[:-1])
                if contract.status == "completed":
                    statuses = ["released"] * count
                else:
                    # Released ones first, then the one being worked on, then the rest unpaid.
                    done = rng.randint(0, count - 1)
                    current = rng.choice(
                        ["awaiting_funding", "funded", "in_progress", "submitted", "approved"]
                    )
                    statuses = ["released"] * done + [current]
                    statuses += ["awaiting_funding"] * (count - done - 1)
                for position, (amount, status) in enumerate(
                    zip(amounts, statuses, strict=True), start=1
                ):
                    milestones.append(
                        Milestone(
                            contract=contract,
                            position=position,
                            title=f"Étape {position}",
                            amount_cents=amount,
                            due_date=today + datetime.timedelta(days=14 * position),
                            status=status,
                            submitted_at=now
                            if status in ("submitted", "approved", "released")
                            else None,
                            approved_at=now if status in ("approved", "released") else None,
                        )
                    )
            fast_insert(milestones)
        by_contract: dict[int, list] = defaultdict(list)
        for milestone in milestones:
            by_contract[milestone.contract_id].append(milestone)
        contract_rows += [(contract, by_contract[contract.pk]) for contract in made]
    milestone_count = sum(len(ms) for _c, ms in contract_rows)
    timer.lap(
        f"{len(contract_rows):,} contracts, {milestone_count:,} milestones", len(contract_rows)
    )

    # --- Payments, payouts, ledger -----------------------------------------------------------
    paid = [
        (contract, milestone)
        for contract, milestones in contract_rows
        for milestone in milestones
        if milestone.status in HELD_STATES or milestone.status == "released"
    ]
    vat = VatTreatment(category="S", rate_bp=STANDARD_VAT_BP)
    payments: list[Payment] = []
    for contract, milestone in paid:
        gross = gross_for(milestone.amount_cents, vat)
        payments.append(
            Payment(
                milestone=milestone,
                client_id=contract.client_id,
                method=weighted(
                    rng,
                    [
                        (PaymentMethod.CARD, 50),
                        (PaymentMethod.BANCONTACT, 20),
                        (PaymentMethod.BANK_TRANSFER, 30),
                    ],
                ),
                status=PaymentStatus.SUCCEEDED,
                net_cents=gross.net_cents,
                vat_cents=gross.vat_cents,
                gross_cents=gross.gross_cents,
                vat_category=vat.category,
                vat_rate_bp=vat.rate_bp,
                funded_milestone=True,
                succeeded_at=now,
            )
        )
    # Postings as (key, kind, contract, milestone, [(account code, cents)]).
    postings: list[tuple] = []
    account_meta: dict[str, dict] = {}

    def account(kind: str, *, contract=None, member_id=None) -> str:
        if kind == AccountKind.CLIENT_FUNDS_HELD:
            code = f"{kind}:contract:{contract.pk}"
        elif kind == AccountKind.MEMBER_PAYABLE:
            code = f"{kind}:member:{member_id}"
        else:
            code = kind
        account_meta.setdefault(
            code,
            {
                "kind": kind,
                "contract_id": contract.pk if kind == AccountKind.CLIENT_FUNDS_HELD else None,
                "member_id": member_id if kind == AccountKind.MEMBER_PAYABLE else None,
                "allow_negative": kind in (AccountKind.STRIPE_CLEARING, AccountKind.BANK),
            },
        )
        return code

    released_to: dict[int, int] = defaultdict(int)
    with transaction.atomic():
        fast_insert(payments)
        for payment, (contract, milestone) in zip(payments, paid, strict=True):
            clearing = (
                AccountKind.BANK
                if payment.method == PaymentMethod.BANK_TRANSFER
                else AccountKind.STRIPE_CLEARING
            )
            postings.append(
                (
                    f"funding-payment-{payment.pk}",
                    TransactionKind.FUNDING,
                    contract,
                    milestone,
                    [
                        (account(clearing), -payment.gross_cents),
                        (
                            account(AccountKind.CLIENT_FUNDS_HELD, contract=contract),
                            payment.net_cents,
                        ),
                        (account(AccountKind.VAT_PAYABLE), payment.vat_cents),
                    ],
                )
            )
            if milestone.status == "released":
                split = release_split(milestone.amount_cents, contract.solidarity_rate_bp)
                postings.append(
                    (
                        f"release-milestone-{milestone.pk}",
                        TransactionKind.RELEASE,
                        contract,
                        milestone,
                        [
                            (
                                account(AccountKind.CLIENT_FUNDS_HELD, contract=contract),
                                -milestone.amount_cents,
                            ),
                            (account(AccountKind.SOLIDARITY_FUND), split.solidarity_cents),
                            (
                                account(AccountKind.MEMBER_PAYABLE, member_id=contract.member_id),
                                split.member_cents,
                            ),
                        ],
                    )
                )
                released_to[contract.member_id] += split.member_cents
        # Payouts: about 60 % of the members with earnings were paid what they had, by SEPA
        # files of up to 500 lines, all sent.
        payees = sorted(member for member, cents in released_to.items() if cents > 0)
        payees = [member for member in payees if rng.random() < 0.6]
        lines: list[PayoutLine] = []
        for number, start in enumerate(range(0, len(payees), 500), start=1):
            chunk = payees[start : start + 500]
            batch = PayoutBatch.objects.create(
                rail=PayoutRail.SEPA,
                status=PayoutBatchStatus.SENT,
                message_id=f"GEN-{seed}-{number}",
                execution_date=today,
                total_cents=sum(released_to[member] for member in chunk),
                created_by=validator,
                sent_by=validator,
                sent_at=now,
            )
            lines += fast_insert(
                PayoutLine(
                    batch=batch,
                    kind=PayoutLineKind.MEMBER,
                    member_id=member,
                    name=f"Member {member}",
                    iban="BE71096123456769",
                    amount_cents=released_to[member],
                    end_to_end_id=f"GEN-{seed}-{number}-{index}",
                    status=PayoutLineStatus.SENT,
                )
                for index, member in enumerate(chunk, start=1)
            )
        for line in lines:
            payable = account(AccountKind.MEMBER_PAYABLE, member_id=line.member_id)
            transit = account(AccountKind.PAYOUTS_IN_TRANSIT)
            postings.append(
                (
                    f"payout-exported-line-{line.pk}",
                    TransactionKind.PAYOUT_EXPORTED,
                    None,
                    None,
                    [(payable, -line.amount_cents), (transit, line.amount_cents)],
                )
            )
            postings.append(
                (
                    f"payout-sent-line-{line.pk}",
                    TransactionKind.PAYOUT_SENT,
                    None,
                    None,
                    [(transit, -line.amount_cents), (account(AccountKind.BANK), line.amount_cents)],
                )
            )
        balances: dict[str, int] = defaultdict(int)
        for _key, _kind, _contract, _milestone, entry_lines in postings:
            assert sum(cents for _code, cents in entry_lines) == 0, "an unbalanced posting"
            for code, cents in entry_lines:
                balances[code] += cents
        existing = dict(LedgerAccount.objects.values_list("code", "pk"))
        fast_insert(
            [
                LedgerAccount(code=code, balance_cents=balances[code], **meta)
                for code, meta in account_meta.items()
                if code not in existing
            ],
        )
        for code in account_meta.keys() & existing.keys():  # global accounts already there
            LedgerAccount.objects.filter(code=code).update(balance_cents=balances[code])
        account_ids = dict(
            LedgerAccount.objects.filter(code__in=list(account_meta)).values_list("code", "pk")
        )
        entries_written = 0
        for start in range(0, len(postings), BATCH):
            chunk = postings[start : start + BATCH]
            posted = fast_insert(
                LedgerTransaction(
                    idempotency_key=key,
                    kind=kind,
                    memo=f"generated ({kind})",
                    contract=contract,
                    milestone=milestone,
                )
                for key, kind, contract, milestone, _lines in chunk
            )
            entries = [
                LedgerEntry(transaction=tx, account_id=account_ids[code], amount_cents=cents)
                for tx, (_k, _kind, _c, _m, entry_lines) in zip(posted, chunk, strict=True)
                for code, cents in entry_lines
            ]
            fast_insert(entries)
            entries_written += len(entries)
    timer.lap(
        f"{len(payments):,} payments, {len(lines):,} payouts, {len(postings):,} ledger tx",
        entries_written,
    )
    # Fresh statistics and visibility map (VACUUM cannot run inside a transaction: a test's).
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timer.lap("VACUUM ANALYZE")
    return {
        "clients": clients,
        "members": members,
        "jobs": jobs,
        "statuses": dict(sorted(status_counts.items())),
        "contracts": len(contract_rows),
        "milestones": milestone_count,
        "payments": len(payments),
        "payout_lines": len(lines),
        "ledger_transactions": len(postings),
        "ledger_entries": entries_written,
        "seconds": timer.total(),
        "database": settings.DATABASES["default"]["NAME"],
    }


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=None, help="default: jobs / 20")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-if-present", action="store_true")
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--no-ledger-check", action="store_true")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from marketplace.models import User

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    if not args.no_migrate:
        call_command("migrate", verbosity=0)
    if User.objects.filter(email=f"client0@{BENCH_DOMAIN}").exists():
        if args.skip_if_present:
            print("Generated data already present: nothing to do.")
            return None
        raise SystemExit("This database already holds generated data: use a fresh one.")
    summary = generate(
        jobs=args.jobs,
        members=args.members,
        contracts=args.contracts,
        seed=args.seed,
        clients=args.clients,
    )
    print(
        f"Generated {summary['jobs']:,} jobs {summary['statuses']}, {summary['members']:,} "
        f"members, {summary['clients']:,} clients, {summary['contracts']:,} contracts, "
        f"{summary['milestones']:,} milestones, {summary['payments']:,} payments, "
        f"{summary['payout_lines']:,} payout lines, {summary['ledger_transactions']:,} ledger "
        f"transactions ({summary['ledger_entries']:,} entries) in {summary['seconds']:.1f} s"
    )
    if not args.no_ledger_check:
        started = time.perf_counter()
        call_command("ledger_check")
        print(f"ledger_check passed in {time.perf_counter() - started:.1f} s")
    return summary


if __name__ == "__main__":
    main()
