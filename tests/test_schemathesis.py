"""The API against its own OpenAPI schema, fuzzed by schemathesis with every check (server
errors, status codes, content types, response schemas, negative and positive data, ignored
authentication, use after free, resource availability, object-level authorisation), as four
people who must not see each other's objects: client A, client B, member X, member Y, plus a
moderator (not a peer: moderators see everything by design).

The run is the schemathesis command line against the live test server (the same run one can
do by hand against `python3 dev.py run`); the object-level rule is also checked by hand, one
request per endpoint, below."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import (
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    fund_milestone,
    make_bid,
    make_contract,
)

ST = Path(sys.executable).with_name("st")

# Writes may be refused (400) for rules no schema can say: a closing date in the past, milestone
# amounts that do not add up to the price, a job whose status no longer allows an edit, an
# unknown skill id in a filter. Schema-valid data is otherwise accepted, and every other check
# keeps its default.
SCHEMATHESIS_CONFIG = """
[auth.wfc]
path = "{wfc}"
peers = ["client_a", "member_x", "client_b", "member_y"]

[[operations]]
include-method = ["POST", "PUT", "PATCH"]
[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409"]

[[operations]]
include-path = "/api/jobs/"
include-method = "GET"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404"]
"""


def api_world() -> dict[str, object]:
    """Two clients and two members, each with a published job or a bid, a draft, a contract
    with a paid milestone; a moderator. Returns the people by their WFC name."""
    people = {}
    for name, client_name, member_name in (
        ("a", "client_a", "member_x"),
        ("b", "client_b", "member_y"),
    ):
        contract = make_contract()
        client, member = contract.client, contract.member.user
        fund_milestone(contract.milestones.order_by("position").first())
        JobFactory(client=client, status="draft", title=f"Brouillon {name}")
        make_bid(job=JobFactory(client=client), member=contract.member)
        people[client_name], people[member_name] = client, member
    people["moderator"] = AdminFactory()
    return people


def wfc_document(people: dict) -> dict:
    return {
        "auth": [
            {
                "name": name,
                "fixedHeaders": [
                    {
                        "name": "Authorization",
                        "value": f"Token {Token.objects.create(user=user).key}",
                    }
                ],
            }
            for name, user in people.items()
        ]
    }


@pytest.mark.django_db(transaction=True)
def test_schemathesis_all_checks_find_no_failure(live_server, tmp_path, settings):
    settings.ALLOWED_HOSTS = ["*"]
    people = api_world()
    wfc = tmp_path / "auth.json"
    wfc.write_text(json.dumps(wfc_document(people)))
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG.format(wfc=wfc))

    result = subprocess.run(
        [
            str(ST),
            "--no-color",
            "--config-file",
            str(config),
            "run",
            f"{live_server.url}{reverse('api-schema')}?format=json",
            "--checks",
            "all",
            "--max-examples",
            os.environ.get("SIRIUS_SCHEMATHESIS_EXAMPLES", "5"),
            "--seed",
            "20261126",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "25 selected / 25 total" in output, output[-3000:]


# --- Object-level authorisation, one request per endpoint ---------------------------------------


def as_user(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def owned():
    """Client A's draft job, A's contract with member X, X's bid and a milestone."""
    contract = make_contract()
    draft = JobFactory(client=contract.client, status="draft")
    milestone = contract.milestones.order_by("position").first()
    fund_milestone(milestone)
    return {
        "client": contract.client,
        "member": contract.member.user,
        "draft": draft,
        "bid": contract.bid,
        "contract": contract,
        "milestone": milestone,
    }


def endpoints(owned) -> list[tuple[str, str, dict]]:
    draft, bid = owned["draft"].pk, owned["bid"].pk
    contract, milestone = owned["contract"].pk, owned["milestone"].pk
    job = owned["contract"].job_id
    return [
        ("get", f"/api/jobs/{draft}/", {}),
        ("patch", f"/api/jobs/{draft}/", {"title": "Volé"}),
        ("put", f"/api/jobs/{draft}/", {"title": "Volé"}),
        ("post", f"/api/jobs/{draft}/submit/", {}),
        ("post", f"/api/jobs/{draft}/cancel/", {}),
        ("post", f"/api/jobs/{draft}/bids/", {}),
        ("get", f"/api/jobs/{draft}/bids/", {}),
        ("get", f"/api/bids/{bid}/", {}),
        ("patch", f"/api/bids/{bid}/", {"cover_message": "Volé"}),
        ("post", f"/api/bids/{bid}/withdraw/", {}),
        ("post", f"/api/bids/{bid}/accept/", {}),
        ("get", f"/api/contracts/{contract}/", {}),
        ("post", f"/api/milestones/{milestone}/start/", {}),
        ("post", f"/api/milestones/{milestone}/deliver/", {"message": "Volé"}),
        ("post", f"/api/milestones/{milestone}/approve/", {}),
        ("post", f"/api/milestones/{milestone}/request-changes/", {"reason": "Volé"}),
        ("get", f"/api/jobs/{job}/bids/?page_size=5", {}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("stranger_kind", ["client", "member"])
def test_another_user_gets_404_for_every_object_that_is_not_theirs(owned, stranger_kind):
    stranger = ClientFactory() if stranger_kind == "client" else MemberFactory()
    api = as_user(stranger)
    answers = {}
    for method, url, data in endpoints(owned):
        response = getattr(api, method)(url, data, format="json")
        answers[f"{method.upper()} {url}"] = response.status_code
    # The bids of a job a stranger may see are an empty list (their own), never the others'.
    listing = answers.pop(f"GET /api/jobs/{owned['contract'].job_id}/bids/?page_size=5")
    assert listing == 200
    if stranger_kind == "client":
        # Only members bid: the role is refused (403) before any job is looked up, so the
        # answer is the same whether the job exists or not.
        draft = owned["draft"].pk
        assert answers.pop(f"POST /api/jobs/{draft}/bids/") == 403
        assert api.post("/api/jobs/999999/bids/", {}, format="json").status_code == 403
    assert set(answers.values()) == {404}, answers
    assert api.get(f"/api/jobs/{owned['contract'].job_id}/bids/").json()["results"] == []
    assert api.get("/api/contracts/").json()["results"] == []


@pytest.mark.django_db
def test_the_owner_reaches_the_same_objects(owned):
    client, member = as_user(owned["client"]), as_user(owned["member"])
    assert client.get(f"/api/jobs/{owned['draft'].pk}/").status_code == 200
    assert client.get(f"/api/bids/{owned['bid'].pk}/").status_code == 200
    assert member.get(f"/api/bids/{owned['bid'].pk}/").status_code == 200
    assert client.get(f"/api/contracts/{owned['contract'].pk}/").status_code == 200
    assert member.get(f"/api/contracts/{owned['contract'].pk}/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/jobs/null,null/", "/api/nothing/", "/api/bids/1e99/withdraw/", "/api/jobs/%C2%AF/bids/"],
)
def test_an_address_no_operation_answers_is_a_json_404_even_for_a_post(url):
    api = APIClient(enforce_csrf_checks=True)
    for response in (api.get(url), api.post(url, {}, format="json")):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"skills": "132774066407276736635994112"},
        {"budget_max": "-8.729250832539666e+39"},
        {"budget_min": "1e40"},
    ],
)
def test_huge_numbers_in_filters_are_answered_not_crashed_on(params):
    response = APIClient().get("/api/jobs/", params)
    assert response.status_code in (200, 400)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page_size": "null"}, 400),
        ({"page_size": "0"}, 400),
        ({"page_size": "-3"}, 400),
        ({"page_size": "500"}, 200),
        ({"remote": "null"}, 400),
        ({"remote": "true"}, 200),
        ({"remote": ""}, 200),
    ],
)
def test_list_parameters_are_what_the_schema_says(params, status):
    assert APIClient().get("/api/jobs/", params).status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize("price", [5, "5 ", "1e3", "0.5", "100000.01", "", "-5"])
