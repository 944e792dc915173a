#!/usr/bin/env python3
"""CPU cost of an anonymous page-cache hit, in process, and where it goes. Run by hand.

    .venv/bin/python bench/profile_hit.py [--database-url ...] [--redis-url ...] [--profile]

Calls the WSGI application (the whole middleware stack, DEBUG off, PostgreSQL, the Redis
cache) as gunicorn would, without a network: prints the CPU time per request of the floor,
a hit of the board and of a job page, the jobs API list and a member's dashboard (logged in);
with --profile NAME (board, job, api, dashboard), the top functions of that page under cProfile.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from http_bench import (  # noqa: E402
    DEFAULT_DATABASE,
    DEFAULT_REDIS,
    bench_environment,
    load_average,
    pick_pages,
)


def wsgi_get(application, path: str, cookie: str = "") -> tuple[str, dict]:
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status
        answer["headers"] = dict(headers)

    body = application(environ, start_response)
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return answer["status"], answer["headers"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--profile", default="", choices=["", "board", "job", "api", "dashboard"])
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = parser.parse_args()
    os.environ.update(bench_environment(args.database_url, args.redis_url))

    import django
    from django.core.wsgi import get_wsgi_application

    django.setup()
    application = get_wsgi_application()
    _pages, facts = pick_pages()
    pages = {
        "floor": ("/health/live/", ""),
        "board": ("/jobs/", ""),
        "job": (f"/jobs/{facts['job']}/", ""),
        "api": ("/api/jobs/", ""),
        "dashboard": ("/dashboard/", facts["member_cookie"]),
    }
    print(f"load average: {load_average()}")
    for name, (path, cookie) in pages.items():
        for _ in range(3):
            status, headers = wsgi_get(application, path, cookie)
        assert status.startswith("200"), (path, status)
        start = time.process_time()
        for _ in range(args.runs):
            wsgi_get(application, path, cookie)
        cpu = (time.process_time() - start) / args.runs * 1000
        print(
            f"{name:10} {path:24} {cpu:6.2f} ms CPU/request  "
            f"X-Page-Cache={headers.get('X-Page-Cache', '-')}"
        )
    # The same hits answered through the whole middleware stack (the view's decorator), as
    # before AnonymousPageCacheMiddleware: the comparison within one run, on the same CPU.
    from marketplace import page_cache

    early_hit = page_cache.AnonymousPageCacheMiddleware.hit
    page_cache.AnonymousPageCacheMiddleware.hit = lambda self, request: None
    application = get_wsgi_application()
    for name in ("floor", "board", "job", "api"):
        path, cookie = pages[name]
        for _ in range(3):
            status, headers = wsgi_get(application, path, cookie)
        start = time.process_time()
        for _ in range(args.runs):
            wsgi_get(application, path, cookie)
        cpu = (time.process_time() - start) / args.runs * 1000
        print(
            f"{name:10} {path:24} {cpu:6.2f} ms CPU/request  "
            f"X-Page-Cache={headers.get('X-Page-Cache', '-')} through the whole stack"
        )
    page_cache.AnonymousPageCacheMiddleware.hit = early_hit
    application = get_wsgi_application()
    if args.profile:
        path, cookie = pages[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            wsgi_get(application, path, cookie)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(60)


if __name__ == "__main__":
    main()
