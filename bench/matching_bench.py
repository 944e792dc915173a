#!/usr/bin/env python3
"""Matching benchmark: top-20 members for a job, and top-20 jobs for a member.

Run by hand (not a test); it prints its figures.

    # PostgreSQL (the target: p95 <= 20 ms each on a 2-core machine)
    DATABASE_URL=postgres://root@127.0.0.1:5432/sirius_bench .venv/bin/python bench/matching_bench.py
    # SQLite (slower, must run)
    .venv/bin/python bench/matching_bench.py --members 5000 --jobs 10000

It migrates the database named by DATABASE_URL (default: var/bench.sqlite3), generates members
(5 validated skills each, 1-3 languages) and published jobs from a fixed seed unless they are
already there, then times `rank_members_for_job` and `rank_jobs_for_member` in process and
counts their queries.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
BENCH_DOMAIN = "bench.sirius.invalid"


def generate(members: int, jobs: int, seed: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from marketplace.models import ClientProfile, Job, JobLanguage, JobSkill, MemberProfile, User
    from matching.models import Language, MemberLanguage, Skill, SkillClaim
    from matching.search import normalise

    rng = random.Random(seed)
    skills = list(Skill.objects.values_list("pk", flat=True))
    languages = {language.code: language.pk for language in Language.objects.all()}
    others = [code for code in languages if code != "fr"]
    now = timezone.now()
    validator, _ = User.objects.get_or_create(
        email=f"validator@{BENCH_DOMAIN}", defaults={"is_validator": True, "password": "!"}
    )
    have = MemberProfile.objects.filter(user__email__endswith=BENCH_DOMAIN).count()
    batch = 2000
    for start in range(have, members, batch):
        size = min(batch, members - start)
        with transaction.atomic():
            users = User.objects.bulk_create(
                User(email=f"member{start + i}@{BENCH_DOMAIN}", password="!", is_member=True)
                for i in range(size)
            )
            profiles = MemberProfile.objects.bulk_create(
                MemberProfile(
                    user=user,
                    display_name=f"Member {start + i}",
                    membership_status="member",
                    availability=rng.choice(["available"] * 4 + ["partly", "unavailable"]),
                )
                for i, user in enumerate(users)
            )
            claims, spoken = [], []
            for profile in profiles:
                for skill_id in rng.sample(skills, 5):
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
                for code in rng.sample(others, rng.randint(0, 2)):
                    spoken.append(
                        MemberLanguage(
                            member=profile,
                            language_id=languages[code],
                            level=rng.choice(["A2", "B1", "B2", "C2"]),
                        )
                    )
            SkillClaim.objects.bulk_create(claims, batch_size=5000)
            MemberLanguage.objects.bulk_create(spoken, batch_size=5000)
        print(f"  members: {start + size}/{members}", flush=True)

    client, _ = User.objects.get_or_create(
        email=f"client@{BENCH_DOMAIN}", defaults={"is_client": True, "password": "!"}
    )
    ClientProfile.objects.get_or_create(user=client, defaults={"kind": "individual"})
    have = Job.objects.filter(client=client).count()
    for start in range(have, jobs, batch):
        size = min(batch, jobs - start)
        with transaction.atomic():
            created = Job.objects.bulk_create(
                Job(
                    client=client,
                    title=f"Job {start + i}",
                    description="Bench job",
                    description_html="<p>Bench job</p>",
                    search_text=normalise(f"job {start + i} bench"),
                    category="showcase",
                    budget_type="fixed",
                    budget_min_cents=100000,
                    budget_max_cents=200000,
                    budget_cents=200000,
                    commune="liege",
                    status="published",
                    published_at=now,
                )
                for i in range(size)
            )
            needs, wanted = [], []
            for job in created:
                picked = rng.sample(skills, rng.randint(2, 4))
                for position, skill_id in enumerate(picked):
                    needs.append(
                        JobSkill(
                            job=job,
                            skill_id=skill_id,
                            importance="essential" if position < 2 else "nice",
                            min_level="intermediate",
                            job_essential_count=2 if position < 2 else 0,
                        )
                    )
                wanted.append(JobLanguage(job=job, language_id=languages["fr"], min_level="B1"))
            JobSkill.objects.bulk_create(needs, batch_size=5000)
            JobLanguage.objects.bulk_create(wanted, batch_size=5000)
        print(f"  jobs: {start + size}/{jobs}", flush=True)


def measure(label: str, call, samples: list) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    timings, queries, sizes = [], [], []
    for sample in samples:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = call(sample)
            timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        sizes.append(len(result))
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"{label:<28} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   "
        f"queries {min(queries)}-{max(queries)}   results {min(sizes)}-{max(sizes)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from marketplace.models import Job, MemberProfile
    from matching.candidates import rank_jobs_for_member, rank_members_for_job

    print(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate(args.members, args.jobs, args.seed)
    if connection.vendor == "postgresql":
        # Fresh statistics, and a visibility map so that index-only scans are possible.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"Data ready in {time.perf_counter() - started:.0f} s")

    rng = random.Random(args.seed + 1)
    job_ids = list(Job.objects.filter(status="published").values_list("pk", flat=True))
    member_ids = list(
        MemberProfile.objects.filter(user__email__endswith=BENCH_DOMAIN).values_list(
            "pk", flat=True
        )
    )
    jobs = list(Job.objects.filter(pk__in=rng.sample(job_ids, min(args.samples, len(job_ids)))))
    members = list(
        MemberProfile.objects.filter(
            pk__in=rng.sample(member_ids, min(args.samples, len(member_ids)))
        )
    )
    print(f"{len(member_ids)} members, {len(job_ids)} published jobs, {args.samples} samples each")
    for job in jobs[:5]:
        rank_members_for_job(job, limit=20)  # warm-up
    measure("top-20 members for a job", lambda job: rank_members_for_job(job, limit=20), jobs)
    measure(
        "top-20 jobs for a member", lambda member: rank_jobs_for_member(member, limit=20), members
    )
    print("Target: p95 <= 20 ms each on PostgreSQL (2 cores), a bounded number of queries.")


if __name__ == "__main__":
    main()
