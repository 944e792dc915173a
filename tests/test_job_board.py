"""The public job board: what it lists, its filters, search, sorting and keyset pagination."""

import base64
import dataclasses
import datetime
import json
import re

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.selectors import jobs as job_selectors
from marketplace.selectors.jobs import Cursor
from marketplace.views_board import STALE_CURSOR_MESSAGE, JobBoardForm
from matching.models import Skill
from tests.factories import ClientFactory, JobFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("job_board")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def poster():
    # One client for every job: each new user costs an Argon2 hash.
    return ClientFactory()


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(job_selectors, "PAGE_SIZE", 3)
    return 3


def titles(response) -> list[str]:
    return [card.title for card in response.context["page"].cards]


def cards_html(response) -> str:
    """The list of cards alone (the filter form names every skill and commune too)."""
    return re.search(r'<ol class="job-cards">.*?</ol>', response.content.decode(), re.S).group()


def field_errors(response, name: str) -> list[str]:
    return response.context["form"].errors.get(name, [])


def follow_pages(client, url: str, rel: str) -> tuple[list[list[str]], str]:
    """The titles of every page from url on, following the rel="next" (or "prev") links as a
    browser would; and the URL of the last page reached."""
    pages = []
    while True:
        assert len(pages) < 20, f"pagination does not end: {pages[-3:]}"
        response = client.get(url)
        assert response.status_code == 200
        pages.append(titles(response))
        link = response.context["next_url" if rel == "next" else "previous_url"]
        if not link:
            return pages, url
        url = link


# --- What the board shows -------------------------------------------------------------------


def test_only_published_visible_open_jobs_are_listed(client, poster):
    JobFactory(client=poster, title="Publié")
    JobFactory(client=poster, title="Brouillon", status="draft", published_at=None)
    JobFactory(client=poster, title="En revue", status="submitted", published_at=None)
    JobFactory(client=poster, title="Caché", is_hidden=True)
    JobFactory(client=poster, title="Expiré", status="expired")
    JobFactory(client=poster, title="Annulé", status="cancelled")
    JobFactory(client=poster, title="En cours", status="in_progress")
    # Still "published" until tonight's expiry pass, but it no longer takes bids.
    JobFactory(
        client=poster, title="Clôturé hier", closes_on=timezone.localdate() - datetime.timedelta(1)
    )

    response = client.get(BOARD)

    assert response.status_code == 200
    assert titles(response) == ["Publié"]
    for hidden in ("Brouillon", "En revue", "Caché", "Expiré", "Annulé", "En cours", "hier"):
        assert hidden not in response.content.decode()


def test_a_card_shows_what_a_member_needs_to_decide(client, poster):
    job = JobFactory(
        client=poster,
        title="Boutique en ligne pour une brasserie",
        category="eshop",
        commune="herstal",
        work_mode="remote",
        skills=[("woocommerce", "essential", "advanced"), ("figma", "nice", "beginner")],
        languages=[("fr", "B2"), ("nl", "A2")],
    )
    JobFactory(
        client=poster,
        title="Maintenance à l'heure",
        budget_type="hourly",
        budget_min_cents=None,
        budget_max_cents=None,
        hourly_rate_cents=4500,
        estimated_hours=20,
    )

    html = cards_html(client.get(BOARD))

    assert f'href="{reverse("job_detail", args=[job.pk])}"' in html
    assert "Herstal (4040)" in html
    assert "WooCommerce" in html
    assert "Figma" not in html  # nice-to-have skills stay on the detail page
    assert re.search(r"1\s500 – 2\s500 €", html)  # the French thousands separator
    assert "45 €/h \N{MULTIPLICATION SIGN} 20 h" in html
    assert "B2" in html and "A2" in html


