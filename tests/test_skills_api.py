import pytest
from django.urls import reverse

from matching import services
from matching.models import Language, Skill
from tests.factories import (
    MemberFactory,
    MemberLanguageFactory,
    SkillClaimFactory,
    ValidatorFactory,
)

pytestmark = pytest.mark.django_db


def validate(claim, level="advanced"):
    services.skill_claim_decide(
        claim=claim,
        validator=ValidatorFactory(full_name="Claire Delvaux"),
        decision=services.DecisionInput(kind="validated", level=level),
    )


def test_skill_list_searches_any_language_without_accents(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(reverse("api-skill-list"), {"q": "accessibilite"})
    assert response.status_code == 200
    labels = [row["label_en"] for row in response.json()["results"]]
    assert "ICT accessibility standards" in labels
    assert all("accessib" in label.lower() or "screen" in label.lower() for label in labels)


def test_skill_list_filters_by_source_and_group(client):
    response = client.get(reverse("api-skill-list"), {"source": "sirius"})
    rows = response.json()["results"]
    assert rows and all(row["source"] == "sirius" and row["uri"] is None for row in rows)
    response = client.get(reverse("api-skill-list"), {"group": "accessibility"})
    assert {row["group"] for row in response.json()["results"]} == {"accessibility"}
    response = client.get(reverse("api-skill-list"), {"source": "nonsense"})
    assert response.status_code == 400


def test_skill_list_pages_through_everything(client, django_assert_num_queries):
    seen = []
    url = reverse("api-skill-list")
    while url:
        with django_assert_num_queries(1):
            body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Skill.objects.values_list("id", flat=True))


def test_skill_detail(client):
    skill = Skill.objects.get(tag="react")
    body = client.get(reverse("api-skill-detail", args=[skill.pk])).json()
    assert body["label"] == "React" and body["source"] == "sirius"


def test_member_skills_lists_current_validations_only(client, django_assert_num_queries):
    member = MemberFactory().member_profile
    validated = SkillClaimFactory(member=member)
    validate(validated)
    SkillClaimFactory(member=member, skill=Skill.objects.get(tag="react"))  # only claimed
    with django_assert_num_queries(2):
        response = client.get(reverse("api-member-skills", args=[member.pk]))
    rows = response.json()
    assert [row["skill"]["label_en"] for row in rows] == ["style sheet languages"]
    assert rows[0]["validated_level"] == "advanced"
    assert rows[0]["validated_by"] == "Claire Delvaux"


def test_member_languages(client, django_assert_num_queries):
    member = MemberFactory().member_profile
    MemberLanguageFactory(member=member, level="C1")
    MemberLanguageFactory(member=member, language=Language.objects.get(code="ar"), level="C2")
    with django_assert_num_queries(2):
        rows = client.get(reverse("api-member-languages", args=[member.pk])).json()
    assert {(row["code"], row["level"], row["direction"]) for row in rows} == {
        ("fr", "C1", "ltr"),
        ("ar", "C2", "rtl"),
    }
    rows = client.get(reverse("api-member-languages", args=[member.pk]), {"code": "ar"}).json()
    assert [row["code"] for row in rows] == ["ar"]


def test_former_members_are_not_in_the_api(client):
    member = MemberFactory(member_profile__membership_status="former").member_profile
    assert client.get(reverse("api-member-skills", args=[member.pk])).status_code == 404
    assert client.get(reverse("api-member-languages", args=[member.pk])).status_code == 404


def test_the_api_is_read_only(client):
    client.force_login(MemberFactory())
    assert client.post(reverse("api-skill-list"), {"label_en": "x"}).status_code == 405


def test_openapi_schema_lists_the_endpoints(client):
    response = client.get(reverse("api-schema"), {"format": "json"})
    paths = response.json()["paths"]
    for path in [
        "/api/skills/",
        "/api/skills/{id}/",
        "/api/members/{member_id}/skills/",
        "/api/members/{member_id}/languages/",
    ]:
        assert path in paths
    params = {p["name"] for p in paths["/api/skills/"]["get"]["parameters"]}
    assert {"q", "source", "skill_type", "group"} <= params


def test_validation_queue_query_count_does_not_grow(client, django_assert_max_num_queries):
    validator = ValidatorFactory()
    for _ in range(3):
        SkillClaimFactory()
    client.force_login(validator)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("validation_queue"))
    for _ in range(10):
        SkillClaimFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("validation_queue"))
    assert len(response.context["claims"]) == 13
