"""Erasing an account at its owner's request (GDPR art. 17).

What goes: the person's name, e-mail, profile (bio, links, IBAN, address, VAT number), the free
text they wrote (bids, messages, deliveries, reviews, dispute statements and evidence, reports),
every file they uploaded, their notifications, sessions, API tokens, second factors and e-mail
addresses. What stays, because the law or the other people involved need it: the account row
itself (anonymised: invoices, payments and ledger entries point at it), invoices and credit
notes exactly as issued (immutable documents with their buyer snapshot), payments, refunds and
payout lines (accounting records), every ledger entry, amounts and states of bids, contracts
and milestones, ratings, skill and language decisions (the validators' records), the moderation
log, and the member's entries in the cooperative's register (governance: kept by law).

An erasure waits while money is in flight or work is open (marketplace.selectors.privacy
.erasure_blockers) and is one transaction; files leave storage only after it commits."""

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from marketplace import locks
from marketplace.models import (
    AccountErasure,
    Bid,
    BidMessage,
    ClientProfile,
    ContractEvent,
    Delivery,
    DeliveryFile,
    Dispute,
    DisputeEvidence,
    DisputeEvidenceFile,
    DisputeProposal,
    Job,
    JobAttachment,
    JobStatus,
    MemberProfile,
    Notification,
    Report,
    Review,
    User,
)
from marketplace.selectors.privacy import erasure_blockers
from matching.models import EvidenceFile, EvidenceLink, MemberLanguage, SkillClaim

ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never routable, never delivered


def erased_email(user: User) -> str:
    return f"erased-{user.pk}@{ERASED_EMAIL_DOMAIN}"


def _in_site_language(function, *args):
    """Placeholders are stored data, shown to everybody: written in the site's own language."""
    with translation.override(settings.LANGUAGE_CODE):
        return function(*args)


def _placeholder_name(user: User) -> str:
    if user.is_member:
        return _("Former member #%(number)d") % {"number": user.pk}
    if user.is_client:
        return _("Former client #%(number)d") % {"number": user.pk}
    return _("Former user #%(number)d") % {"number": user.pk}


def _erased_job_title(job_id: int) -> str:
    return _("Erased job #%(number)d") % {"number": job_id}


def erased_name(user: User) -> str:
    """The name an erased account goes by ("Former member #12"), in the site's language."""
    return _in_site_language(_placeholder_name, user)


def _placeholder_text() -> str:
    return _("[erased at the request of its author]")


def _delete_files_after_commit(records) -> int:
    """Delete the rows now and their files once the transaction has committed (a rollback
    must not leave rows pointing at files that are gone)."""
    records = list(records)
    names = [(record.file.storage, record.file.name) for record in records if record.file]
    for record in records:
        type(record).objects.filter(pk=record.pk).delete()

    def remove() -> None:
        for storage, name in names:
            storage.delete(name)

    transaction.on_commit(remove)
    return len(records)