# --- Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "wanted", "other"),
    [
        ("category=eshop", {"category": "eshop"}, {"category": "seo"}),
        ("commune=herstal", {"commune": "herstal"}, {"commune": "liege"}),
        ("language=nl", {"languages": [("nl", "B1")]}, {"languages": [("fr", "B1")]}),
        (
            "posted_since=7",
            {"published_at": timezone.now() - datetime.timedelta(days=2)},
            {"published_at": timezone.now() - datetime.timedelta(days=10)},
        ),
    ],
)
def test_each_filter_keeps_only_matching_jobs(client, poster, query, wanted, other):
    JobFactory(client=poster, title="Voulu", **wanted)
    JobFactory(client=poster, title="Autre", **other)

    assert titles(client.get(f"{BOARD}?{query}")) == ["Voulu"]


def test_skill_filter_keeps_jobs_needing_any_of_the_chosen_skills(client, poster):
    JobFactory(client=poster, title="React", skills=[("react", "essential", "advanced")])
    JobFactory(client=poster, title="Vue", skills=[("vue", "nice", "beginner")])
    JobFactory(
        client=poster,
        title="Les deux",
        skills=[("react", "essential", "advanced"), ("vue", "essential", "advanced")],
    )
    JobFactory(client=poster, title="Django", skills=[("django", "essential", "advanced")])
    react, vue = Skill.objects.get(tag="react"), Skill.objects.get(tag="vue")

    response = client.get(f"{BOARD}?skill={react.pk}&skill={vue.pk}")

    assert sorted(titles(response)) == ["Les deux", "React", "Vue"]  # each job once


def test_remote_keeps_remote_and_hybrid_jobs(client, poster):
    JobFactory(client=poster, title="À distance", work_mode="remote")
    JobFactory(client=poster, title="Mixte", work_mode="hybrid")
    JobFactory(client=poster, title="Sur place", work_mode="on_site")

    assert sorted(titles(client.get(f"{BOARD}?remote=on"))) == ["Mixte", "À distance"]


def test_budget_range_compares_the_euro_figure_of_each_job(client, poster):
    def fixed(title: str, top_euros: int) -> None:
        JobFactory(
            client=poster, title=title, budget_min_cents=50000, budget_max_cents=top_euros * 100
        )

    fixed("Mille", 1000)
    fixed("Trois mille", 3000)
    fixed("Six mille", 6000)
    JobFactory(  # 45 €/h for 60 h: 2 700 €
        client=poster,
        title="À l'heure",
        budget_type="hourly",
        budget_min_cents=None,
        budget_max_cents=None,
        hourly_rate_cents=4500,
        estimated_hours=60,
    )

    response = client.get(f"{BOARD}?budget_min=2000&budget_max=5000")

    assert sorted(titles(response)) == ["Trois mille", "À l'heure"]


@pytest.mark.parametrize("q", ["patisserie", "pâtisserie", "PÂTISSERIE", "site patisserie"])
def test_search_ignores_accents_and_case(client, poster, q):
    JobFactory(client=poster, title="Refonte du site de la pâtisserie")
    JobFactory(client=poster, title="Site vitrine d'une boulangerie")

    assert titles(client.get(BOARD, {"q": q})) == ["Refonte du site de la pâtisserie"]


def test_search_finds_words_of_the_description_and_the_skills(client, poster):
    JobFactory(client=poster, title="Projet A", description="Un atelier de céramique à Huy.")
    JobFactory(client=poster, title="Projet B", skills=[("prestashop", "essential", "advanced")])
    JobFactory(client=poster, title="Projet C")

    assert titles(client.get(BOARD, {"q": "ceramique"})) == ["Projet A"]
    assert titles(client.get(BOARD, {"q": "prestashop"})) == ["Projet B"]


@pytest.mark.postgres
def test_french_stemming_finds_plurals_and_websearch_syntax_works(client, poster):
    JobFactory(client=poster, title="Refonte du site de la pâtisserie")
    JobFactory(client=poster, title="Site vitrine d'une boulangerie")

    assert titles(client.get(BOARD, {"q": "Pâtisseries"})) == ["Refonte du site de la pâtisserie"]
    assert titles(client.get(BOARD, {"q": "site -pâtisserie"})) == [
        "Site vitrine d'une boulangerie"
    ]


