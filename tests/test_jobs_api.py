"""The jobs API: board and filters, detail, a client's drafts and edits, changes of status,
authentication, query counts, OpenAPI schema and its documentation page."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from marketplace.models import Job, JobLanguage, JobSkill
from matching.models import Skill
from tests.factories import AdminFactory, ClientFactory, JobFactory, MemberFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api-job-list")
PRIVATE_KEYS = {"description", "rejection_reason", "client", "email", "contact_flags", "is_hidden"}


def detail_url(job: Job) -> str:
    return reverse("api-job-detail", args=[job.pk])


def action_url(action: str, job: Job) -> str:
    return reverse(f"api-job-{action}", args=[job.pk])


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def logged_in(user) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def new_job_payload(**changes) -> dict:
    payload = {
        "title": "  Boutique en ligne pour une pâtisserie  ",
        "description": "Une boutique **simple** avec retrait en magasin.",
        "category": "eshop",
        "budget_type": "fixed",
        "budget_min": "1500.00",
        "budget_max": "2500.50",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=20)).isoformat(),
        "commune": "liege",
        "work_mode": "remote",
        "skills": [
            {
                "skill": Skill.objects.get(label_en="style sheet languages").pk,
                "importance": "essential",
                "min_level": "advanced",
            },
            {"skill": Skill.objects.get(tag="react").pk, "importance": "nice"},
        ],
        "languages": [{"code": "fr", "min_level": "B2"}, {"code": "nl"}],
    }
    payload.update(changes)
    return payload


# --- The board ----------------------------------------------------------------------------------


def test_anonymous_list_shows_only_published_visible_jobs(api):
    published = JobFactory()
    JobFactory(is_hidden=True)
    for status in ("draft", "submitted", "rejected", "in_progress", "cancelled"):
        JobFactory(status=status)

    response = api.get(LIST)

    assert ids(response) == {published.pk}
    row = response.json()["results"][0]
    assert not PRIVATE_KEYS & row.keys()
    assert row["title"] == published.title
    assert "<strong>simple</strong>" in row["description_html"]
    assert row["budget_min_cents"] == 150000 and row["budget_max_cents"] == 250000
    assert row["budget_cents"] == 250000
    assert re.fullmatch(r"1\W500 – 2\W500 €", row["budget"]), row["budget"]
    assert row["skills"] == [
        {
            "id": Skill.objects.get(label_en="style sheet languages").pk,
            "label": row["skills"][0]["label"],
            "importance": "essential",
            "min_level": "intermediate",
        }
    ]
    assert row["languages"] == [{"code": "fr", "min_level": "B1"}]
    assert row["url"] == f"http://testserver/jobs/{published.pk}/"
    assert published.client.email not in response.content.decode()


def test_list_is_newest_first_and_pages_with_a_cursor(api):
    now = timezone.now()
    jobs = [JobFactory(published_at=now - datetime.timedelta(hours=hours)) for hours in range(5)]
    seen, url = [], f"{LIST}?page_size=2"
    while url:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == [job.pk for job in jobs]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "eshop"}, {"eshop"}),
        ({"commune": "seraing"}, {"seraing"}),
        ({"remote": "true"}, {"remote", "hybrid"}),
        ({"remote": "false"}, {"on_site", "eshop", "seraing", "old", "big"}),
        ({"budget_min": "3000"}, {"big"}),
        ({"budget_max": "2500"}, {"hybrid", "remote", "eshop", "on_site", "seraing", "old"}),
        (
            {"budget_min": "2000", "budget_max": "2500.00"},
            {"hybrid", "remote", "eshop", "on_site", "seraing", "old"},
        ),
        ({"posted_since": "RECENT"}, {"hybrid", "remote", "eshop", "on_site", "seraing", "big"}),
        ({"skills": "REACT"}, {"big"}),
        (
            {"skills": ["REACT", "CSS"]},
            {"hybrid", "remote", "eshop", "on_site", "seraing", "old", "big"},
        ),
        ({"language": "nl"}, {"remote"}),
        ({"category": "eshop", "remote": "true"}, set()),
    ],
)
def test_list_filters(api, params, expected):
    # given one job per distinguishing feature
    long_ago = timezone.now() - datetime.timedelta(days=10)
    jobs = {
        "hybrid": JobFactory(work_mode="hybrid"),
        "remote": JobFactory(work_mode="remote", languages=[("fr", "B1"), ("nl", "A2")]),
        "on_site": JobFactory(work_mode="on_site"),
        "eshop": JobFactory(category="eshop", work_mode="on_site"),
        "seraing": JobFactory(commune="seraing", work_mode="on_site"),
        "old": JobFactory(published_at=long_ago, work_mode="on_site"),
        "big": JobFactory(
            work_mode="on_site",
            budget_min_cents=300000,
            budget_max_cents=500000,
            skills=[("react", "essential", "advanced")],
        ),
    }
    JobFactory(status="draft", category="eshop", work_mode="on_site")  # never listed
    values = {
        "RECENT": (timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
        "REACT": str(Skill.objects.get(tag="react").pk),
        "CSS": str(Skill.objects.get(label_en="style sheet languages").pk),
    }
    query = {
        key: [values.get(v, v) for v in value]
        if isinstance(value, list)
        else values.get(value, value)
        for key, value in params.items()
    }

    response = api.get(LIST, query)

    assert ids(response) == {jobs[name].pk for name in expected}


def test_list_searches_words_without_accents(api):
    pastry = JobFactory(title="Boutique en ligne pour une pâtisserie", category="eshop")
    JobFactory(title="Refonte du site d'un garage")

    assert ids(api.get(LIST, {"q": "patisserie"})) == {pastry.pk}
    assert ids(api.get(LIST, {"q": "Pâtisserie boutique"})) == {pastry.pk}
    assert ids(api.get(LIST, {"q": "boutique, pâtisserie !"})) == {pastry.pk}
    assert ids(api.get(LIST, {"q": "boulangerie"})) == set()
    assert len(ids(api.get(LIST, {"q": ""}))) == 2


@pytest.mark.parametrize(
    "params",
    [{"category": "nonsense"}, {"skills": "999999"}, {"language": "xx"}, {"mine": "maybe"}],
)
def test_list_refuses_invalid_filters(api, params):
    JobFactory()
    response = api.get(LIST, params)
    assert response.status_code == 400
    assert response.json()  # says which parameter


def test_mine_lists_the_clients_own_jobs_in_every_status(api):
    client = ClientFactory()
    own = {
        JobFactory(client=client, status=status).pk
        for status in ("draft", "submitted", "published")
    }
    JobFactory()  # somebody else's published job
    JobFactory(status="draft")

    response = logged_in(client).get(LIST, {"mine": "true"})

    assert ids(response) == own
    assert all("description" in row for row in response.json()["results"])
    assert api.get(LIST, {"mine": "true"}).status_code in (401, 403)


def test_list_queries_do_not_grow_with_the_number_of_jobs(api, django_assert_num_queries):
    JobFactory.create_batch(3)
    # jobs, their skills, their languages
    with django_assert_num_queries(3):
        response = api.get(LIST)
    assert len(response.json()["results"]) == 3

    JobFactory.create_batch(12)
    with django_assert_num_queries(3):
        response = api.get(LIST)
    assert len(response.json()["results"]) == 15


def test_own_jobs_queries_do_not_grow_with_the_number_of_jobs(django_assert_num_queries):
    client = ClientFactory()
    api = logged_in(client)
    JobFactory.create_batch(3, client=client, status="draft")
    # session, user, jobs, their skills, their languages
    with django_assert_num_queries(5):
        response = api.get(LIST, {"mine": "true"})
    assert len(response.json()["results"]) == 3

    JobFactory.create_batch(12, client=client, status="draft")
    with django_assert_num_queries(5):
        response = api.get(LIST, {"mine": "true"})
    assert len(response.json()["results"]) == 15


# --- Detail -------------------------------------------------------------------------------------


def test_detail_of_a_published_job_is_public_without_private_fields(api):
    job = JobFactory()
    response = api.get(detail_url(job))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == job.pk and body["status"] == "published"
    assert not PRIVATE_KEYS & body.keys()


def test_a_draft_is_not_found_for_anybody_but_its_client_and_moderators(api):
    draft = JobFactory(status="draft")
    for viewer in (None, ClientFactory(), MemberFactory()):
        response = (logged_in(viewer) if viewer else api).get(detail_url(draft))
        assert response.status_code == 404

    for viewer in (draft.client, AdminFactory()):
        response = logged_in(viewer).get(detail_url(draft))
        assert response.status_code == 200
        assert response.json()["description"] == draft.description


def test_hidden_job_is_not_found_for_the_public(api):
    job = JobFactory(is_hidden=True)
    assert api.get(detail_url(job)).status_code == 404
    assert logged_in(job.client).get(detail_url(job)).status_code == 200


# --- Authentication -----------------------------------------------------------------------------


def test_token_authentication_creates_a_job_without_csrf():
    client = ClientFactory()
    token = Token.objects.create(user=client)
    api = APIClient(enforce_csrf_checks=True)

    response = api.post(
        LIST, new_job_payload(), format="json", HTTP_AUTHORIZATION=f"Token {token.key}"
    )

    assert response.status_code == 201, response.content
    assert Job.objects.get().client == client


def test_session_authentication_needs_the_csrf_token():
    client = ClientFactory()
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(client)

    response = api.post(LIST, new_job_payload(), format="json")

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_wrong_token_is_refused(api):
    response = api.get(LIST, HTTP_AUTHORIZATION="Token not-a-real-key")
    # 403 rather than 401 while SessionAuthentication comes first in the settings.
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


# --- Create -------------------------------------------------------------------------------------


def test_a_client_creates_a_draft():
    client = ClientFactory()

    response = logged_in(client).post(LIST, new_job_payload(), format="json")

    assert response.status_code == 201, response.content
    job = Job.objects.get()
    assert job.client == client
    assert job.status == "draft"
    assert job.title == "Boutique en ligne pour une pâtisserie"
    assert (job.budget_min_cents, job.budget_max_cents, job.budget_cents) == (
        150000,
        250050,
        250050,
    )
    assert job.work_mode == "remote"
    assert {
        (s.skill.tag or s.skill.label_en, s.importance, s.min_level) for s in job.skills.all()
    } == {
        ("style sheet languages", "essential", "advanced"),
        ("react", "nice", "intermediate"),
    }
    assert {(lang.language.code, lang.min_level) for lang in job.languages.all()} == {
        ("fr", "B2"),
        ("nl", "B1"),
    }
    body = response.json()
    assert body["id"] == job.pk and body["status"] == "draft"
    assert body["description"] == job.description
    assert body["budget_max_cents"] == 250050


def test_a_client_creates_an_hourly_job_with_defaults():
    client = ClientFactory()
    payload = new_job_payload(budget_type="hourly", hourly_rate="55", estimated_hours=20)
    for name in ("budget_min", "budget_max", "closes_on", "work_mode", "skills", "languages"):
        del payload[name]

    response = logged_in(client).post(LIST, payload, format="json")

    assert response.status_code == 201, response.content
    job = Job.objects.get()
    assert (job.hourly_rate_cents, job.estimated_hours, job.budget_cents) == (5500, 20, 110000)
    assert job.budget_min_cents is None and job.budget_max_cents is None
    assert job.work_mode == "hybrid"
    assert job.closes_on > timezone.localdate()
    assert not job.skills.exists() and not job.languages.exists()
    assert "55" in response.json()["budget"] and "20" in response.json()["budget"]


def test_a_member_cannot_create_a_job():
    response = logged_in(MemberFactory()).post(LIST, new_job_payload(), format="json")
    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Job.objects.exists()


def test_an_anonymous_visitor_cannot_create_a_job(api):
    response = api.post(LIST, new_job_payload(), format="json")
    assert response.status_code in (401, 403)
    assert not Job.objects.exists()


def test_bad_input_answers_every_field_and_writes_nothing():
    client = ClientFactory()
    payload = new_job_payload(
        title="",
        category="nonsense",
        budget_min="3000",
        budget_max="2000",
        closes_on="2000-01-01",
        skills=[{"skill": 99999999}],
        languages=[{"code": "xx"}],
    )
    del payload["commune"]

    response = logged_in(client).post(LIST, payload, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert {"title", "category", "closes_on", "commune", "skills", "languages"} <= errors.keys()
    assert errors["skills"]["0"]["skill"]  # DRF keys list errors by index
    assert not Job.objects.exists()
    assert not JobSkill.objects.exists() and not JobLanguage.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"budget_min": "3000", "budget_max": "2000"}, "budget_max"),
        ({"budget_max": None}, "budget_max"),
        ({"budget_type": "hourly", "hourly_rate": "50"}, "estimated_hours"),
        ({"budget_min": "0.50"}, "budget_min"),
        ({"budget_min": "12.345"}, "budget_min"),
        ({"desired_start": "2030-06-01", "deadline": "2030-05-01"}, "deadline"),
        ({"skills": [{"skill": 1}, {"skill": 1}]}, "skills"),
    ],
)
def test_inconsistent_input_is_refused_by_field(changes, field):
    payload = new_job_payload(**changes)
    if "skills" in changes:
        payload["skills"] = [{"skill": Skill.objects.get(tag="react").pk}] * 2

    response = logged_in(ClientFactory()).post(LIST, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()


# --- Update -------------------------------------------------------------------------------------


def test_the_owner_patches_a_draft_and_keeps_what_they_did_not_send():
    job = JobFactory(status="draft")
    skills_before = list(job.skills.values_list("skill_id", "importance", "min_level"))

    response = logged_in(job.client).patch(
        detail_url(job), {"title": "Nouveau titre", "budget_max": "3000"}, format="json"
    )

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.title == "Nouveau titre"
    assert (job.budget_min_cents, job.budget_max_cents, job.budget_cents) == (
        150000,
        300000,
        300000,
    )
    assert list(job.skills.values_list("skill_id", "importance", "min_level")) == skills_before
    assert list(job.languages.values_list("language__code", flat=True)) == ["fr"]
    assert response.json()["title"] == "Nouveau titre"


def test_a_patch_is_checked_against_the_jobs_current_values():
    job = JobFactory(status="draft")  # fixed price 1 500 – 2 500

    response = logged_in(job.client).patch(detail_url(job), {"budget_max": "1000"}, format="json")
    assert response.status_code == 400 and "budget_max" in response.json()

    response = logged_in(job.client).patch(
        detail_url(job), {"budget_type": "hourly"}, format="json"
    )
    assert response.status_code == 400
    assert {"hourly_rate", "estimated_hours"} <= response.json().keys()
    job.refresh_from_db()
    assert (job.budget_type, job.budget_max_cents) == ("fixed", 250000)


def test_the_owner_replaces_a_job_with_put():
    job = JobFactory(status="rejected")

    response = logged_in(job.client).put(
        detail_url(job), new_job_payload(skills=[], languages=[{"code": "en"}]), format="json"
    )

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.category == "eshop" and job.status == "rejected"
    assert not job.skills.exists()
    assert list(job.languages.values_list("language__code", flat=True)) == ["en"]


def test_editing_a_published_job_sends_it_back_to_review():
    job = JobFactory()

    response = logged_in(job.client).patch(detail_url(job), {"title": "Autre titre"}, format="json")

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == "submitted" and job.title == "Autre titre"


def test_only_the_owner_updates_a_job(api):
    job = JobFactory(status="draft", title="Titre d'origine")
    for other in (ClientFactory(), MemberFactory(), AdminFactory()):
        response = logged_in(other).patch(detail_url(job), {"title": "Pirate"}, format="json")
        assert response.status_code == 404
    assert api.patch(detail_url(job), {"title": "Pirate"}, format="json").status_code in (401, 403)
    job.refresh_from_db()
    assert job.title == "Titre d'origine"


def test_a_cancelled_job_can_no_longer_be_edited():
    job = JobFactory(status="cancelled", title="Titre d'origine")
    response = logged_in(job.client).patch(detail_url(job), {"title": "Nouveau"}, format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"]
    job.refresh_from_db()
    assert job.title == "Titre d'origine"


# --- Changes of status --------------------------------------------------------------------------


def test_the_owner_submits_a_draft_and_cannot_submit_it_twice():
    job = JobFactory(status="draft")
    api = logged_in(job.client)

    response = api.post(action_url("submit", job))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    job.refresh_from_db()
    assert job.status == "submitted" and job.submitted_at is not None

    response = api.post(action_url("submit", job))
    assert response.status_code == 409
    assert response.json()["detail"]
    job.refresh_from_db()
    assert job.status == "submitted"


def test_an_incomplete_draft_cannot_be_submitted():
    job = JobFactory(status="draft", skills=[], languages=[])
    response = logged_in(job.client).post(action_url("submit", job))
    assert response.status_code == 400
    assert len(response.json()["non_field_errors"]) == 2
    job.refresh_from_db()
    assert job.status == "draft"


def test_nobody_else_submits_or_cancels_a_clients_job():
    job = JobFactory(status="draft")
    other = logged_in(ClientFactory())
    assert other.post(action_url("submit", job)).status_code == 404
    assert other.post(action_url("cancel", job)).status_code == 404
    job.refresh_from_db()
    assert job.status == "draft"


def test_a_moderator_approves_a_submitted_job():
    job = JobFactory(status="submitted", published_at=None)

    response = logged_in(AdminFactory()).post(action_url("approve", job))

    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.status == "published" and job.published_at is not None
    assert job.pk in ids(APIClient().get(LIST))


def test_a_moderator_cannot_approve_a_draft():
    job = JobFactory(status="draft", published_at=None)
    response = logged_in(AdminFactory()).post(action_url("approve", job))
    assert response.status_code == 409
    assert response.json()["detail"]
    job.refresh_from_db()
    assert job.status == "draft"


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_clients_and_members_cannot_moderate(action):
    job = JobFactory(status="submitted", published_at=None)
    for user in (job.client, ClientFactory(), MemberFactory()):
        response = logged_in(user).post(action_url(action, job), {"reason": "Non."}, format="json")
        assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == "submitted"


def test_a_moderator_rejects_with_a_reason_the_client_then_reads():
    job = JobFactory(status="submitted", published_at=None)
    moderator = logged_in(AdminFactory())

    response = moderator.post(action_url("reject", job), {"reason": "  "}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = moderator.post(action_url("reject", job), {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    job.refresh_from_db()
    assert job.status == "submitted"

    response = moderator.post(
        action_url("reject", job), {"reason": "Coordonnées dans le texte"}, format="json"
    )
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.status == "rejected" and job.rejection_reason == "Coordonnées dans le texte"
    body = logged_in(job.client).get(detail_url(job)).json()
    assert body["rejection_reason"] == "Coordonnées dans le texte"

    response = moderator.post(action_url("reject", job), {"reason": "Encore"}, format="json")
    assert response.status_code == 409


def test_the_owner_cancels_a_job_once():
    job = JobFactory(status="draft")
    api = logged_in(job.client)

    response = api.post(action_url("cancel", job))
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == "cancelled"

    response = api.post(action_url("cancel", job))
    assert response.status_code == 409
    assert response.json()["detail"]


def test_transitions_of_an_unknown_job_are_not_found():
    moderator = logged_in(AdminFactory())
    missing = reverse("api-job-approve", args=[999999])
    assert moderator.post(missing).status_code == 404


# --- Schema and documentation -------------------------------------------------------------------


def test_schema_lists_the_job_endpoints(api):
    response = api.get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"get", "post"} <= paths["/api/jobs/"].keys()
    assert {"get", "put", "patch"} <= paths["/api/jobs/{job_id}/"].keys()
    for action in ("submit", "cancel", "approve", "reject"):
        assert "post" in paths[f"/api/jobs/{{job_id}}/{action}/"]
    list_parameters = {p["name"] for p in paths["/api/jobs/"]["get"]["parameters"]}
    assert {
        "q",
        "skills",
        "language",
        "category",
        "budget_min",
        "budget_max",
        "commune",
    } <= list_parameters
    assert {"remote", "posted_since", "mine", "cursor"} <= list_parameters
    schemes = response.json()["components"]["securitySchemes"]
    assert {"cookieAuth", "tokenAuth"} <= schemes.keys()


def docs_page(api) -> str:
    """The page and its start-up script (served by the same view with ?script, so that the
    Content-Security-Policy needs no inline script)."""
    response = api.get(reverse("api-docs"))
    script = api.get(reverse("api-docs"), {"script": ""})
    assert response.status_code == script.status_code == 200
    return response.content.decode() + script.content.decode()


def test_docs_page_loads_nothing_from_another_host(api):
    html = docs_page(api)

    urls = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", html)
    assert len(urls) >= 3  # stylesheet, bundle, preset
    for url in urls:
        assert not re.match(r"^(https?:)?//", url) or url.startswith("http://testserver/"), url
        path = url.removeprefix("http://testserver")
        if path.startswith(reverse("api-docs") + "?script"):
            continue  # the start-up script, from the docs view itself
        assert path.startswith("/static/"), url
        assert finders.find(path.removeprefix("/static/")), f"{url} is not one of our static files"
    assert not re.search(r"https?://(?!testserver)", html.replace("http://www.w3.org/", ""))


def test_docs_page_does_not_call_the_public_swagger_validator(api):
    html = docs_page(api)
    assert re.search(r"\"validatorUrl\":\s*null", html)
