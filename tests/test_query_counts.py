"""Pages that list things must not run one query per row."""

import pytest
from django.urls import reverse

from matching import services
from matching.models import Skill
from tests.factories import MemberFactory, SkillClaimFactory, ValidatorFactory

pytestmark = pytest.mark.django_db


def add_claims(member, count: int) -> None:
    validator = ValidatorFactory()
    skills = Skill.objects.exclude(claims__member=member)[:count]
    for skill in skills:
        claim = SkillClaimFactory(member=member, skill=skill)
        services.skill_claim_decide(
            claim=claim,
            validator=validator,
            decision=services.DecisionInput(kind="validated", level="advanced"),
        )


@pytest.mark.parametrize("page_name", ["my_skills", "member_profile_detail"])
def test_query_count_does_not_grow_with_the_number_of_skills(
    client, page_name, django_assert_num_queries, django_assert_max_num_queries
):
    user = MemberFactory()
    member = user.member_profile
    client.force_login(user)
    url = reverse(page_name, args=[member.pk]) if page_name == "member_profile_detail" else reverse(page_name)
    add_claims(member, 2)
    with django_assert_max_num_queries(15) as baseline:
        client.get(url)
    add_claims(member, 8)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