@pytest.mark.postgres
def test_relevance_puts_title_matches_before_description_matches(client, poster):
    now = timezone.now()
    JobFactory(
        client=poster,
        title="Site d'un traiteur",
        description="Un menu de pâtisserie en ligne.",
        published_at=now,
    )
    JobFactory(
        client=poster,
        title="Refonte du site de la pâtisserie",
        published_at=now - datetime.timedelta(days=3),
    )

    by_relevance = titles(client.get(BOARD, {"q": "pâtisserie", "sort": "relevance"}))
    newest_first = titles(client.get(BOARD, {"q": "pâtisserie"}))

    assert by_relevance == ["Refonte du site de la pâtisserie", "Site d'un traiteur"]
    assert newest_first == ["Site d'un traiteur", "Refonte du site de la pâtisserie"]


# --- Sorting --------------------------------------------------------------------------------


def test_sorts(client, poster):
    today, now = timezone.localdate(), timezone.now()
    for title, days_ago, closes_in, top_euros in [
        ("A", 3, 20, 2000),
        ("B", 1, 5, 9000),
        ("C", 2, 40, 500),
    ]:
        JobFactory(
            client=poster,
            title=title,
            published_at=now - datetime.timedelta(days=days_ago),
            closes_on=today + datetime.timedelta(days=closes_in),
            budget_min_cents=10000,
            budget_max_cents=top_euros * 100,
        )

    def order(sort: str) -> str:
        return "".join(titles(client.get(BOARD, {"sort": sort})))

    assert order("") == order("newest") == "BCA"
    assert order("closing") == "BAC"
    assert order("budget_high") == "BAC"
    assert order("budget_low") == "CAB"


# --- Keyset pagination ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "highest_id_first"),
    [("newest", True), ("closing", False), ("budget_high", True), ("budget_low", False)],
)
def test_walking_the_pages_shows_every_job_once_even_with_equal_keys(
    client, poster, small_pages, sort, highest_id_first
):
    # Given eight jobs sharing one timestamp, closing date and budget: only the id orders them.
    same_time = timezone.now()
    for number in range(8):
        JobFactory(client=poster, title=f"Job {number}", published_at=same_time)
    by_id = [f"Job {number}" for number in range(8)]

    forward, last_page = follow_pages(client, f"{BOARD}?sort={sort}", "next")

    assert [len(page) for page in forward] == [3, 3, 2]
    assert [title for page in forward for title in page] == (
        by_id[::-1] if highest_id_first else by_id
    )
    # Walking back from the last page gives the same pages in reverse.
    backward, first_page = follow_pages(client, last_page, "prev")
    assert backward == forward[::-1]
    assert "cursor=" in first_page


def test_the_first_and_last_pages_have_no_link_beyond_them(client, poster, small_pages):
    JobFactory.create_batch(4, client=poster)

    first = client.get(BOARD)
    last = client.get(first.context["next_url"])

    assert first.context["previous_url"] == "" and 'rel="prev"' not in first.content.decode()
    assert last.context["next_url"] == "" and 'rel="next"' not in last.content.decode()
    assert len(titles(last)) == 1


def test_a_job_published_meanwhile_does_not_repeat_a_row(client, poster, small_pages):
    JobFactory.create_batch(6, client=poster)
    first = client.get(BOARD)

    JobFactory(client=poster, title="Nouveau")  # newest: it belongs before page 1
    second = client.get(first.context["next_url"])

    assert not set(titles(first)) & set(titles(second))
    assert "Nouveau" not in titles(second)


def test_going_back_after_jobs_left_shows_a_full_first_page(client, poster, small_pages):
    jobs = JobFactory.create_batch(7, client=poster)
    second = client.get(client.get(BOARD).context["next_url"])
    jobs[-1].is_hidden = True  # the newest job, on the first page, is hidden by a moderator
    jobs[-1].save()

    back = client.get(second.context["previous_url"])

    assert len(titles(back)) == 3
    assert back.context["previous_url"] == ""


