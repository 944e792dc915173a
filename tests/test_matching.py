import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from marketplace.models import Notification
from marketplace.services import jobs as job_services
from matching import explain, ranking
from matching.candidates import rank_jobs_for_member, rank_members_for_job, score_member_for_job
from matching.models import Exposure, Invitation, Language, MemberLanguage, Skill, SkillClaim
from matching.recommendations import gini
from tests.factories import AdminFactory, ClientFactory, JobFactory, MemberFactory

pytestmark = pytest.mark.django_db


def member_with(skills, languages=(("fr", "B2"),), **profile):
    """skills: [(label_en or tag, "validated"|"claimed"|"expired", level)]"""
    user = MemberFactory(**{f"member_profile__{k}": v for k, v in profile.items()})
    member = user.member_profile
    for key, kind, level in skills:
        skill = Skill.objects.filter(label_en=key).first() or Skill.objects.get(tag=key)
        claim = SkillClaim.objects.create(member=member, skill=skill, self_level=level)
        if kind in ("validated", "expired"):
            claim.status = "validated"
            claim.validated_level = level
            claim.validated_by = AdminFactory()
            claim.validated_at = timezone.now()
            if kind == "expired":
                claim.expires_on = timezone.localdate() - datetime.timedelta(days=1)
            claim.save()
    for code, level in languages:
        MemberLanguage.objects.create(
            member=member, language=Language.objects.get(code=code), level=level
        )
    return member


CSS = "style sheet languages"


class TestEligibility:
    def test_only_members_with_the_essential_skills_and_the_language_are_listed(self):
        job = JobFactory(
            skills=[(CSS, "essential", "intermediate"), ("react", "nice", "beginner")],
            languages=[("fr", "B1")],
        )
        fits = member_with([(CSS, "validated", "advanced")])
        member_with([("react", "validated", "expert")])  # no essential skill
        member_with([(CSS, "validated", "advanced")], languages=[("fr", "A2")])  # French too low
        member_with([(CSS, "validated", "advanced")], languages=[("en", "C2")])  # no job language
        member_with([(CSS, "validated", "advanced")], availability="unavailable")
        member_with([(CSS, "validated", "advanced")], membership_status="applicant")
        member_with([(CSS, "validated", "advanced")], is_hidden=True)
        member_with([(CSS, "expired", "advanced")])  # expired validation: does not count
        suspended = member_with([(CSS, "validated", "advanced")])
        suspended.user.is_active = False
        suspended.user.save()
        assert [r.candidate.member_id for r in rank_members_for_job(job)] == [fits.pk]

    def test_a_confirmed_language_level_counts(self):
        job = JobFactory(languages=[("nl", "B2")])
        member = member_with([(CSS, "claimed", "advanced")], languages=[("nl", "A2")])
        assert rank_members_for_job(job) == []
        MemberLanguage.objects.filter(member=member).update(validated_level="B2")
        assert [r.candidate.member_id for r in rank_members_for_job(job)] == [member.pk]

    def test_one_of_several_job_languages_is_enough(self):
        job = JobFactory(languages=[("nl", "B2"), ("en", "B1")])
        member = member_with([(CSS, "claimed", "advanced")], languages=[("en", "B2")])
        assert [r.candidate.member_id for r in rank_members_for_job(job)] == [member.pk]


class TestScores:
    def test_validated_beats_claimed_and_levels_matter(self):
        job = JobFactory(skills=[(CSS, "essential", "advanced")])
        validated = member_with([(CSS, "validated", "advanced")])
        validated_low = member_with([(CSS, "validated", "beginner")])
        claimed = member_with([(CSS, "claimed", "expert")])
        claimed_low = member_with([(CSS, "claimed", "beginner")])
        order = [r.candidate.member_id for r in rank_members_for_job(job)]
        assert order == [validated.pk, validated_low.pk, claimed.pk, claimed_low.pk]

    def test_expired_validations_count_for_nothing(self):
        job = JobFactory(
            skills=[(CSS, "essential", "intermediate"), ("react", "nice", "intermediate")]
        )
        with_react = member_with(
            [(CSS, "validated", "advanced"), ("react", "validated", "advanced")]
        )
        expired_react = member_with(
            [(CSS, "validated", "advanced"), ("react", "expired", "advanced")]
        )
        scores = {r.candidate.member_id: r for r in rank_members_for_job(job)}
        assert scores[with_react.pk].breakdown["nice"] > 0
        assert scores[expired_react.pk].breakdown["nice"] == 0

    def test_language_above_the_minimum_scores_more(self):
        job = JobFactory(languages=[("fr", "B1")])
        fluent = member_with([(CSS, "claimed", "advanced")], languages=[("fr", "C2")])
        enough = member_with([(CSS, "claimed", "advanced")], languages=[("fr", "B1")])
        scores = {r.candidate.member_id: r.breakdown["language"] for r in rank_members_for_job(job)}
        assert scores[fluent.pk] > scores[enough.pk] == 0

    def test_explanations_in_two_languages(self):
        job = JobFactory(
            skills=[(CSS, "essential", "intermediate"), ("react", "nice", "intermediate")]
        )
        member = member_with([(CSS, "validated", "advanced"), ("react", "claimed", "advanced")])
        ranked = score_member_for_job(member, job)
        with translation.override("en"):
            text = explain.Explainer().text(ranked)
            css_label = Skill.objects.get(label_en=CSS).label
        assert f"validated: {css_label}" in text
        assert "claimed, not yet validated: React" in text
        assert "speaks French B2 (job asks B1)" in text
        assert "new member boost" in text
        with translation.override("fr"):
            text = explain.Explainer().text(ranked)
            css_label = Skill.objects.get(label_en=CSS).label
        assert css_label in text and "React" in text
        assert "français B2" in text
        assert "speaks" not in text and "validated" not in text


