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


# --- The pages of the benchmark (bench/http_bench.py) ---------------------------------------


def test_job_board_and_api_query_counts_are_constant_and_small(client, django_assert_num_queries):
    from tests.factories import ClientFactory, JobFactory

    poster = ClientFactory()
    JobFactory(client=poster)
    # Board: skills and languages of the filter form, then jobs, their skills, their languages.
    with django_assert_num_queries(5):
        client.get(reverse("job_board"))
    # Jobs API list: jobs, their skills, their languages.
    with django_assert_num_queries(3):
        client.get(reverse("api-job-list"))
    for _ in range(25):
        JobFactory(client=poster)
    with django_assert_num_queries(5):
        response = client.get(reverse("job_board"))
    assert len(response.context["page"].cards) == 20
    with django_assert_num_queries(3):
        assert len(client.get(reverse("api-job-list")).json()["results"]) == 20


def test_job_detail_for_a_visitor_runs_four_queries(client, django_assert_num_queries):
    from tests.factories import JobFactory

    job = JobFactory(
        skills=[
            ("style sheet languages", "essential", "intermediate"),
            ("JavaScript", "nice", "beginner"),
        ]
    )
    # The job with its client, its skills, its languages, its attachments.
    with django_assert_num_queries(4):
        response = client.get(reverse("job_detail", args=[job.pk]))
    assert response.status_code == 200


def test_cached_public_pages_run_no_query_for_a_visitor(settings, django_assert_num_queries):
    """With the page cache on (as in production), a visitor's second read of the board, a job
    page and the jobs API list is answered before the session and auth layers: no query."""
    from django.test import Client

    from tests.factories import JobFactory

    settings.SIRIUS_PAGE_CACHE = True
    job = JobFactory()
    for _ in range(25):
        JobFactory(client=job.client)
    urls = [reverse("job_board"), reverse("job_detail", args=[job.pk]), reverse("api-job-list")]
    for url in urls:
        assert Client().get(url)["X-Page-Cache"] == "miss"
    for url in urls:
        with django_assert_num_queries(0):
            response = Client().get(url)
        assert response["X-Page-Cache"] == "hit"


def test_member_dashboard_ranks_jobs_once_then_reads_the_cache(
    client, django_assert_num_queries, django_assert_max_num_queries, settings
):
    from tests.factories import JobFactory
    from tests.test_matching import member_with

    member = member_with([("style sheet languages", "validated", "advanced")])
    client.force_login(member.user)
    JobFactory(title="Site vitrine de la boulangerie")
    client.get(reverse("dashboard"))  # warm the per-process language-code cache
    from django.core.cache import cache

    cache.clear()
    client.force_login(member.user)
    from matching.candidates import essential_rows_per_skill

    essential_rows_per_skill(refresh=True)  # the periodic pass's count, not the page's
    with django_assert_max_num_queries(25) as ranking:
        first = client.get(reverse("dashboard"))
    assert [fit.title for fit in first.context["fits"]] == ["Site vitrine de la boulangerie"]
    # Again: the ranking's queries are gone, only the session, the user, the member, the
    # unread notices remain.
    with django_assert_max_num_queries(len(ranking.captured_queries) - 4) as cached:
        again = client.get(reverse("dashboard"))
    assert again.context["fits"] == first.context["fits"]
    for _ in range(5):
        JobFactory()
    with django_assert_num_queries(len(ranking.captured_queries)):
        client.get(reverse("dashboard"))
    with django_assert_num_queries(len(cached.captured_queries)):
        client.get(reverse("dashboard"))


def test_member_dashboard_fits_follow_the_members_skills(client):
    from matching.models import SkillClaim
    from tests.factories import JobFactory
    from tests.test_matching import member_with

    member = member_with([("style sheet languages", "validated", "advanced")])
    client.force_login(member.user)
    JobFactory(title="Site vitrine de la boulangerie")
    assert len(client.get(reverse("dashboard")).context["fits"]) == 1
    # The member loses the skill: the cached fits go with it.
    SkillClaim.objects.get(member=member).delete()
    assert client.get(reverse("dashboard")).context["fits"] == []