@pytest.mark.postgres
def test_relevance_pages_on_the_rank_without_gaps(client, poster, small_pages):
    # Given ranks that differ (title or description matches) and ranks that are equal.
    for number in range(4):
        JobFactory(client=poster, title=f"Pâtisserie {number}")
    for number in range(3):
        JobFactory(client=poster, title=f"Traiteur {number}", description="Et une pâtisserie.")

    forward, last_page = follow_pages(client, f"{BOARD}?q=patisserie&sort=relevance", "next")
    backward, _ = follow_pages(client, last_page, "prev")

    seen = [title for page in forward for title in page]
    assert sorted(seen[:4]) == [f"Pâtisserie {number}" for number in range(4)]
    assert sorted(seen[4:]) == [f"Traiteur {number}" for number in range(3)]
    assert backward == forward[::-1]


def test_cursor_encodes_and_decodes_every_sort_key():
    moment = timezone.now()
    for cursor in [
        Cursor("newest", moment, 12),
        Cursor("closing", moment.date(), 3, backwards=True),
        Cursor("budget_high", 250000, 4),
    ]:
        assert Cursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "token", ["garbage", "", "W10", "WyJuZXdlc3QiLCAiYSIsICJ4IiwgMV0", "%%%", "a" * 50]
)
def test_cursor_rejects_anything_it_did_not_write(token):
    with pytest.raises(ValueError):
        Cursor.decode(token)


# --- Invalid values -------------------------------------------------------------------------


def test_invalid_values_get_an_error_beside_their_field_and_the_rest_still_applies(client, poster):
    JobFactory(client=poster, title="Boutique", category="eshop")
    JobFactory(client=poster, title="Vitrine", category="showcase")

    response = client.get(
        BOARD,
        {
            "category": "eshop",
            "budget_min": "beaucoup",
            "commune": "paris",
            "language": "xx",
            "skill": ["abc"],
            "posted_since": "3",
            "sort": "random",
            "cursor": "not-a-cursor",
        },
    )

    assert response.status_code == 200
    assert titles(response) == ["Boutique"]  # the valid category filter still applies
    html = response.content.decode()
    for name in ("budget_min", "commune", "language", "skill", "posted_since", "sort"):
        assert field_errors(response, name), name
        # The message sits in the field's own error region, which its input points to.
        assert re.search(rf'id="id_{name}_error"><ul class="errorlist">', html), name
        assert re.search(rf'aria-describedby="[^"]*id_{name}_error', html), name
    with translation.override("fr"):
        assert str(STALE_CURSOR_MESSAGE) in html


def test_budget_range_upside_down_flags_the_maximum_and_keeps_the_minimum(client, poster):
    JobFactory(client=poster, title="Petit", budget_min_cents=50000, budget_max_cents=100000)
    JobFactory(client=poster, title="Grand", budget_max_cents=900000)

    response = client.get(BOARD, {"budget_min": "5000", "budget_max": "10"})

    assert field_errors(response, "budget_max")
    assert titles(response) == ["Grand"]


def test_best_match_without_search_words_falls_back_to_newest(client, poster):
    now = timezone.now()
    JobFactory(client=poster, title="Ancien", published_at=now - datetime.timedelta(days=1))
    JobFactory(client=poster, title="Récent", published_at=now)

    response = client.get(BOARD, {"sort": "relevance"})

    assert field_errors(response, "sort")
    assert titles(response) == ["Récent", "Ancien"]


def test_a_cursor_from_another_sort_starts_again_at_the_first_page(client, poster):
    job = JobFactory(client=poster)
    stale = Cursor("budget_high", 1, job.pk).encode()

    response = client.get(BOARD, {"sort": "newest", "cursor": stale})

    assert field_errors(response, "cursor")
    assert titles(response) == [job.title]


def test_too_many_skills_is_an_error_not_a_huge_query(client, poster):
    JobFactory(client=poster)

    response = client.get(BOARD, {"skill": [str(n) for n in range(1, 200)]})

    assert response.status_code == 200
    assert field_errors(response, "skill")
    assert len(titles(response)) == 1