def candidate(member_id, score_bias, recent):
    """A crafted candidate: more validated skills = higher score."""
    skills = {1: ranking.MemberSkill(validated=score_bias > 0, level="expert")}
    return ranking.Candidate(
        member_id=member_id,
        name=f"m{member_id}",
        availability="available",
        skills=skills,
        languages={1: ranking.MemberLanguageLevel("fr", "C2" if score_bias > 1 else "B1")},
        recent_contracts=recent,
        completed_contracts=10 if recent else 0,
    )


class TestFairness:
    NEEDS = ([ranking.SkillNeed(1, "intermediate", True)], [ranking.LanguageNeed(1, "fr", "B1")])

    def test_newcomers_get_their_share_of_the_top_ten(self):
        # Given 15 busy members who all outscore 6 newcomers
        busy = [candidate(i, 2, recent=6) for i in range(1, 16)]
        newcomers = [candidate(100 + i, 0, recent=0) for i in range(6)]
        w = {**ranking.DEFAULT_WEIGHTS, "protected_share": 0.3, "newcomer_boost": 0.0}
        plain = sorted(
            (ranking.score(c, *self.NEEDS, w) for c in busy + newcomers), key=lambda r: -r.score
        )
        assert not any(r.newcomer for r in plain[:10])
        # When ranked with the guarantee
        top = ranking.rank_candidates(busy + newcomers, *self.NEEDS, limit=10, w=w)
        # Then every prefix k holds at least floor(0.3 k) newcomers, 3 in the top ten
        for k in range(1, 11):
            assert sum(r.newcomer for r in top[:k]) >= int(0.3 * k)
        assert sum(r.newcomer for r in top) == 3
        # And the busy members keep their order among themselves
        busy_ids = [r.candidate.member_id for r in top if not r.newcomer]
        assert busy_ids == sorted(busy_ids, key=lambda i: [c.member_id for c in busy].index(i))

    def test_fairness_never_lowers_the_bar(self):
        busy = [candidate(i, 2, recent=6) for i in range(1, 16)]
        unqualified = ranking.Candidate(
            member_id=999,
            name="x",
            availability="available",
            skills={},
            languages={1: ranking.MemberLanguageLevel("fr", "C2")},
        )
        top = ranking.rank_candidates([*busy, unqualified], *self.NEEDS, limit=10)
        assert 999 not in [r.candidate.member_id for r in top]
        assert len(top) == 10  # no newcomer qualifies: nothing is reserved in vain

    def test_the_boost_is_bounded(self):
        w = ranking.DEFAULT_WEIGHTS
        newcomer = ranking.score(candidate(1, 0, recent=0), *self.NEEDS, w)
        assert 0 < newcomer.breakdown["newcomer_boost"] <= w["newcomer_boost"]
        busy = ranking.score(candidate(2, 0, recent=5), *self.NEEDS, w)
        assert busy.breakdown["newcomer_boost"] == 0

    def test_gini(self):
        assert gini([1, 1, 1, 1]) == 0
        assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
        assert gini([]) == 0


