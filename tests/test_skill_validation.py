import datetime
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from matching import selectors, services
from matching.models import (
    EvidenceFile,
    ExpiryNotice,
    Language,
    LanguageDecision,
    Skill,
    SkillClaim,
    SkillDecision,
)
from tests.factories import (
    EXE_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    AdminFactory,
    ClientFactory,
    MemberFactory,
    MemberLanguageFactory,
    SkillClaimFactory,
    ValidatorFactory,
)

pytestmark = pytest.mark.django_db


def css() -> Skill:
    return Skill.objects.get(label_en="style sheet languages")


def claim_data(**overrides):
    data = {
        "skill": str(css().pk),
        "self_level": "advanced",
        "description": "Feuilles de style du site de la boulangerie, responsive.",
        "links": "https://boulangerie.example.be\nhttps://github.com/amina/boulangerie",
    }
    data.update(overrides)
    return data


def decide(client, claim, **data):
    return client.post(reverse("claim_review", args=[claim.pk]), data)


class TestClaiming:
    def test_member_claims_a_skill_with_links_and_files(self, client, settings):
        # Given a member with a PDF attestation and a PNG screenshot
        member = MemberFactory()
        client.force_login(member)
        files = [
            SimpleUploadedFile("attestation.pdf", PDF_BYTES, content_type="application/pdf"),
            SimpleUploadedFile("capture.png", PNG_BYTES, content_type="image/png"),
        ]
        # When they claim the skill
        response = client.post(reverse("skill_claim_new"), {**claim_data(), "files": files})
        # Then the claim waits for a validator, with its evidence stored privately
        claim = SkillClaim.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("skill_claim_detail", args=[claim.pk])
        assert claim.status == SkillClaim.Status.PENDING
        assert claim.member == member.member_profile
        assert [link.url for link in claim.links.all()] == [
            "https://boulangerie.example.be",
            "https://github.com/amina/boulangerie",
        ]
        stored = {f.content_type: f for f in claim.files.all()}
        assert set(stored) == {"application/pdf", "image/png"}
        pdf = stored["application/pdf"]
        assert pdf.original_name == "attestation.pdf"
        assert pdf.size == len(PDF_BYTES)
        path = pdf.file.path
        assert path.startswith(str(settings.PRIVATE_MEDIA_ROOT))
        assert "attestation" not in path  # random name on disk
        assert Path(path).read_bytes() == PDF_BYTES

    def test_a_file_that_only_pretends_to_be_a_pdf_is_refused(self, client):
        client.force_login(MemberFactory())
        fake = SimpleUploadedFile("cv.pdf", EXE_BYTES, content_type="application/pdf")
        response = client.post(reverse("skill_claim_new"), {**claim_data(), "files": [fake]})
        assert response.status_code == 200
        assert "files" in response.context["form"].errors
        html = response.content.decode()
        assert 'id="id_files_error"' in html
        assert "boulangerie.example.be" in html  # the rest of the input is kept
        assert not SkillClaim.objects.exists()
        assert not EvidenceFile.objects.exists()

    def test_a_too_large_file_is_refused(self, client):
        client.force_login(MemberFactory())
        big = SimpleUploadedFile(
            "big.jpg", JPEG_BYTES + b"\0" * (5 * 1024 * 1024), content_type="image/jpeg"
        )
        response = client.post(reverse("skill_claim_new"), {**claim_data(), "files": [big]})
        assert "files" in response.context["form"].errors
        assert not SkillClaim.objects.exists()

    def test_a_claim_needs_some_evidence(self, client):
        client.force_login(MemberFactory())
        response = client.post(reverse("skill_claim_new"), claim_data(description="", links=""))
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert not SkillClaim.objects.exists()

    def test_one_active_claim_per_skill(self, client):
        member = MemberFactory()
        SkillClaimFactory(member=member.member_profile)
        client.force_login(member)
        response = client.post(reverse("skill_claim_new"), claim_data())
        assert response.status_code == 200
        assert "skill" in response.context["form"].errors
        assert SkillClaim.objects.count() == 1

    def test_a_client_cannot_claim_skills(self, client):
        client.force_login(ClientFactory())
        assert client.get(reverse("skill_claim_new")).status_code == 403

    def test_the_claim_form_has_the_autocomplete(self, client):
        client.force_login(MemberFactory())
        html = client.get(reverse("skill_claim_new")).content.decode()
        assert f'hx-get="{reverse("skill_search")}"' in html
        assert '<select name="skill"' in html  # works without JavaScript too