@pytest.mark.parametrize("value", ["a\x00b", "x" * 1000, "-1", "9" * 30, "<script>", "1e5", "١٢"])
def test_no_value_of_any_parameter_breaks_the_page(client, value):
    for name in JobBoardForm.base_fields:
        assert client.get(BOARD, {name: value}).status_code == 200, name


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("newest", "0001-01-01T00:00:00+14:00"),  # before year 1 in UTC
        ("newest", "2025-01-01T00:00:00"),  # no offset
        ("budget_high", "9" * 40),
        ("closing", "9999-12-31"),
    ],
)
def test_cursors_at_the_edges_do_not_break_the_page(client, poster, sort, key):
    JobFactory(client=poster)
    token = base64.urlsafe_b64encode(json.dumps([sort, "a", key, 10**30]).encode()).decode()

    assert client.get(BOARD, {"sort": sort, "cursor": token}).status_code == 200


# --- htmx and URLs --------------------------------------------------------------------------


def test_htmx_request_gets_only_the_results_and_a_tidy_url_to_push(client, poster):
    JobFactory(client=poster, title="Boutique", category="eshop")

    response = client.get(f"{BOARD}?q=&category=eshop&budget_min=&sort=newest", **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert "Boutique" in html
    assert 'id="job-count" hx-swap-oob="innerHTML"' in html
    assert re.search(r'id="job-count" hx-swap-oob="innerHTML">1 ', html)  # "1 job shown"
    assert response["HX-Push-Url"] == f"{BOARD}?category=eshop"
    assert "HX-Request" in response["Vary"]


def test_htmx_response_refreshes_the_error_regions(client, poster):
    response = client.get(BOARD, {"budget_min": "beaucoup"}, **HTMX)

    html = response.content.decode()
    assert re.search(
        r'id="id_budget_min_error" hx-swap-oob="innerHTML"><ul class="errorlist">', html
    )
    # Fields without errors are emptied, so an error fixed meanwhile disappears.
    assert 'id="id_budget_max_error" hx-swap-oob="innerHTML"></div>' in html


def test_history_restore_gets_the_whole_page(client, poster):
    JobFactory(client=poster)

    response = client.get(BOARD, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")

    assert "<html" in response.content.decode()


def test_the_page_without_javascript_is_a_plain_get_form_with_live_enhancements(client):
    html = client.get(BOARD).content.decode()

    assert re.search(r'<form[^>]+method="get" action="/[^"]*jobs/"', html)
    assert (
        'hx-get="' in html and 'hx-push-url="true"' in html and 'hx-target="#job-results"' in html
    )
    assert 'aria-live="polite"' in html
    assert 'name="cursor"' not in html  # a new filter starts again at the first page
    assert "{#" not in html and "{%" not in html  # no template syntax leaks into the page
    for name in (
        "q",
        "skill",
        "language",
        "category",
        "budget_min",
        "budget_max",
        "commune",
        "remote",
        "posted_since",
        "sort",
    ):
        assert f'<label for="id_{name}"' in html, name


def test_filters_survive_in_the_page_links_and_the_form(client, poster, small_pages):
    JobFactory.create_batch(4, client=poster, category="eshop", work_mode="remote")
    JobFactory(client=poster, category="seo")

    first = client.get(BOARD, {"category": "eshop", "remote": "on", "q": "vitrine"})
    second = client.get(first.context["next_url"])

    query = QueryDict(first.context["next_url"].split("?", 1)[1])
    assert query["category"] == "eshop" and query["remote"] == "on" and query["q"] == "vitrine"
    assert len(titles(first)) + len(titles(second)) == 4
    html = second.content.decode()
    assert 'value="vitrine"' in html
    assert '<option value="eshop" selected>' in html
    assert re.search(r'name="remote"[^>]*checked|checked[^>]*name="remote"', html)


def test_params_round_trip_through_the_url(poster):
    job = JobFactory(client=poster)
    react = Skill.objects.get(tag="react")
    data = QueryDict(mutable=True)
    data.update(
        {
            "q": "pâtisserie",
            "language": "fr",
            "category": "eshop",
            "budget_min": "100",
            "budget_max": "5000",
            "commune": "huy",
            "remote": "on",
            "posted_since": "30",
            "sort": "budget_low",
        }
    )
    data.setlist("skill", [str(react.pk)])
    form = JobBoardForm(data)
    assert form.is_valid(), form.errors
    cursor = Cursor("budget_low", 250000, job.pk)

    url = form.url(cursor=cursor)
    again = JobBoardForm(QueryDict(url.split("?", 1)[1]))

    assert again.is_valid(), again.errors
    assert again.params() == dataclasses.replace(form.params(), cursor=cursor)


# --- Queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("job_count", [5, 20])
def test_query_count_does_not_grow_with_the_page(
    client, poster, django_assert_num_queries, job_count
):
    JobFactory.create_batch(
        job_count,
        client=poster,
        skills=[("react", "essential", "advanced"), ("git", "essential", "intermediate")],
        languages=[("fr", "B2"), ("nl", "A2")],
    )
    url = f"{BOARD}?skill={Skill.objects.get(tag='react').pk}&language=fr"

    # Validate the skills and the language (2), list the skill and language choices (2),
    # then the page of jobs, their essential skills and their languages (3). No COUNT(*).
    with django_assert_num_queries(7) as captured:
        response = client.get(url)

    assert len(titles(response)) == job_count
    assert not any("COUNT(" in query["sql"].upper() for query in captured.captured_queries)


# --- In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_in_a_browser_filters_swap_the_results_push_the_url_and_back_restores(
    live_server, page, monkeypatch
):
    from playwright.sync_api import expect

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the live server thread uses the ORM
    poster = ClientFactory()
    JobFactory(client=poster, title="Boutique de vélos", category="eshop")
    JobFactory(client=poster, title="Vitrine d'un fleuriste", category="showcase")

    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}{BOARD}")
    expect(page.locator(".job-card")).to_have_count(2)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # When a filter changes, only the results are swapped and the URL follows.
    page.select_option("#id_category", "eshop")
    expect(page).to_have_url(re.compile(r"/jobs/\?category=eshop$"))
    expect(page.locator(".job-card")).to_have_count(1)
    expect(page.locator("#job-count")).to_contain_text("1")

    # Typing in the search box filters too, after a short pause.
    page.fill("#id_q", "fleuriste")
    expect(page).to_have_url(re.compile(r"q=fleuriste"))
    expect(page.locator(".job-card")).to_have_count(0)

    # The back button walks back through the filters.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/jobs/\?category=eshop$"))
    expect(page.locator(".job-card")).to_have_count(1)
    # The form shows the filters of the results, not the last ones typed.
    expect(page.locator("#id_q")).to_have_value("")
    expect(page.locator("#id_category")).to_have_value("eshop")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    expect(page.locator(".job-card")).to_have_count(2)
    expect(page.locator("#id_category")).to_have_value("")

    # An error appears beside its field without a reload, and goes away when fixed.
    page.fill("#id_budget_min", "900")
    page.fill("#id_budget_max", "100")
    page.press("#id_budget_max", "Enter")
    expect(page.locator("#id_budget_max_error .errorlist")).to_be_visible()
    page.fill("#id_budget_max", "")
    page.press("#id_budget_max", "Enter")
    expect(page.locator("#id_budget_max_error .errorlist")).to_have_count(0)
    assert page.evaluate("window.sameDocument") is True