class TestUsingIt:
    def test_the_client_sees_recommended_members_and_invites_one(self, client):
        job = JobFactory()
        member = member_with([(CSS, "validated", "advanced")])
        client.force_login(job.client)
        response = client.get(reverse("job_detail", args=[job.pk]))
        recommended = response.context["recommended"]
        assert [r["member_id"] for r in recommended] == [member.pk]
        assert Exposure.objects.filter(job=job, member=member, context="client_list").count() == 1
        client.get(reverse("job_detail", args=[job.pk]))  # same day: still one exposure
        assert Exposure.objects.filter(job=job, member=member).count() == 1
        response = client.post(reverse("job_invite", args=[job.pk, member.pk]))
        assert response.status_code == 302
        assert Invitation.objects.filter(job=job, member=member).exists()
        assert Notification.objects.filter(
            user=member.user, url=reverse("job_detail", args=[job.pk])
        ).exists()
        client.post(reverse("job_invite", args=[job.pk, member.pk]))
        assert Invitation.objects.count() == 1
        # The member sees the invitation.
        client.force_login(member.user)
        response = client.get(reverse("member_jobs"))
        assert [i.job_id for i in response.context["invitations"]] == [job.pk]
        assert response.context["fits"][0][0] == job

    def test_another_client_cannot_invite(self, client):
        job = JobFactory()
        member = member_with([(CSS, "validated", "advanced")])
        client.force_login(ClientFactory())
        assert client.post(reverse("job_invite", args=[job.pk, member.pk])).status_code == 404
        assert not Invitation.objects.exists()

    def test_publishing_tells_the_best_members_within_a_daily_limit(
        self, settings, django_capture_on_commit_callbacks
    ):
        settings.MATCHING_NOTICES = {"per_day": 2, "top": 10}
        opted_in = member_with([(CSS, "validated", "advanced")], job_alerts_by_email=True)
        quiet = member_with([(CSS, "validated", "advanced")])
        for _ in range(3):
            job = JobFactory(status="submitted")
            with django_capture_on_commit_callbacks(execute=True):
                job_services.job_approve(job=job, moderator=AdminFactory())
        for member in (opted_in, quiet):
            assert Notification.objects.filter(user=member.user, kind="job_match").count() == 2
        match_mails = [
            m for m in mail.outbox if m.to in ([opted_in.user.email], [quiet.user.email])
        ]
        assert {tuple(m.to) for m in match_mails} == {(opted_in.user.email,)}
        assert len(match_mails) == 2

    def test_jobs_that_fit_a_member(self):
        member = member_with([(CSS, "validated", "advanced"), ("react", "claimed", "advanced")])
        fits = JobFactory()
        JobFactory(skills=[("react", "essential", "beginner"), ("django", "essential", "beginner")])
        JobFactory(languages=[("nl", "C1")])
        JobFactory(status="draft")
        assert [job.pk for job, _ in rank_jobs_for_member(member)] == [fits.pk]

    def test_jobs_for_a_member_one_language_is_enough_hidden_and_skill_free_jobs_are_not(self):
        member = member_with(
            [(CSS, "validated", "advanced")], languages=(("fr", "A2"), ("en", "C1"))
        )
        english = JobFactory(
            languages=[("fr", "C2"), ("en", "B2")]
        )  # French too high, English fits
        neither = JobFactory(languages=[("fr", "C1"), ("nl", "A1")])
        JobFactory(is_hidden=True, languages=[("en", "A1")])
        JobFactory(skills=[(CSS, "nice", "beginner")], languages=[("en", "A1")])  # no essential
        ranked = [job.pk for job, _ in rank_jobs_for_member(member)]
        assert ranked == [english.pk]
        assert neither.pk not in ranked

    def test_jobs_for_a_member_come_from_the_newest_open_jobs(self, monkeypatch):
        from matching import candidates

        member = member_with([(CSS, "validated", "advanced")])
        now = timezone.now()
        old_fit = JobFactory(published_at=now - datetime.timedelta(days=5))
        recent = [JobFactory(published_at=now - datetime.timedelta(hours=h)) for h in (1, 2)]
        unfit = JobFactory(
            published_at=now - datetime.timedelta(hours=3),
            skills=[("django", "essential", "beginner")],
        )
        JobFactory(status="draft", published_at=None)  # never in the window
        monkeypatch.setattr(candidates, "JOB_WINDOW", 3)
        # The window holds the three newest open jobs: both recent fits and the unfit one.
        assert {job.pk for job, _ in rank_jobs_for_member(member)} == {j.pk for j in recent}
        monkeypatch.setattr(candidates, "JOB_WINDOW", 4)
        assert {job.pk for job, _ in rank_jobs_for_member(member)} == {
            *(j.pk for j in recent),
            old_fit.pk,
        }
        unfit.delete()
        monkeypatch.setattr(candidates, "JOB_WINDOW", 3)
        assert old_fit.pk in {job.pk for job, _ in rank_jobs_for_member(member)}

    @pytest.mark.parametrize("window", [3, 50])
    def test_jobs_for_a_member_are_the_same_whichever_query_finds_them(self, monkeypatch, window):
        from django.core.cache import cache

        from matching import candidates

        member = member_with(
            [(CSS, "validated", "advanced"), ("django", "validated", "intermediate")],
            languages=(("fr", "B2"), ("en", "B1")),
        )
        now = timezone.now()
        for hours, skills, languages in [
            (1, [(CSS, "essential", "beginner")], [("fr", "B1")]),
            (
                2,
                [(CSS, "essential", "beginner"), ("react", "essential", "beginner")],
                [("fr", "A1")],
            ),
            (3, [("django", "essential", "beginner"), (CSS, "nice", "beginner")], [("en", "B1")]),
            (4, [(CSS, "nice", "beginner")], [("fr", "A1")]),
            (5, [(CSS, "essential", "beginner")], [("nl", "A1")]),
            (
                6,
                [("django", "essential", "advanced"), (CSS, "essential", "beginner")],
                [("en", "B2")],
            ),
            (7, [("django", "essential", "beginner")], [("fr", "C1"), ("en", "A2")]),
        ]:
            JobFactory(
                published_at=now - datetime.timedelta(hours=hours),
                skills=skills,
                languages=languages,
            )
        monkeypatch.setattr(candidates, "JOB_WINDOW", window)
        found = {}
        for strategy, limit in (("aggregate", 10**9), ("walk", -1)):
            monkeypatch.setattr(candidates, "AGGREGATE_MAX_ROWS", limit)
            cache.delete(candidates.SKILL_ROWS_KEY)
            found[strategy] = [job.title for job, _ in rank_jobs_for_member(member)]
        assert found["aggregate"] == found["walk"]
        # Eligible: 1 h, 3 h and 7 h (see above); the newest three hold 1 h and 3 h.
        assert len(found["walk"]) == (2 if window == 3 else 3)

    def test_the_skill_counts_are_cached_and_refreshed_by_the_periodic_pass(self):
        from django.core.cache import cache

        from matching import candidates

        cache.delete(candidates.SKILL_ROWS_KEY)
        JobFactory()
        css = Skill.objects.get(label_en=CSS).pk
        assert candidates.essential_rows_per_skill() == {css: 1}
        JobFactory()
        assert candidates.essential_rows_per_skill() == {css: 1}  # from the cache
        call_command("run_periodic", stdout=io.StringIO())
        assert candidates.essential_rows_per_skill() == {css: 2}

    def test_jobs_for_a_member_in_a_bounded_number_of_queries(self):
        from matching.candidates import essential_rows_per_skill

        member = member_with([(CSS, "validated", "advanced")])
        JobFactory()
        essential_rows_per_skill(refresh=True)  # counted once an hour, not per member
        with CaptureQueriesContext(connection) as few:
            assert len(rank_jobs_for_member(member)) == 1
        for _ in range(8):
            JobFactory(languages=[("fr", "A1"), ("en", "B1")])
        with CaptureQueriesContext(connection) as many:
            assert len(rank_jobs_for_member(member)) == 9
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_query_count_does_not_depend_on_the_number_of_members(self):
        job = JobFactory(skills=[(CSS, "essential", "intermediate"), ("react", "nice", "beginner")])
        for _ in range(3):
            member_with([(CSS, "validated", "advanced"), ("react", "claimed", "advanced")])
        with CaptureQueriesContext(connection) as few:
            assert len(rank_members_for_job(job)) == 3
        for _ in range(12):
            member_with([(CSS, "claimed", "advanced")])
        with CaptureQueriesContext(connection) as many:
            assert len(rank_members_for_job(job)) == 15
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_admins_see_the_full_breakdown(self, client):
        from tests.test_admin_mfa import record_mfa

        job = JobFactory()
        member_with([(CSS, "validated", "advanced")])
        admin = AdminFactory()
        client.force_login(admin)
        record_mfa(client, admin)
        response = client.get(reverse("moderation_job_ranking", args=[job.pk]))
        assert response.status_code == 200
        assert len(response.context["rows"]) == 1
        client.force_login(job.client)
        assert client.get(reverse("moderation_job_ranking", args=[job.pk])).status_code == 403

    def test_exposure_report(self):
        job = JobFactory()
        shown = member_with([(CSS, "validated", "advanced")])
        member_with([("react", "validated", "advanced")])
        Exposure.objects.create(job=job, member=shown, context="client_list", rank=1)
        out = io.StringIO()
        call_command("exposure_report", "--days", "7", stdout=out)
        text = out.getvalue()
        assert "Gini coefficient: 0.500" in text
        assert "never shown:      1 (50.0% of active members)" in text