class TestValidating:
    def test_queue_lists_pending_claims_oldest_first_and_never_the_validators_own(self, client):
        validator = ValidatorFactory()
        validator_as_member = MemberFactory(email="trainer-member@example.be", is_validator=True)
        own = SkillClaimFactory(member=validator_as_member.member_profile)
        old = SkillClaimFactory()
        new = SkillClaimFactory(skill=Skill.objects.get(tag="react"))
        SkillClaim.objects.filter(pk=old.pk).update(
            submitted_at=timezone.now() - datetime.timedelta(days=3)
        )
        SkillClaimFactory(status="declined")
        client.force_login(validator)
        response = client.get(reverse("validation_queue"))
        assert [c.pk for c in response.context["claims"]] == [old.pk, own.pk, new.pk]
        client.force_login(validator_as_member)
        response = client.get(reverse("validation_queue"))
        assert own.pk not in [c.pk for c in response.context["claims"]]

    def test_queue_is_for_validators_only(self, client):
        client.force_login(MemberFactory())
        assert client.get(reverse("validation_queue")).status_code == 403
        client.logout()
        assert client.get(reverse("validation_queue")).status_code == 302

    def test_validate_with_level_comment_and_expiry(self, client):
        claim = SkillClaimFactory()
        validator = ValidatorFactory(full_name="Claire Delvaux")
        client.force_login(validator)
        expiry = timezone.localdate() + datetime.timedelta(days=365)
        response = decide(
            client,
            claim,
            kind="validated",
            level="intermediate",
            comment="Bon travail.",
            expires_on=expiry.isoformat(),
        )
        assert response.status_code == 302
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.VALIDATED
        assert claim.validated_level == "intermediate"
        assert claim.validated_by == validator
        assert claim.expires_on == expiry
        (decision,) = claim.decisions.all()
        assert (decision.kind, decision.decided_by, decision.comment) == (
            "validated",
            validator,
            "Bon travail.",
        )
        # The public profile shows the badge, the validator's name and the date.
        html = client.get(reverse("member_profile_detail", args=[claim.member_id])).content.decode()
        assert "badge-validated" in html
        assert "Claire Delvaux" in html
        assert claim.skill.label_fr in html

    def test_validation_needs_a_level_and_a_future_expiry(self, client):
        claim = SkillClaimFactory()
        client.force_login(ValidatorFactory())
        yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
        response = decide(client, claim, kind="validated", level="", expires_on=yesterday)
        assert set(response.context["form"].errors) == {"level", "expires_on"}
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.PENDING
        assert not claim.decisions.exists()

    def test_decline_with_a_reason_the_member_sees(self, client):
        claim = SkillClaimFactory()
        client.force_login(ValidatorFactory())
        response = decide(client, claim, kind="declined", comment="")
        assert "comment" in response.context["form"].errors
        decide(client, claim, kind="declined", comment="Le lien ne montre pas de CSS.")
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.DECLINED
        client.force_login(claim.member.user)
        html = client.get(reverse("skill_claim_detail", args=[claim.pk])).content.decode()
        assert "Le lien ne montre pas de CSS." in html
        # Declined claims can be claimed again, with new evidence.
        response = client.post(reverse("skill_claim_new"), claim_data())
        assert response.status_code == 302

    def test_more_evidence_then_back_in_the_queue(self, client):
        claim = SkillClaimFactory()
        validator = ValidatorFactory()
        client.force_login(validator)
        decide(client, claim, kind="more_evidence", comment="Un lien vers le dépôt, svp.")
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.MORE_EVIDENCE
        assert claim not in selectors.validation_queue(validator=validator)

        client.force_login(claim.member.user)
        jpeg = SimpleUploadedFile("preuve.jpg", JPEG_BYTES, content_type="image/jpeg")
        response = client.post(
            reverse("skill_claim_detail", args=[claim.pk]),
            {"links": "https://gitlab.com/amina/site", "files": [jpeg], "note": "Voici le dépôt."},
        )
        assert response.status_code == 302
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.PENDING
        assert claim.links.filter(url="https://gitlab.com/amina/site").exists()
        assert claim.files.filter(content_type="image/jpeg").exists()
        assert claim in selectors.validation_queue(validator=validator)

    def test_a_validator_cannot_validate_their_own_skills(self, client):
        trainer = MemberFactory(is_validator=True)
        claim = SkillClaimFactory(member=trainer.member_profile)
        client.force_login(trainer)
        assert client.get(reverse("claim_review", args=[claim.pk])).status_code == 403
        assert decide(client, claim, kind="validated", level="expert").status_code == 403
        with pytest.raises(PermissionDenied):
            services.skill_claim_decide(
                claim=claim,
                validator=trainer,
                decision=services.DecisionInput(kind="validated", level="expert"),
            )
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.PENDING

    def test_a_member_or_client_cannot_decide(self, client):
        claim = SkillClaimFactory()
        for user in (MemberFactory(), ClientFactory()):
            client.force_login(user)
            assert decide(client, claim, kind="validated", level="expert").status_code == 403
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.PENDING

    def test_a_decided_claim_cannot_be_decided_again(self, client):
        claim = SkillClaimFactory()
        client.force_login(ValidatorFactory())
        decide(client, claim, kind="validated", level="advanced")
        response = decide(client, claim, kind="declined", comment="Finalement non.")
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert claim.decisions.count() == 1

    def test_decisions_cannot_be_edited_or_deleted(self):
        claim = SkillClaimFactory()
        decision = services.skill_claim_decide(
            claim=claim,
            validator=ValidatorFactory(),
            decision=services.DecisionInput(kind="validated", level="advanced"),
        )
        decision.comment = "changed afterwards"
        with pytest.raises(ValueError, match="cannot be edited"):
            decision.save()
        with pytest.raises(ValueError, match="cannot be deleted"):
            decision.delete()
        assert SkillDecision.objects.get(pk=decision.pk).comment == ""