# --- The anonymous page cache (marketplace.page_cache) --------------------------------------


@pytest.fixture
def page_cache(settings):
    settings.SIRIUS_PAGE_CACHE = True


def csrf_tokens(response) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())


def test_an_anonymous_board_is_served_from_the_cache_without_a_query(
    client, poster, page_cache, django_assert_num_queries
):
    JobFactory(client=poster, title="Refonte du site de la friterie")
    first = client.get(BOARD)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(0):
        second = client.get(BOARD)
    assert second["X-Page-Cache"] == "hit"
    assert "Refonte du site de la friterie" in second.content.decode()
    assert second["Vary"] == first["Vary"]


def test_the_cached_board_is_never_stale_after_a_job_changes(client, poster, page_cache):
    job = JobFactory(client=poster, title="Boutique de la librairie")
    assert "Boutique de la librairie" in client.get(BOARD).content.decode()
    # A new job is published, and the first one's title is edited: both show at once.
    JobFactory(client=poster, title="Site du théâtre")
    job.title = "Boutique en ligne de la librairie"
    job.save()
    page = client.get(BOARD)
    assert page["X-Page-Cache"] == "miss"
    assert "Site du théâtre" in page.content.decode()
    assert "Boutique en ligne de la librairie" in page.content.decode()


def test_a_job_hidden_by_a_moderator_leaves_the_cached_pages_at_once(client, poster, page_cache):
    from marketplace.services.moderation import content_set_hidden
    from tests.factories import UserFactory

    job = JobFactory(client=poster, title="Offre douteuse")
    detail = reverse("job_detail", args=[job.pk])
    assert client.get(detail).status_code == 200
    assert client.get(detail)["X-Page-Cache"] == "hit"
    assert "Offre douteuse" in client.get(BOARD).content.decode()
    moderator = UserFactory(is_staff=True)
    content_set_hidden(target=job, moderator=moderator, hidden=True, reason="Spam")
    assert client.get(detail).status_code == 404
    assert "Offre douteuse" not in client.get(BOARD).content.decode()


