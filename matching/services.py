"""Writes of the matching app: skill claims, their evidence, validators' decisions, languages.

Every state change of a claim takes the claim's row lock (matching.locks), writes one immutable
SkillDecision where a decision is made, and updates the claim in the same transaction."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import MemberProfile, User
from matching import evidence, locks
from matching.models import (
    EvidenceFile,
    EvidenceLink,
    LanguageDecision,
    MemberLanguage,
    Skill,
    SkillClaim,
    SkillDecision,
)

MAX_LINKS_PER_CLAIM = 10
MAX_FILES_PER_CLAIM = 10


@dataclass(frozen=True)
class DecisionInput:
    kind: str
    comment: str = ""
    level: str = ""
    expires_on: datetime.date | None = None


def _add_evidence(
    *, claim: SkillClaim, links: Iterable[str], files: Iterable[UploadedFile]
) -> None:
    links = [link for link in links if link]
    files = list(files)
    if claim.links.count() + len(links) > MAX_LINKS_PER_CLAIM:
        raise ValidationError(
            _("At most %(max)d links per skill.") % {"max": MAX_LINKS_PER_CLAIM}, code="too_many"
        )
    if claim.files.count() + len(files) > MAX_FILES_PER_CLAIM:
        raise ValidationError(
            _("At most %(max)d files per skill.") % {"max": MAX_FILES_PER_CLAIM}, code="too_many"
        )
    checked_files = [(upload, evidence.check_upload(upload)) for upload in files]
    for url in links:
        EvidenceLink.objects.create(claim=claim, url=url)
    for upload, checked in checked_files:
        EvidenceFile(claim=claim).store(upload, checked)


def skill_claim_create(
    *,
    member: MemberProfile,
    skill: Skill,
    self_level: str,
    description: str,
    links: Iterable[str] = (),
    files: Iterable[UploadedFile] = (),
) -> SkillClaim:
    """A member claims a skill, with evidence. One active claim per skill and member."""
    with transaction.atomic():
        # A validation past its expiry date makes way for the new claim.
        SkillClaim.objects.filter(
            member=member,
            skill=skill,
            status=SkillClaim.Status.VALIDATED,
            expires_on__lt=timezone.localdate(),
        ).update(status=SkillClaim.Status.EXPIRED)
        if SkillClaim.objects.filter(
            member=member, skill=skill, status__in=SkillClaim.ACTIVE
        ).exists():
            raise ValidationError(
                _("You already have a claim for this skill."), code="duplicate_claim"
            )
        try:
            with transaction.atomic():
                claim = SkillClaim.objects.create(
                    member=member, skill=skill, self_level=self_level, description=description
                )
        except IntegrityError as error:  # a concurrent request claimed it first
            raise ValidationError(
                _("You already have a claim for this skill."), code="duplicate_claim"
            ) from error
        _add_evidence(claim=claim, links=links, files=files)
    return claim


def skill_claim_add_evidence(
    *,
    claim: SkillClaim,
    member: MemberProfile,
    links: Iterable[str] = (),
    files: Iterable[UploadedFile] = (),
    note: str = "",
) -> SkillClaim:
    """The member adds evidence; a claim waiting for more evidence goes back to the queue."""
    with transaction.atomic():
        claim = locks.lock_claim(claim.pk)
        if claim.member_id != member.pk:
            raise PermissionDenied
        if claim.status not in (SkillClaim.Status.PENDING, SkillClaim.Status.MORE_EVIDENCE):
            raise ValidationError(
                _("Evidence can only be added while the claim is being reviewed."),
                code="closed",
            )
        _add_evidence(claim=claim, links=links, files=files)
        if note:
            claim.description = f"{claim.description}\n\n{note}".strip()
        if claim.status == SkillClaim.Status.MORE_EVIDENCE:
            claim.status = SkillClaim.Status.PENDING
            claim.submitted_at = timezone.now()
        claim.save()
    return claim


def skill_claim_withdraw(*, claim: SkillClaim, member: MemberProfile) -> SkillClaim:
    with transaction.atomic():
        claim = locks.lock_claim(claim.pk)
        if claim.member_id != member.pk:
            raise PermissionDenied
        if claim.status not in (SkillClaim.Status.PENDING, SkillClaim.Status.MORE_EVIDENCE):
            raise ValidationError(_("Only a claim under review can be withdrawn."), code="closed")
        claim.status = SkillClaim.Status.WITHDRAWN
        claim.save(update_fields=["status"])
    return claim


def _check_can_validate(*, claim: SkillClaim, validator: User) -> None:
    if not (validator.is_validator or validator.is_staff):
        raise PermissionDenied(_("Only validators can decide on skill claims."))
    if claim.member.user_id == validator.pk:
        raise PermissionDenied(_("You cannot validate your own skills."))


def skill_claim_decide(
    *, claim: SkillClaim, validator: User, decision: DecisionInput
) -> SkillDecision:
    """Validate (with a level, a comment, an optional expiry), decline (with a reason the member
    sees) or ask for more evidence. Only for a claim waiting for a validator."""
    allowed = {
        SkillDecision.Kind.VALIDATED,
        SkillDecision.Kind.DECLINED,
        SkillDecision.Kind.MORE_EVIDENCE,
    }
    if decision.kind not in allowed:
        raise ValueError(f"not a validator's decision: {decision.kind!r}")
    with transaction.atomic():
        claim = locks.lock_claim(claim.pk)
        _check_can_validate(claim=claim, validator=validator)
        if claim.status != SkillClaim.Status.PENDING:
            raise ValidationError(
                _("This claim is no longer waiting for a decision (it is “%(status)s”).")
                % {"status": claim.get_status_display()},
                code="not_pending",
            )
        if decision.kind == SkillDecision.Kind.VALIDATED:
            if not decision.level:
                raise ValidationError(_("Choose the level you validate."), code="level")
            today = timezone.localdate()
            if decision.expires_on is not None and decision.expires_on <= today:
                raise ValidationError(_("The expiry date must be in the future."), code="expiry")
        elif not decision.comment.strip():
            raise ValidationError(
                _("Tell the member why: they will see your reason."), code="reason"
            )
        record = _record_decision(claim=claim, by=validator, decision=decision)
        if decision.kind == SkillDecision.Kind.VALIDATED:
            claim.status = SkillClaim.Status.VALIDATED
            claim.validated_level = decision.level
            claim.validated_by = validator
            claim.validated_at = record.decided_at
            claim.expires_on = decision.expires_on
        elif decision.kind == SkillDecision.Kind.DECLINED:
            claim.status = SkillClaim.Status.DECLINED
        else:
            claim.status = SkillClaim.Status.MORE_EVIDENCE
        claim.save()
    return record


def skill_validation_revoke(*, claim: SkillClaim, admin: User, reason: str) -> SkillDecision:
    """An admin withdraws a validation, with a reason the member sees."""
    if not admin.is_staff:
        raise PermissionDenied(_("Only admins can revoke a validation."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for revoking."), code="reason")
    with transaction.atomic():
        claim = locks.lock_claim(claim.pk)
        if claim.status != SkillClaim.Status.VALIDATED:
            raise ValidationError(_("Only a validated skill can be revoked."), code="not_validated")
        record = _record_decision(
            claim=claim,
            by=admin,
            decision=DecisionInput(kind=SkillDecision.Kind.REVOKED, comment=reason),
        )
        claim.status = SkillClaim.Status.REVOKED
        claim.save(update_fields=["status"])
    return record


def _record_decision(*, claim: SkillClaim, by: User, decision: DecisionInput) -> SkillDecision:
    """Expects the claim's row lock. The new decision supersedes the claim's latest one."""
    latest = claim.decisions.order_by("-decided_at", "-pk").first()
    return SkillDecision.objects.create(
        claim=claim,
        kind=decision.kind,
        decided_by=by,
        level=decision.level if decision.kind == SkillDecision.Kind.VALIDATED else "",
        comment=decision.comment.strip(),
        expires_on=decision.expires_on if decision.kind == SkillDecision.Kind.VALIDATED else None,
        supersedes=latest,
    )


def language_level_confirm(
    *, member_language: MemberLanguage, validator: User, level: str, comment: str = ""
) -> LanguageDecision:
    """A validator confirms a member's CEFR level in a language (after an interview or a test)."""
    with transaction.atomic():
        member_language = locks.lock_member_language(member_language.pk)
        if not (validator.is_validator or validator.is_staff):
            raise PermissionDenied(_("Only validators can confirm language levels."))
        if member_language.member.user_id == validator.pk:
            raise PermissionDenied(_("You cannot validate your own languages."))
        record = LanguageDecision.objects.create(
            member=member_language.member,
            language=member_language.language,
            level=level,
            comment=comment.strip(),
            decided_by=validator,
        )
        member_language.validated_level = level
        member_language.validated_by = validator
        member_language.validated_at = record.decided_at
        member_language.save(update_fields=["validated_level", "validated_by", "validated_at"])
    return record


