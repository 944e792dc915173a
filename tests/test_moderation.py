import pytest
from django.urls import reverse

from marketplace.models import ModerationLog, Report
from marketplace.services import moderation
from tests.factories import PASSWORD, AdminFactory, ClientFactory, JobFactory, MemberFactory
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db


def moderator(client):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    return admin


class TestReports:
    def test_anyone_logged_in_reports_a_job_and_it_lands_in_the_queue(self, client):
        job = JobFactory()
        reporter = MemberFactory()
        client.force_login(reporter)
        response = client.post(
            reverse("report_new", args=["job", job.pk]),
            {"reason": "outside_deal", "details": "Il demande d'être payé en liquide."},
        )
        assert response.status_code == 302
        report = Report.objects.get()
        assert (report.reporter, report.target, report.status) == (reporter, job, "open")
        moderator(client)
        response = client.get(reverse("moderation_queue"))
        assert [r.pk for r in response.context["reports"]] == [report.pk]

    def test_a_profile_can_be_reported(self, client):
        member = MemberFactory()
        client.force_login(ClientFactory())
        client.post(
            reverse("report_new", args=["member", member.member_profile.pk]),
            {"reason": "fake", "details": "Portfolio copié."},
        )
        assert Report.objects.get().target == member.member_profile

    def test_reporting_twice_is_refused_without_error_page(self, client):
        job = JobFactory()
        client.force_login(MemberFactory())
        data = {"reason": "spam", "details": "Spam."}
        client.post(reverse("report_new", args=["job", job.pk]), data)
        response = client.post(reverse("report_new", args=["job", job.pk]), data)
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert Report.objects.count() == 1

    def test_anonymous_cannot_report_and_drafts_cannot_be_reached(self, client):
        job = JobFactory()
        assert client.post(reverse("report_new", args=["job", job.pk]), {}).status_code == 302
        draft = JobFactory(status="draft")
        client.force_login(MemberFactory())
        assert client.get(reverse("report_new", args=["job", draft.pk])).status_code == 404
        assert client.get(reverse("report_new", args=["contract", 1])).status_code == 404

    def test_a_report_needs_details(self, client):
        job = JobFactory()
        client.force_login(MemberFactory())
        response = client.post(reverse("report_new", args=["job", job.pk]), {"reason": "spam"})
        assert "details" in response.context["form"].errors

    def test_dismissing_a_report_is_logged(self, client):
        job = JobFactory()
        report = moderation.report_create(
            reporter=MemberFactory(), target=job, reason="spam", details="x"
        )
        admin = moderator(client)
        client.post(reverse("moderation_report", args=[report.pk]), {"reason": "Rien d'anormal."})
        report.refresh_from_db()
        assert (report.status, report.handled_by) == ("dismissed", admin)
        assert ModerationLog.objects.get().action == "dismiss_report"


class TestHidingAndSuspending:
    def test_hiding_a_job_removes_it_from_the_public(self, client):
        job = JobFactory()
        moderation.report_create(reporter=MemberFactory(), target=job, reason="fake", details="x")
        moderator(client)
        client.post(reverse("moderation_job", args=[job.pk]), {"hide-reason": "Annonce fictive."})
        job.refresh_from_db()
        assert job.is_hidden
        assert Report.objects.get().status == "acted"
        client.logout()
        assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404

    def test_hiding_a_member_profile(self, client):
        member = MemberFactory()
        moderator(client)
        client.post(
            reverse("moderation_user", args=[member.pk]),
            {"action": "hide_profile", "reason": "Photos volées."},
        )
        client.logout()
        url = reverse("member_profile_detail", args=[member.member_profile.pk])
        assert client.get(url).status_code == 404

    def test_suspending_closes_open_jobs_blocks_login_and_is_logged(self, client):
        # Given a client with a published job, a draft and a completed job
        person = ClientFactory()
        published = JobFactory(client=person)
        draft = JobFactory(client=person, status="draft")
        completed = JobFactory(client=person, status="completed")
        admin = moderator(client)
        # When a moderator suspends the account
        response = client.post(
            reverse("moderation_user", args=[person.pk]),
            {"action": "suspend", "reason": "Fausses annonces répétées."},
        )
        assert response.status_code == 302
        person.refresh_from_db()
        assert not person.is_active and person.suspended_at is not None
        for job, status in (
            (published, "cancelled"),
            (draft, "cancelled"),
            (completed, "completed"),
        ):
            job.refresh_from_db()
            assert job.status == status
        entry = ModerationLog.objects.get(action="suspend")
        assert (entry.actor, entry.target_id, entry.reason) == (
            admin,
            person.pk,
            "Fausses annonces répétées.",
        )
        # Then they cannot log in any more
        client.logout()
        client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
        assert "_auth_user_id" not in client.session

    def test_a_suspended_users_open_session_stops_working(self, client):
        person = MemberFactory()
        client.force_login(person)
        moderation.user_suspend(user=person, moderator=AdminFactory(), reason="Abus.")
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302  # back to the log-in page

    def test_reinstating(self, client):
        person = MemberFactory()
        moderation.user_suspend(user=person, moderator=AdminFactory(), reason="Erreur.")
        moderator(client)
        client.post(
            reverse("moderation_user", args=[person.pk]),
            {"action": "reinstate", "reason": "Erreur de notre part."},
        )
        person.refresh_from_db()
        assert person.is_active and person.suspended_at is None

    def test_a_moderator_cannot_suspend_themself(self, client):
        admin = moderator(client)
        response = client.post(
            reverse("moderation_user", args=[admin.pk]), {"action": "suspend", "reason": "x"}
        )
        assert response.status_code == 200
        admin.refresh_from_db()
        assert admin.is_active

    def test_the_log_is_append_only(self):
        job = JobFactory()
        moderation.content_set_hidden(target=job, moderator=AdminFactory(), hidden=True, reason="x")
        entry = ModerationLog.objects.get()
        entry.reason = "rewritten"
        with pytest.raises(ValueError):
            entry.save()
        with pytest.raises(ValueError):
            entry.delete()

    def test_non_moderators_cannot_suspend(self, client):
        person = MemberFactory()
        client.force_login(ClientFactory())
        response = client.post(
            reverse("moderation_user", args=[person.pk]), {"action": "suspend", "reason": "x"}
        )
        assert response.status_code == 403
        person.refresh_from_db()
        assert person.is_active


class TestQueue:
    def test_the_oldest_waiting_come_first_and_the_backlog_is_counted(self, client, monkeypatch):
        import datetime

        from django.utils import timezone

        from marketplace import views_moderation

        monkeypatch.setattr(views_moderation, "QUEUE_SHOWN", 3)
        now = timezone.now()
        jobs = [
            JobFactory(status="submitted", submitted_at=now - datetime.timedelta(hours=10 - n))
            for n in range(5)
        ]
        admin = moderator(client)
        admin.language = "en"
        admin.save(update_fields=["language"])
        response = client.get(reverse("moderation_queue"))
        assert [job.pk for job in response.context["jobs"]] == [job.pk for job in jobs[:3]]
        assert response.context["jobs_waiting"] == 5
        assert "The 3 oldest of 5 waiting are shown" in response.content.decode()
        # Deciding the oldest brings the next one in.
        jobs[0].status = "rejected"
        jobs[0].save(update_fields=["status"])
        response = client.get(reverse("moderation_queue"))
        assert [job.pk for job in response.context["jobs"]] == [job.pk for job in jobs[1:4]]
        assert response.context["jobs_waiting"] == 4
