"""The job board's first load, in Chromium with an empty cache, weighs at most 150 KB (htmx
included), with a full page of jobs.

What is measured: every response of the first load (document, CSS, htmx, favicon…), its headers
and its body as they crossed the wire (Playwright's ``request.sizes()``, i.e. Chromium's own
accounting). The live server of the tests sends static files uncompressed, whereas production
serves them through WhiteNoise, which sends the Brotli (or gzip) copy it made at collectstatic
when the browser accepts it, as Chromium does. So two totals are printed: as measured here, and
as production would send it (static bodies replaced by their Brotli size, computed with
WhiteNoise's own compressor; the HTML document stays uncompressed, as Django sends it without a
compressing proxy). The budget is asserted on both: the production figure is what users get, the
measured one guards against a regression that compression would hide.

Skipped (with a reason) when /usr/bin/chromium is absent."""

import os

import pytest
from playwright.sync_api import Browser
from whitenoise.compress import Compressor

from marketplace.selectors.jobs import PAGE_SIZE
from tests.browser_support import TIMEOUT_MS, new_page
from tests.factories import ClientFactory, JobFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BUDGET_BYTES = 150 * 1024


def whitenoise_body_size(body: bytes, path: str) -> int:
    """What WhiteNoise would send for this static file to a browser that accepts Brotli: the
    smallest of the copies its compressor writes (it keeps a copy only when it saves 5 %)."""
    compressor = Compressor(quiet=True)
    sizes = [len(body)]
    if compressor.should_compress(path):
        if compressor.use_brotli:
            sizes.append(len(compressor.compress_brotli(body)))
        if compressor.use_gzip:
            sizes.append(len(compressor.compress_gzip(body)))
    return min(sizes)


def test_the_job_board_first_load_is_at_most_150_kb(live_server, browser: Browser, request):
    # Given more than a page of published jobs, with realistic titles and descriptions
    clients = [ClientFactory() for _ in range(5)]
    for number in range(PAGE_SIZE + 5):
        JobFactory(
            client=clients[number % 5],
            title=f"Refonte du site de l’asbl « Quartier vivant » n°{number}",
            description=(
                "Nous voulons un site **accessible**, bilingue français-néerlandais, avec un "
                "agenda des activités, une page de dons et un formulaire de contact. "
                "Hébergement chez un fournisseur local si possible. " * 3
            ),
        )

    page = new_page(browser, live_server.url, request=request)
    page.set_default_timeout(TIMEOUT_MS)
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))

    # When a visitor opens the board with an empty cache
    page.goto("/jobs/", wait_until="networkidle")
    assert page.locator("main ol.job-cards > li").count() == PAGE_SIZE

    # Then everything that crossed the wire weighs at most 150 KB
    rows = []
    for request in responses:
        sizes = request.sizes()
        response = request.response()
        path = request.url.removeprefix(live_server.url)
        headers = sizes["responseHeadersSize"]
        measured = headers + sizes["responseBodySize"]
        production = measured
        if path.startswith("/static/"):
            production = headers + whitenoise_body_size(response.body(), path.split("?")[0])
        rows.append((path, response.status, measured, production))

    measured_total = sum(row[2] for row in rows)
    production_total = sum(row[3] for row in rows)
    print("\nJob board, first load with an empty cache (bytes, headers included):")
    print(f"  {'resource':<60} {'status':>6} {'measured':>9} {'production':>10}")
    for path, status, measured, production in rows:
        print(f"  {path[:60]:<60} {status:>6} {measured:>9} {production:>10}")
    print(
        f"  {'total':<60} {'':>6} {measured_total:>9} {production_total:>10}"
        f"   (budget {BUDGET_BYTES})"
    )
    assert any("htmx" in row[0] for row in rows), "htmx is part of the first load"
    assert all(row[1] == 200 for row in rows), rows
    assert production_total <= BUDGET_BYTES
    assert measured_total <= BUDGET_BYTES
