import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from marketplace import job_states
from marketplace.models import Job, ModerationLog, Notification
from marketplace.services import jobs as job_services
from matching.models import Language, Skill
from tests.factories import AdminFactory, ClientFactory, JobFactory, MemberFactory
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db


def job_form(**overrides):
    css = Skill.objects.get(label_en="style sheet languages")
    react = Skill.objects.get(tag="react")
    fr = Language.objects.get(code="fr")
    data = {
        "title": "Site vitrine pour la boulangerie",
        "description": "Quatre pages, **responsive**, en français.",
        "category": "showcase",
        "budget_type": "fixed",
        "budget_min": "1500",
        "budget_max": "2500",
        "closes_on": (timezone.localdate() + datetime.timedelta(days=20)).isoformat(),
        "commune": "liege",
        "work_mode": "hybrid",
        "skills-TOTAL_FORMS": "2",
        "skills-INITIAL_FORMS": "0",
        "skills-MIN_NUM_FORMS": "0",
        "skills-MAX_NUM_FORMS": "20",
        "skills-0-skill": str(css.pk),
        "skills-0-importance": "essential",
        "skills-0-min_level": "intermediate",
        "skills-1-skill": str(react.pk),
        "skills-1-importance": "nice",
        "skills-1-min_level": "beginner",
        "languages-TOTAL_FORMS": "1",
        "languages-INITIAL_FORMS": "0",
        "languages-MIN_NUM_FORMS": "0",
        "languages-MAX_NUM_FORMS": "6",
        "languages-0-language": str(fr.pk),
        "languages-0-min_level": "B1",
    }
    data.update(overrides)
    return data


def moderator(client):
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    return admin


class TestPosting:
    def test_a_client_writes_a_draft_then_sends_it_for_review(self, client):
        user = ClientFactory()
        client.force_login(user)
        response = client.post(reverse("job_create"), job_form())
        job = Job.objects.get()
        assert response.status_code == 302
        assert (job.status, job.client, job.budget_min_cents, job.budget_max_cents) == (
            "draft",
            user,
            150000,
            250000,
        )
        assert job.budget_cents == 250000
        assert "<strong>responsive</strong>" in job.description_html
        assert {(s.skill.label_en, s.importance) for s in job.skills.all()} == {
            ("style sheet languages", "essential"),
            ("React", "nice"),
        }
        assert [(jl.language.code, jl.min_level) for jl in job.languages.all()] == [("fr", "B1")]
        # A draft is not public.
        client.logout()
        assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404
        client.force_login(user)
        response = client.post(reverse("job_submit", args=[job.pk]))
        job.refresh_from_db()
        assert job.status == "submitted" and job.submitted_at is not None

    def test_save_and_submit_in_one_step(self, client):
        client.force_login(ClientFactory())
        client.post(reverse("job_create"), {**job_form(), "submit": "1"})
        assert Job.objects.get().status == "submitted"

    def test_bad_input_is_shown_next_to_the_field_and_kept(self, client):
        client.force_login(ClientFactory())
        past = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
        response = client.post(
            reverse("job_create"),
            job_form(budget_min="3000", budget_max="1000", closes_on=past, title=""),
        )
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"budget_max", "closes_on", "title"}
        html = response.content.decode()
        assert "Quatre pages" in html  # the description typed is kept
        assert 'id="id_budget_max_error"' in html
        assert not Job.objects.exists()

    def test_hourly_budget_needs_rate_and_hours(self, client):
        client.force_login(ClientFactory())
        response = client.post(reverse("job_create"), job_form(budget_type="hourly"))
        assert set(response.context["form"].errors) == {"hourly_rate", "estimated_hours"}
        response = client.post(
            reverse("job_create"),
            job_form(budget_type="hourly", hourly_rate="45", estimated_hours="20"),
        )
        job = Job.objects.get()
        assert (job.hourly_rate_cents, job.estimated_hours, job.budget_min_cents) == (
            4500,
            20,
            None,
        )
        assert job.budget_cents == 90000

    def test_a_job_without_essential_skill_or_language_cannot_be_submitted(self, client):
        user = ClientFactory()
        client.force_login(user)
        client.post(
            reverse("job_create"),
            job_form(**{"skills-TOTAL_FORMS": "0", "languages-TOTAL_FORMS": "0"}),
        )
        job = Job.objects.get()
        response = client.post(reverse("job_submit", args=[job.pk]), follow=True)
        job.refresh_from_db()
        assert job.status == "draft"
        messages = [m for m in response.context["messages"] if m.level_tag == "error"]
        assert len(messages) == 2  # the missing skill and the missing language

    def test_members_cannot_post_jobs(self, client):
        client.force_login(MemberFactory())
        assert client.get(reverse("job_create")).status_code == 403
        assert client.post(reverse("job_create"), job_form()).status_code == 403
        assert not Job.objects.exists()

    def test_contact_details_are_flagged(self, client):
        client.force_login(ClientFactory())
        client.post(
            reverse("job_create"),
            job_form(description="Appelez-moi au 0475 12 34 56 ou marie@gmail.com"),
        )
        kinds = {flag["kind"] for flag in Job.objects.get().contact_flags}
        assert kinds == {"phone", "email"}

    def test_another_client_cannot_edit_submit_or_cancel(self, client):
        job = JobFactory(status="draft")
        client.force_login(ClientFactory())
        assert client.get(reverse("job_edit", args=[job.pk])).status_code == 404
        assert client.post(reverse("job_edit", args=[job.pk]), job_form()).status_code == 404
        assert client.post(reverse("job_submit", args=[job.pk])).status_code == 404
        assert client.post(reverse("job_cancel", args=[job.pk])).status_code == 404
        job.refresh_from_db()
        assert job.status == "draft"


