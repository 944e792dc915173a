#!/usr/bin/env python3
"""HTTP benchmark of the public and member pages, against gunicorn on loopback. Run by hand.

    DATABASE_URL=postgres://root@127.0.0.1:5432/sirius_bench REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/http_bench.py --generate --duration 10

What it does, in order:
1. (--generate) migrates and fills the database with bench/generate.py unless it already holds
   generated data; (--migrate) only migrates.
2. Starts gunicorn (config/gunicorn.py: sync workers, 2 by default) with DEBUG off, PostgreSQL,
   the Redis cache and persistent database connections, on a free loopback port.
3. Checks every page answers 200 with what it should show, warms each up, then loads each with
   wrk (32 connections, --latency) for --duration seconds: the floor (/health/live/, a bare
   "ok" of the same project), the job board's first page, a filtered search (skill + commune +
   words), a job's page, the jobs API list, a member's dashboard (logged in with a session made
   for a generated member). Two rows for information only: the board's first page and a job
   page for a visitor the page cache does not serve (a session cookie), i.e. the cost of a render.
4. Prints requests/s, p50, p99, the ratio to the floor measured in the same run, the target and
   PASS/FAIL. The ratio is the figure that holds across machines: wrk shares the CPUs.
5. (unless --no-proxy) The same against two gunicorn processes (--proxy-workers each) on two
   ports behind bench/round_robin_proxy.py, after checking, request by request on fresh
   connections, that the logged-in dashboard answers on both back ends; prints what each back
   end served.
6. (unless --no-explain) EXPLAIN (ANALYZE, BUFFERS) of the queries each page runs on a render,
   captured from the views themselves (the page cache switched off for the capture).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
DEFAULT_DATABASE = "postgres://root@127.0.0.1:5432/sirius_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PROXY = str(ROOT / "bench" / "round_robin_proxy.py")


def bench_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The app servers' environment: production-like, on loopback without TLS."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "DB_CONN_MAX_AGE": "600",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        # No collectstatic in a bench run: plain static URLs (the pages' HTML is the same).
        "SIRIUS_PLAIN_STATIC": "true",
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_LOG_LEVEL": "warning",
        # No worker recycling in the middle of a 10-second measurement.
        "GUNICORN_MAX_REQUESTS": "0",
        # One key space per database: the bench's databases (10k, 100k, 1M) share one Redis,
        # as two deployments would only with different prefixes.
        "CACHE_KEY_PREFIX": "sirius-bench-" + urlsplit(database_url).path.strip("/"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (loopback bench, fixed commands)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603  (loopback bench, fixed commands)
        [GUNICORN, "-c", "python:config.gunicorn", "config.wsgi"],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
        },
    )
    wait_until_up(f"http://127.0.0.1:{port}/health/live/")
    return process


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ""


@dataclass
class Page:
    name: str
    path: str
    target: float | None  # minimum ratio to the floor
    p99_ms: float | None  # maximum p99 at 32 connections
    cookie: str = ""
    must_contain: str = ""


@dataclass
class Result:
    page: Page
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(url: str, *, cookie: str, duration: int, connections: int, threads: int = 2) -> tuple:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout=10s",  # a slow answer is measured, not dropped as a socket error
        "--latency",
        url,
    ]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603  (loopback bench, fixed commands)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return rps, p50, p99, failed


def fetch(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310  (loopback bench, fixed commands)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def pick_pages() -> tuple[list[Page], dict]:
    """Pages and the data they show, chosen from the generated rows."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db.models import Count
    from django.utils import timezone

    from marketplace.models import JobSkill, MemberProfile
    from marketplace.selectors.jobs import public_jobs

    job = public_jobs().order_by("-published_at", "-pk").values("pk", "title").first()
    if job is None:
        raise SystemExit("no published job: generate data first (--generate)")
    # A filter that finds jobs: the commonest essential skill of open jobs in the commonest
    # commune, and a word of their titles.
    commune = (
        public_jobs().values("commune").annotate(n=Count("pk")).order_by("-n").first()["commune"]
    )
    skill_id = (
        JobSkill.objects.filter(
            job__in=public_jobs().filter(commune=commune), importance="essential"
        )
        .values("skill_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()["skill_id"]
    )
    search = f"/jobs/?q=site&skill={skill_id}&commune={commune}"
    member = (
        MemberProfile.objects.filter(user__email__startswith="member", availability="available")
        .select_related("user")
        .order_by("pk")
        .first()
    )
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    session[SESSION_KEY] = str(member.user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = member.user.get_session_auth_hash()
    session.set_expiry(24 * 3600)
    session.create()
    member_cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    # A cookie the page cache does not serve (it only serves requests without a session).
    uncached = f"{settings.SESSION_COOKIE_NAME}=nosuchsession"
    pages = [
        Page("floor /health/live/", "/health/live/", None, None, must_contain="ok"),
        Page("job board, page 1", "/jobs/", 0.25, 150, must_contain="job-cards"),
        Page("job detail", f"/jobs/{job['pk']}/", 0.25, 150, must_contain='id="job-title"'),
        Page("filtered search", search, 0.08, 300, must_contain="job-cards"),
        Page("jobs API list", "/api/jobs/", 0.08, 300, must_contain='"results"'),
        Page(
            "member dashboard",
            "/dashboard/",
            0.08,
            300,
            cookie=member_cookie,
            # The member's own section, with jobs in it: logged in, and ranked.
            must_contain='<ol class="recommended">',
        ),
        Page(
            "(info) board, uncached",
            "/jobs/",
            None,
            None,
            cookie=uncached,
            must_contain="job-cards",
        ),
        Page(
            "(info) detail, uncached",
            f"/jobs/{job['pk']}/",
            None,
            None,
            cookie=uncached,
            must_contain='id="job-title"',
        ),
    ]
    facts = {
        "job": job["pk"],
        "search": search,
        "member": member.pk,
        "member_user": member.user.pk,
        "member_cookie": member_cookie,
        "today": timezone.localdate().isoformat(),
    }
    return pages, facts


def fits_keys(facts: dict) -> list[str]:
    """The member's cached fits in every language: dropped so that a render ranks again."""
    from django.conf import settings

    return [f"sirius:member:{facts['member']}:fits:{code}" for code, _name in settings.LANGUAGES]


def check_pages(base: str, pages: list[Page]) -> None:
    for page in pages:
        status, body = fetch(base + page.path, page.cookie)
        if status != 200 or page.must_contain not in body:
            raise SystemExit(
                f"{page.name}: {base + page.path} answered {status} without the expected content"
            )


def measure(
    base: str,
    pages: list[Page],
    *,
    duration: int,
    connections: int,
    label: str,
    judged: bool = True,
) -> list[Result]:
    print(f"\n== {label}: {connections} connections, {duration} s per page ==", flush=True)
    results = []
    for page in pages:
        run_wrk(
            base + page.path, cookie=page.cookie, duration=2, connections=connections
        )  # warm-up
        rps, p50, p99, errors = run_wrk(
            base + page.path, cookie=page.cookie, duration=duration, connections=connections
        )
        results.append(Result(page, rps, p50, p99, errors))
        print(
            f"  measured {page.name:<28} {rps:9.0f} req/s   load average {load_average()}",
            flush=True,
        )
    print_table(results, judged=judged)
    return results


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: the run is only meaningful on a quiet machine."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_table(results: list[Result], *, judged: bool = True) -> None:
    """judged=False: the targets are shown, and whether the figures meet them, for information
    (the targets are set for one server; see the proxy run in main())."""
    floor = results[0].rps
    print(
        f"{'page':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} "
        f"{'target':>16} {'errors':>7}  result"
    )
    for r in results:
        ratio = r.rps / floor
        if r.page.target is None:
            target, verdict = "", "floor" if r is results[0] else "info"
        else:
            target = f">={r.page.target:.0%}, p99<={r.page.p99_ms:.0f}"
            ok = ratio >= r.page.target and r.p99_ms <= r.page.p99_ms and r.errors == 0
            verdict = ("PASS" if ok else "FAIL") if judged else ("(meets)" if ok else "(misses)")
        print(
            f"{r.page.name:<28} {r.rps:8.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {ratio:7.1%} "
            f"{target:>16} {r.errors:7d}  {verdict}"
        )


def check_shared_sessions(proxy_base: str, facts: dict, display_name: str, rounds: int = 6) -> None:
    """Each urllib request opens a new connection: the proxy alternates the back ends."""
    for attempt in range(rounds):
        status, body = fetch(proxy_base + "/dashboard/", facts["member_cookie"])
        if status != 200 or display_name not in body:
            raise SystemExit(f"dashboard through the proxy, request {attempt}: {status}")
    print(f"  logged-in dashboard answered 200 for the member on {rounds} fresh connections")


def explain_pages(pages: list[Page], facts: dict) -> None:
    """Render each page in process with the page cache off, capture its SQL, and EXPLAIN the
    queries that read jobs (the others are single-row lookups by key)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from marketplace.models import User

    print("\n== EXPLAIN (ANALYZE, BUFFERS) of the queries each page runs when it renders ==")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    member_client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    member_client.force_login(User.objects.get(pk=facts["member_user"]))
    wanted = [page for page in pages if page.target is not None]
    with override_settings(SIRIUS_PAGE_CACHE=False):
        for page in wanted:
            from django.core.cache import cache

            cache.delete_many(fits_keys(facts))
            browser = member_client if page.cookie else client
            with CaptureQueriesContext(connection) as captured:
                response = browser.get(page.path)
            queries = captured.captured_queries
            print(
                f"\n-- {page.name} {page.path}: HTTP {response.status_code}, {len(queries)} queries"
            )
            for query in queries:
                sql = query["sql"]
                heavy = re.search(
                    r'FROM "(marketplace_job|marketplace_jobskill|marketplace_joblanguage)"', sql
                )
                if not heavy or not sql.lstrip().upper().startswith("SELECT"):
                    print(f"   {float(query['time']) * 1000:6.2f} ms  {sql[:150]}")
                    continue
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = [row[0] for row in cursor.fetchall()]
                print(f"   {float(query['time']) * 1000:6.2f} ms  {sql[:600]}")
                for line in plan:
                    print(f"        {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--generate", action="store_true", help="migrate and generate if empty")
    parser.add_argument("--migrate", action="store_true")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--proxy-workers", type=int, default=1)
    parser.add_argument("--no-proxy", action="store_true")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument(
        "--only", default="", help="comma-separated page names to keep (floor always)"
    )
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")

    env = bench_environment(args.database_url, args.redis_url)
    os.environ.update(env)
    if args.generate:
        import generate

        generate.main(
            [
                f"--jobs={args.jobs}",
                f"--members={args.members}",
                f"--contracts={args.contracts}",
                f"--seed={args.seed}",
                "--skip-if-present",
            ]
        )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if args.migrate:
        call_command("migrate", verbosity=0)
    from marketplace import page_cache
    from marketplace.models import Job

    page_cache.jobs_changed()  # start from a cold page cache
    pages, facts = pick_pages()
    if args.only:
        keep = {name.strip() for name in args.only.split(",")}
        pages = [pages[0]] + [page for page in pages[1:] if page.name in keep]
    display_name = next((p.must_contain for p in pages if p.path == "/dashboard/"), "")
    job_count = Job.objects.count()
    print(
        f"Database {connection.settings_dict['NAME']}: {job_count:,} jobs; "
        f"cache {args.redis_url}; gunicorn {args.workers} sync workers; wrk {args.connections} "
        f"connections; {os.cpu_count()} CPUs shared by server, database and wrk; "
        f"load average at start {load_average()}"
    )
    print(f"Pages: job {facts['job']}, search {facts['search']}, member {facts['member']}")
    connection.close()

    port = free_port()
    server = start_gunicorn(port, args.workers, env)
    try:
        base = f"http://127.0.0.1:{port}"
        check_pages(base, pages)
        single = measure(
            base,
            pages,
            duration=args.duration,
            connections=args.connections,
            label=f"one gunicorn, {args.workers} workers",
        )
    finally:
        stop(server)

    if not args.no_proxy:
        ports = [free_port(), free_port()]
        servers = [start_gunicorn(p, args.proxy_workers, env) for p in ports]
        proxy_port = free_port()
        proxy = subprocess.Popen(  # noqa: S603  (loopback bench, fixed commands)
            [sys.executable, PROXY, f"--listen=127.0.0.1:{proxy_port}"]
            + [f"--backend=127.0.0.1:{p}" for p in ports],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            proxy_base = f"http://127.0.0.1:{proxy_port}"
            wait_until_up(proxy_base + "/health/live/")
            check_pages(proxy_base, pages)
            if display_name:
                check_shared_sessions(proxy_base, facts, display_name)
            measure(
                proxy_base,
                pages,
                duration=args.duration,
                connections=args.connections,
                label=f"two gunicorn processes ({args.proxy_workers} worker each) behind the round-robin proxy",
                # What this run shows is that two servers behave as one (shared sessions,
                # cache, page cache); its speed is that of a Python proxy sharing the two CPUs
                # with three server processes, wrk and PostgreSQL, not a load balancer's: the
                # targets are judged on the single-server run above.
                judged=False,
            )
        finally:
            out = stop(proxy)
            for process in servers:
                stop(process)
        stats = json.loads(out.strip().splitlines()[-1])
        print(
            "Back ends served:",
            ", ".join(
                f"{k}: {v['connections']} connections, {v['bytes'] / 1e6:.1f} MB"
                for k, v in stats.items()
            ),
        )
        served = [v["connections"] for v in stats.values()]
        print("Both back ends served requests:", "PASS" if all(served) else "FAIL")

    renders = render_times(pages, facts)
    if not args.no_explain:
        explain_pages(pages, facts)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "jobs": job_count,
                    "pages": {
                        r.page.name: {
                            "rps": r.rps,
                            "p50_ms": r.p50_ms,
                            "p99_ms": r.p99_ms,
                            "ratio": r.rps / single[0].rps,
                        }
                        for r in single
                    },
                    "render_ms": renders,
                }
            )
        )
    return single


def render_times(pages: list[Page], facts: dict, runs: int = 5) -> dict[str, dict]:
    """Each page rendered in process with the page cache off: the median time of a render and
    of its SQL (what a visitor the cache cannot serve costs, and how it grows with the data)."""
    import statistics

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from marketplace.models import User

    client = Client()
    member_client = Client()
    member_client.force_login(User.objects.get(pk=facts["member_user"]))
    figures = {}
    print("\n== A render without the page cache (in process, median of 5) ==")
    with override_settings(SIRIUS_PAGE_CACHE=False):
        for page in pages[1:]:
            if page.name.startswith("(info)"):
                continue
            browser = member_client if page.cookie else client
            totals, sql = [], []
            for _ in range(runs):
                cache.delete_many(fits_keys(facts))
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    browser.get(page.path)
                    totals.append((time.perf_counter() - started) * 1000)
                sql.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            figures[page.name] = {
                "render_ms": statistics.median(totals),
                "sql_ms": statistics.median(sql),
                "queries": len(captured.captured_queries),
            }
            print(
                f"  {page.name:<28} {statistics.median(totals):8.1f} ms, of which SQL "
                f"{statistics.median(sql):7.1f} ms in {len(captured.captured_queries)} queries"
            )
    return figures


if __name__ == "__main__":
    main()
