"""Writes of the marketplace app: every change of users and profiles goes through here."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from marketplace.models import ClientProfile, MemberProfile, Role, User
from matching.models import Language, MemberLanguage


@dataclass(frozen=True)
class LanguageLevel:
    language: Language
    level: str


def user_complete_signup(*, user: User, full_name: str, role: str, language: str = "") -> User:
    """Give a freshly signed-up user their name, site language and first role."""
    with transaction.atomic():
        user.full_name = full_name.strip()
        if language in dict(settings.LANGUAGES):
            user.language = language
        user.save(update_fields=["full_name", "language"])
        if role == Role.MEMBER:
            user_apply_for_membership(user=user)
        else:
            user_become_client(user=user)
    return user


def user_become_client(*, user: User) -> ClientProfile:
    """Let a person hire: a member may be a client too. Idempotent."""
    with transaction.atomic():
        profile, _created = ClientProfile.objects.get_or_create(
            user=user, defaults={"kind": ClientProfile.Kind.INDIVIDUAL}
        )
        if not user.is_client:
            user.is_client = True
            user.save(update_fields=["is_client"])
    return profile


def user_apply_for_membership(*, user: User) -> MemberProfile:
    """Open a member profile with the status 'applicant'. Idempotent.

    The cooperative's general assembly (through an admin) later changes the status to 'member'."""
    with transaction.atomic():
        profile, _created = MemberProfile.objects.get_or_create(
            user=user,
            defaults={"display_name": user.full_name or user.email.split("@")[0]},
        )
        if not user.is_member:
            user.is_member = True
            user.save(update_fields=["is_member"])
    return profile


def user_set_language(*, user: User, language: str) -> User:
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unsupported language {language!r}")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def client_profile_update(
    *, profile: ClientProfile, fields: dict, preferred_languages: Iterable[Language]
) -> ClientProfile:
    """Save validated client profile fields (see ClientProfileForm) and the preferred languages."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(profile, name, value)
        if profile.kind == ClientProfile.Kind.INDIVIDUAL and not profile.organisation_name:
            profile.organisation_name = ""
        profile.full_clean()
        profile.save()
        profile.preferred_languages.set(preferred_languages)
    return profile


def member_profile_update(
    *,
    profile: MemberProfile,
    fields: dict,
    hourly_rate_cents: int | None,
    languages: Iterable[LanguageLevel],
) -> MemberProfile:
    """Save validated member profile fields and replace the member's languages, all or nothing."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.hourly_rate_cents = hourly_rate_cents
        profile.full_clean()
        profile.save()
        wanted = {entry.language.pk: entry.level for entry in languages}
        MemberLanguage.objects.filter(member=profile).exclude(language_id__in=wanted).delete()
        existing = {ml.language_id: ml for ml in MemberLanguage.objects.filter(member=profile)}
        for language_id, level in wanted.items():
            current = existing.get(language_id)
            if current is None:
                MemberLanguage.objects.create(member=profile, language_id=language_id, level=level)
            elif current.level != level:
                current.level = level
                current.save(update_fields=["level"])
    return profile