class TestTransitions:
    @pytest.mark.parametrize(
        ("current", "target", "legal"),
        [
            ("draft", "submitted", True),
            ("draft", "published", False),
            ("submitted", "published", True),
            ("submitted", "rejected", True),
            ("rejected", "submitted", True),
            ("rejected", "published", False),
            ("published", "submitted", True),
            ("published", "expired", True),
            ("published", "in_progress", True),
            ("in_progress", "completed", True),
            ("in_progress", "cancelled", True),
            ("in_progress", "published", False),
            ("completed", "published", False),
            ("cancelled", "published", False),
            ("expired", "published", False),
        ],
    )
    def test_only_legal_transitions_happen(self, current, target, legal):
        job = JobFactory(status=current)
        if legal:
            job_states.transition(job, target)
            assert job.status == target
        else:
            with pytest.raises(job_states.IllegalTransition):
                job_states.transition(job, target)
            assert job.status == current

    def test_editing_a_published_job_sends_it_back_to_review(self, client):
        job = JobFactory()
        client.force_login(job.client)
        response = client.post(reverse("job_edit", args=[job.pk]), job_form(title="Nouveau titre"))
        assert response.status_code == 302
        job.refresh_from_db()
        assert (job.status, job.title) == ("submitted", "Nouveau titre")

    def test_a_cancelled_job_cannot_be_edited(self, client):
        job = JobFactory(status="cancelled")
        client.force_login(job.client)
        response = client.post(reverse("job_edit", args=[job.pk]), job_form(title="X"))
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.title != "X"

    def test_client_cancels(self, client):
        job = JobFactory()
        client.force_login(job.client)
        client.post(reverse("job_cancel", args=[job.pk]))
        job.refresh_from_db()
        assert job.status == "cancelled"
        client.logout()
        assert client.get(reverse("job_detail", args=[job.pk])).status_code == 404

    def test_expiry_is_a_scheduled_idempotent_pass(self, django_capture_on_commit_callbacks):
        old = JobFactory(closes_on=timezone.localdate() - datetime.timedelta(days=1))
        fresh = JobFactory(closes_on=timezone.localdate())
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_periodic")
            call_command("run_periodic")
        old.refresh_from_db()
        fresh.refresh_from_db()
        assert (old.status, fresh.status) == ("expired", "published")
        assert Notification.objects.filter(user=old.client).count() == 1
        assert len(mail.outbox) == 1