def test_the_cache_keeps_no_csrf_token_and_gives_each_visitor_their_own(client, poster, page_cache):
    from django.test import Client

    JobFactory(client=poster)
    client.get(BOARD)
    other = Client()
    cached = other.get(BOARD)
    assert cached["X-Page-Cache"] == "hit"
    body = cached.content.decode()
    assert "csrf-placeholder" not in body
    tokens = set(csrf_tokens(cached))
    assert len(tokens) == 1
    assert tokens.isdisjoint(csrf_tokens(client.get(BOARD)))
    # The token works: the visitor's cookie was set with it, and a POST with both passes.
    assert "csrftoken" in other.cookies or any("csrf" in name for name in other.cookies)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = other.cookies
    answer = strict.post(
        reverse("language_switch"),
        {"language": "en", "next": BOARD, "csrfmiddlewaretoken": tokens.pop()},
    )
    assert answer.status_code == 302


def test_the_cache_keeps_one_page_per_language(client, poster, page_cache, settings):
    JobFactory(client=poster)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(BOARD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    french = client.get(BOARD)
    assert french["X-Page-Cache"] == "miss"
    assert '<html lang="en"' in english.content.decode()
    assert '<html lang="fr"' in french.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    again = client.get(BOARD)
    assert again["X-Page-Cache"] == "hit"
    assert '<html lang="en"' in again.content.decode()
    assert again["Content-Language"] == "en"


def test_htmx_partials_and_full_pages_are_cached_apart(client, poster, page_cache):
    JobFactory(client=poster)
    client.get(BOARD)
    partial = client.get(BOARD, **HTMX)
    assert partial["X-Page-Cache"] == "miss"
    assert "<html" not in partial.content.decode()
    assert "<html" not in client.get(BOARD, **HTMX).content.decode()
    assert "<html" in client.get(BOARD).content.decode()


def test_a_logged_in_user_is_never_served_a_cached_page(client, poster, page_cache):
    from tests.factories import MemberFactory

    JobFactory(client=poster)
    client.get(BOARD)
    assert client.get(BOARD)["X-Page-Cache"] == "hit"
    member = MemberFactory()
    client.force_login(member)
    page = client.get(BOARD)
    assert "X-Page-Cache" not in page
    assert reverse("account_logout") in page.content.decode()
    # Nor is what they saw kept for the next anonymous visitor.
    client.logout()
    client.cookies.clear()
    assert reverse("account_logout") not in client.get(BOARD).content.decode()


def test_the_jobs_api_caches_anonymous_reads_only(client, poster, page_cache):
    from rest_framework.authtoken.models import Token

    JobFactory(client=poster, title="Application de réservation")
    url = reverse("api-job-list")
    client.get(url)
    cached = client.get(url)
    assert cached["X-Page-Cache"] == "hit"
    assert cached.json()["results"][0]["title"] == "Application de réservation"
    token = Token.objects.create(user=poster)
    mine = client.get(url, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert "X-Page-Cache" not in mine
    JobFactory(client=poster, title="Nouvelle offre")
    assert client.get(url).json()["results"][0]["title"] == "Nouvelle offre"
