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
    url = (
        reverse(page_name, args=[member.pk])
        if page_name == "member_profile_detail"
        else reverse(page_name)
    )
    add_claims(member, 2)
    with django_assert_max_num_queries(15) as baseline:
        client.get(url)
    add_claims(member, 8)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200


def test_client_jobs_page_query_count_is_constant(
    client, django_assert_num_queries, django_assert_max_num_queries
):
    from tests.factories import ClientFactory, JobFactory

    owner = ClientFactory()
    client.force_login(owner)
    JobFactory(client=owner)
    with django_assert_max_num_queries(15) as baseline:
        client.get(reverse("client_jobs"))
    for status in ["draft", "submitted", "published", "cancelled", "rejected"] * 2:
        JobFactory(client=owner, status=status)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("client_jobs"))
    assert response.context["total"] == 11


def test_moderation_queue_query_count_is_constant(
    client, django_assert_num_queries, django_assert_max_num_queries
):
    from tests.factories import AdminFactory, JobFactory
    from tests.test_admin_mfa import record_mfa

    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    JobFactory(status="submitted")
    with django_assert_max_num_queries(15) as baseline:
        client.get(reverse("moderation_queue"))
    for _ in range(8):
        JobFactory(status="submitted")
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("moderation_queue"))
    assert len(response.context["jobs"]) == 9


def test_member_jobs_page_query_count_is_constant(
    client, django_assert_num_queries, django_assert_max_num_queries
):
    from tests.factories import JobFactory
    from tests.test_matching import member_with

    member = member_with([("style sheet languages", "validated", "advanced")])
    client.force_login(member.user)
    JobFactory()
    client.get(reverse("member_jobs"))  # warm the per-process language-code cache
    with django_assert_max_num_queries(25) as baseline:
        client.get(reverse("member_jobs"))
    for _ in range(8):
        JobFactory()
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("member_jobs"))
    assert len(response.context["fits"]) == 9


def test_notifications_page_query_count_is_constant(
    client, django_assert_num_queries, django_assert_max_num_queries
):
    from marketplace.models import Notification

    user = MemberFactory()
    client.force_login(user)
    Notification.objects.create(user=user, message="one")
    with django_assert_max_num_queries(15) as baseline:
        client.get(reverse("notifications"))
    Notification.objects.bulk_create(Notification(user=user, message=str(i)) for i in range(20))
    with django_assert_num_queries(len(baseline.captured_queries)):
        client.get(reverse("notifications"))