def test_money_is_a_decimal_string_within_bounds(price):
    job = JobFactory()
    member = MemberFactory()
    response = as_user(member).post(
        f"/api/jobs/{job.pk}/bids/",
        {"price": price, "start_date": "2030-01-01", "cover_message": "Bonjour", "milestones": []},
        format="json",
    )
    assert response.status_code == 400
    assert "price" in response.json()


@pytest.mark.django_db
def test_blank_text_and_form_encoded_lists_are_refused():
    job = JobFactory()
    api = as_user(MemberFactory())
    blank = api.post(
        f"/api/jobs/{job.pk}/bids/",
        {"price": "10", "start_date": "2030-01-01", "cover_message": " \x1c ", "milestones": []},
        format="json",
    )
    assert blank.status_code == 400
    assert {"cover_message", "milestones"} <= blank.json().keys()
    # The milestones list has no form encoding: the API says so instead of losing it.
    form = api.post(f"/api/jobs/{job.pk}/bids/", {"price": "10"})
    assert form.status_code == 415


# --- What schemathesis found, kept as plain regression tests ------------------------------------


@pytest.mark.django_db
def test_a_partial_edit_with_an_incomplete_list_item_is_refused_not_crashed_on():
    job = JobFactory(status="draft")
    api = as_user(job.client)
    for items in ({"languages": [{"min_level": "B1"}]}, {"skills": [{"importance": "essential"}]}):
        response = api.patch(f"/api/jobs/{job.pk}/", items, format="json")
        assert response.status_code == 400, response.content
        assert set(items) <= response.json().keys()
    bid = make_bid()
    response = as_user(bid.member.user).patch(
        f"/api/bids/{bid.pk}/", {"milestones": [{"title": "Maquettes"}]}, format="json"
    )
    assert response.status_code == 400
    assert "milestones" in response.json()


@pytest.mark.django_db(transaction=True)
def test_a_line_break_in_a_reason_does_not_stop_the_notice_e_mail(mailoutbox):
    contract = make_contract()
    milestone = contract.milestones.order_by("position").first()
    fund_milestone(milestone)
    member = as_user(contract.member.user)
    member.post(f"/api/milestones/{milestone.pk}/start/")
    member.post(f"/api/milestones/{milestone.pk}/deliver/", {"message": "Voici."}, format="json")
    mailoutbox.clear()

    response = as_user(contract.client).post(
        f"/api/milestones/{milestone.pk}/request-changes/",
        {"reason": "Le logo\r\nest trop petit"},
        format="json",
    )

    assert response.status_code == 200
    assert len(mailoutbox) == 1
    assert "\n" not in mailoutbox[0].subject