def _delete_sessions_of(user: User) -> int:
    """Every session of this user (sessions are not indexed by user: decode the live ones)."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    for key in keys:
        store(session_key=key).delete()  # the cache too, for the cached_db engine
    return len(keys)


def _delete_credentials(user: User) -> dict[str, int]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from rest_framework.authtoken.models import Token

    return {
        "api_tokens": Token.objects.filter(user=user).delete()[0],
        "authenticators": Authenticator.objects.filter(user=user).delete()[0],
        "email_addresses": EmailAddress.objects.filter(user=user).delete()[0],
        "sessions": _delete_sessions_of(user),
    }


def _erase_client_side(user: User, text: str) -> dict[str, int]:
    ClientProfile.objects.filter(user=user).update(
        kind=ClientProfile.Kind.INDIVIDUAL,
        organisation_name="",
        vat_number="",
        street="",
        postal_code="",
        city="",
    )
    for profile in ClientProfile.objects.filter(user=user):
        profile.preferred_languages.clear()
    jobs = Job.objects.filter(client=user)
    files = _delete_files_after_commit(JobAttachment.objects.filter(job__client=user))
    # A job that became a contract keeps its title (the member's history and the invoices
    # name the work); everything else they wrote goes.
    untitled = jobs.exclude(status__in=[JobStatus.IN_PROGRESS, JobStatus.COMPLETED])
    for job_id in untitled.values_list("pk", flat=True):
        Job.objects.filter(pk=job_id).update(title=_in_site_language(_erased_job_title, job_id))
    count = jobs.update(
        description=text,
        description_html=f"<p>{text}</p>",
        search_text="",
        rejection_reason="",
        contact_flags=[],
    )
    return {"jobs": count, "job_files": files}


def _erase_member_side(profile: MemberProfile, name: str, text: str) -> dict[str, int]:
    MemberProfile.objects.filter(pk=profile.pk).update(
        display_name=name[:80],
        bio="",
        portfolio_links=[],
        hourly_rate_cents=None,
        availability=MemberProfile.Availability.UNAVAILABLE,
        hours_per_week=None,
        iban="",
        is_hidden=True,
        job_alerts_by_email=False,
    )
    claims = SkillClaim.objects.filter(member=profile)
    files = _delete_files_after_commit(EvidenceFile.objects.filter(claim__member=profile))
    EvidenceLink.objects.filter(claim__member=profile).delete()
    claims.update(description="")
    MemberLanguage.objects.filter(member=profile).delete()
    bids = Bid.objects.filter(member=profile).update(cover_message=text, contact_flags=[])
    deliveries = Delivery.objects.filter(milestone__contract__member=profile)
    files += _delete_files_after_commit(
        DeliveryFile.objects.filter(delivery__milestone__contract__member=profile)
    )
    deliveries.update(message=text, links=[])
    return {"bids": bids, "member_files": files}


def _erase_shared_text(user: User, text: str) -> dict[str, int]:
    """Free text this person wrote where others also write: only their own words go."""
    counts = {
        "messages": BidMessage.objects.filter(sender=user).update(body=text, contact_flags=[]),
        "reviews": Review.objects.filter(author=user).update(text=text),
        "reports": Report.objects.filter(reporter=user).update(details=text),
        "dispute_statements": Dispute.objects.filter(opened_by=user).update(account=text)
        + Dispute.objects.filter(answered_by=user).update(answer=text),
        "dispute_proposals": DisputeProposal.objects.filter(proposed_by=user).update(note=text),
    }
    # Evidence and contract events are append-only records (their model refuses edits); an
    # erasure required by law is the one exception, done here through the queryset.
    counts["dispute_evidence"] = DisputeEvidence.objects.filter(author=user).update(
        text=text, links=[]
    )
    counts["dispute_files"] = _delete_files_after_commit(
        DisputeEvidenceFile.objects.filter(evidence__author=user)
    )
    counts["contract_notes"] = (
        ContractEvent.objects.filter(actor=user).exclude(note="").update(note=text)
    )
    return counts


def account_erase(*, user: User, requested_by: User) -> AccountErasure:
    """Anonymise this account in one transaction and record it. Refused (ValidationError with
    every reason) while money is in flight or work is open. Erasing an erased account returns
    the first record and changes nothing."""
    with transaction.atomic():
        user = locks.lock_user(user.pk)
        existing = AccountErasure.objects.filter(user=user).first()
        if existing is not None:
            return existing
        if requested_by.pk != user.pk and not requested_by.is_staff:
            raise ValidationError(_("Only the account's owner can erase it."), code="forbidden")
        blockers = erasure_blockers(user=user)
        if blockers:
            raise ValidationError([ValidationError(b.message, code=b.code) for b in blockers])
        name = erased_name(user)
        text = _in_site_language(_placeholder_text)
        summary: dict[str, int] = {}
        summary.update(_erase_shared_text(user, text))
        if user.is_client or Job.objects.filter(client=user).exists():
            summary.update(_erase_client_side(user, text))
        profile = MemberProfile.objects.filter(user=user).first()
        if profile is not None:
            summary.update(_erase_member_side(profile, name, text))
        summary["notifications"] = Notification.objects.filter(user=user).delete()[0]
        summary.update(_delete_credentials(user))
        user.email = erased_email(user)
        user.full_name = name
        user.language = ""
        user.is_active = False
        user.suspension_reason = ""
        user.set_unusable_password()
        user.save()
        return AccountErasure.objects.create(user=user, requested_by=requested_by, summary=summary)