class TestRevokingAndExpiry:
    def validated(self, **kwargs) -> SkillClaim:
        claim = SkillClaimFactory(**kwargs)
        services.skill_claim_decide(
            claim=claim,
            validator=ValidatorFactory(),
            decision=services.DecisionInput(kind="validated", level="advanced"),
        )
        claim.refresh_from_db()
        return claim

    def test_an_admin_revokes_with_a_reason_and_the_new_decision_supersedes(self, client):
        claim = self.validated()
        first = claim.decisions.get()
        admin = AdminFactory()
        client.force_login(admin)
        from tests.test_admin_mfa import record_mfa

        record_mfa(client, admin)
        response = client.post(reverse("claim_revoke", args=[claim.pk]), {"reason": "Plagiat."})
        assert response.status_code == 302
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.REVOKED
        revocation = claim.decisions.get(kind="revoked")
        assert revocation.supersedes == first
        assert revocation.comment == "Plagiat."
        assert claim not in selectors.validated_skills(member=claim.member)

    def test_a_validator_who_is_not_admin_cannot_revoke(self, client):
        claim = self.validated()
        client.force_login(ValidatorFactory())
        response = client.post(reverse("claim_revoke", args=[claim.pk]), {"reason": "Non."})
        assert response.status_code == 403
        claim.refresh_from_db()
        assert claim.status == SkillClaim.Status.VALIDATED

    def test_an_expired_validation_stops_counting(self, client):
        claim = self.validated()
        SkillClaim.objects.filter(pk=claim.pk).update(
            expires_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        assert not selectors.validated_skills(member=claim.member).exists()
        assert claim in selectors.unvalidated_skills(member=claim.member)
        html = client.get(reverse("member_profile_detail", args=[claim.member_id])).content.decode()
        assert "badge-claimed" in html
        assert "badge-validated" not in html

    def test_members_are_told_once_ahead_of_expiry(self, django_capture_on_commit_callbacks):
        soon = self.validated()
        SkillClaim.objects.filter(pk=soon.pk).update(
            expires_on=timezone.localdate() + datetime.timedelta(days=10)
        )
        later = self.validated(skill=Skill.objects.get(tag="react"))
        SkillClaim.objects.filter(pk=later.pk).update(
            expires_on=timezone.localdate() + datetime.timedelta(days=200)
        )
        with django_capture_on_commit_callbacks(execute=True):
            call_command("notify_expiring_validations", "--days", "30")
            call_command("notify_expiring_validations", "--days", "30")
        assert ExpiryNotice.objects.count() == 1
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [soon.member.user.email]
        assert "/member/skills/" in mail.outbox[0].body


class TestEvidenceAccess:
    @pytest.fixture
    def evidence(self):
        claim = SkillClaimFactory()
        upload = SimpleUploadedFile("attestation.pdf", PDF_BYTES, content_type="application/pdf")
        services.skill_claim_add_evidence(claim=claim, member=claim.member, files=[upload])
        return claim.files.get()

    def url(self, evidence):
        return reverse("evidence_file", args=[evidence.pk])

    def test_the_member_and_validators_can_open_it(self, client, evidence):
        client.force_login(evidence.claim.member.user)
        response = client.get(self.url(evidence))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        client.force_login(ValidatorFactory())
        assert client.get(self.url(evidence)).status_code == 200

    def test_another_member_a_client_and_anonymous_cannot(self, client, evidence):
        client.force_login(MemberFactory())
        assert client.get(self.url(evidence)).status_code == 404
        # A client sees evidence only of members who bid on their jobs (none has, here).
        client.force_login(ClientFactory())
        assert client.get(self.url(evidence)).status_code == 404
        client.logout()
        response = client.get(self.url(evidence))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))

    def test_files_are_not_under_the_web_root(self, evidence, settings):
        assert not evidence.file.path.startswith(str(settings.BASE_DIR / "static"))
        assert not evidence.file.path.startswith(str(settings.STATIC_ROOT))

    def test_another_member_cannot_open_the_claim_page(self, client, evidence):
        client.force_login(MemberFactory())
        url = reverse("skill_claim_detail", args=[evidence.claim_id])
        assert client.get(url).status_code == 404