class TestModeration:
    def test_queue_shows_submitted_jobs_oldest_first(self, client):
        new = JobFactory(status="submitted", submitted_at=timezone.now())
        old = JobFactory(
            status="submitted", submitted_at=timezone.now() - datetime.timedelta(days=2)
        )
        JobFactory(status="draft")
        moderator(client)
        response = client.get(reverse("moderation_queue"))
        assert [job.pk for job in response.context["jobs"]] == [old.pk, new.pk]

    def test_approve_publishes_and_notifies_the_client(
        self, client, django_capture_on_commit_callbacks
    ):
        job = JobFactory(status="submitted")
        admin = moderator(client)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("moderation_job", args=[job.pk]), {"decision": "approve"}
            )
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.status == "published" and job.published_at is not None
        assert Notification.objects.get(user=job.client).url == reverse("job_detail", args=[job.pk])
        assert mail.outbox[0].to == [job.client.email]
        entry = ModerationLog.objects.get()
        assert (entry.actor, entry.action, entry.target_id) == (admin, "approve_job", job.pk)

    def test_reject_needs_a_reason_the_client_sees(
        self, client, django_capture_on_commit_callbacks
    ):
        job = JobFactory(status="submitted")
        moderator(client)
        response = client.post(reverse("moderation_job", args=[job.pk]), {"decision": "reject"})
        assert "reason" in response.context["form"].errors
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                reverse("moderation_job", args=[job.pk]),
                {"decision": "reject", "reason": "Pas de numéro de téléphone dans l'annonce."},
            )
        job.refresh_from_db()
        assert job.status == "rejected"
        assert "Pas de numéro" in Notification.objects.get(user=job.client).message
        assert len(mail.outbox) == 1
        client.force_login(job.client)
        html = client.get(reverse("job_detail", args=[job.pk])).content.decode()
        assert "Pas de numéro" in html
        # Fix and resubmit.
        client.post(reverse("job_edit", args=[job.pk]), {**job_form(), "submit": "1"})
        job.refresh_from_db()
        assert job.status == "submitted"

    def test_notifications_are_in_the_clients_language(self):
        job = JobFactory(status="submitted", client__language="nl")
        job_services.job_approve(job=job, moderator=AdminFactory())
        message = Notification.objects.get(user=job.client).message
        assert job.title in message
        assert "gepubliceerd" in message.lower()

    def test_a_member_or_client_cannot_moderate(self, client):
        job = JobFactory(status="submitted")
        for user in (MemberFactory(), job.client):
            client.force_login(user)
            assert client.get(reverse("moderation_queue")).status_code == 403
            response = client.post(
                reverse("moderation_job", args=[job.pk]), {"decision": "approve"}
            )
            assert response.status_code == 403
        job.refresh_from_db()
        assert job.status == "submitted"

    def test_approving_twice_is_refused(self, client):
        job = JobFactory(status="submitted")
        moderator(client)
        client.post(reverse("moderation_job", args=[job.pk]), {"decision": "approve"})
        response = client.post(reverse("moderation_job", args=[job.pk]), {"decision": "approve"})
        assert response.status_code == 200
        assert ModerationLog.objects.count() == 1


class TestAttachments:
    def test_attachments_are_checked_stored_privately_and_served_with_access_checks(self, client):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.factories import EXE_BYTES, PDF_BYTES

        owner = ClientFactory()
        client.force_login(owner)
        fake = SimpleUploadedFile("plan.pdf", EXE_BYTES, content_type="application/pdf")
        response = client.post(reverse("job_create"), {**job_form(), "attachments": [fake]})
        assert response.status_code == 200 and "attachments" in response.context["form"].errors
        pdf = SimpleUploadedFile("plan.pdf", PDF_BYTES, content_type="application/pdf")
        client.post(reverse("job_create"), {**job_form(), "attachments": [pdf]})
        job = Job.objects.get()
        attachment = job.attachments.get()
        url = reverse("job_attachment", args=[attachment.pk])
        assert client.get(url).status_code == 200  # the owner
        # A draft's attachment is not for members yet; once published it is.
        member = MemberFactory()
        client.force_login(member)
        assert client.get(url).status_code == 404
        Job.objects.filter(pk=job.pk).update(status="published")
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PDF_BYTES
        client.force_login(ClientFactory())
        assert client.get(url).status_code == 404
        client.logout()
        assert client.get(url).status_code == 302