def validations_notify_expiring(*, within_days: int = 30) -> int:
    """Tell each member, once per validation, that it expires within `within_days` days.

    Idempotent: the unique ExpiryNotice per decision makes a second pass send nothing."""
    from django.conf import settings
    from django.urls import reverse
    from django.utils import translation

    from marketplace.tasks import send_email
    from matching.models import ExpiryNotice
    from matching.selectors import validations_expiring

    sent = 0
    for claim in validations_expiring(within_days=within_days):
        decision = (
            claim.decisions.filter(kind=SkillDecision.Kind.VALIDATED)
            .order_by("-decided_at", "-pk")
            .first()
        )
        if decision is None:
            continue
        with transaction.atomic():
            _notice, created = ExpiryNotice.objects.get_or_create(decision=decision)
            if not created:
                continue
            user = claim.member.user
            with translation.override(user.language or settings.LANGUAGE_CODE):
                subject = _("Your validation of “%(skill)s” expires on %(date)s") % {
                    "skill": claim.skill.label,
                    "date": claim.expires_on.isoformat(),
                }
                body = _(
                    "Hello %(name)s,\n\nThe validation of your skill “%(skill)s” expires on "
                    "%(date)s. After that date it no longer counts in matching. To keep it, "
                    "claim the skill again with recent evidence:\n%(url)s\n\nThe Sirius cooperative"
                ) % {
                    "name": claim.member.display_name,
                    "skill": claim.skill.label,
                    "date": claim.expires_on.isoformat(),
                    "url": f"{settings.SITE_URL}{reverse('my_skills')}",
                }
            transaction.on_commit(
                lambda s=subject, b=body, to=user.email: send_email.enqueue(
                    subject=s, body=b, to=[to]
                )
            )
            sent += 1
    return sent