class TestLanguages:
    def test_a_validator_confirms_a_level(self, client):
        entry = MemberLanguageFactory(level="B2")
        validator = ValidatorFactory()
        client.force_login(validator)
        response = client.post(
            reverse("language_confirm", args=[entry.pk]), {"level": "B1", "comment": "Entretien."}
        )
        assert response.status_code == 302
        entry.refresh_from_db()
        assert (entry.level, entry.validated_level, entry.validated_by) == ("B2", "B1", validator)
        assert LanguageDecision.objects.get().comment == "Entretien."
        html = client.get(reverse("member_profile_detail", args=[entry.member_id])).content.decode()
        assert "B1" in html and "badge-validated" in html

    def test_bad_level_and_self_confirmation_are_refused(self, client):
        trainer = MemberFactory(is_validator=True)
        own = MemberLanguageFactory(member=trainer.member_profile)
        other = MemberLanguageFactory(language=Language.objects.get(code="ar"))
        client.force_login(trainer)
        assert (
            client.post(reverse("language_confirm", args=[own.pk]), {"level": "C2"}).status_code
            == 403
        )
        response = client.post(reverse("language_confirm", args=[other.pk]), {"level": "D1"})
        assert "level" in response.context["form"].errors
        assert not LanguageDecision.objects.exists()
