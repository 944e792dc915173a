"""Writes of the marketplace app, one module per sub-domain (accounts, jobs, moderation)."""

from marketplace.services.accounts import (
    LanguageLevel,
    client_profile_update,
    member_profile_update,
    user_apply_for_membership,
    user_become_client,
    user_complete_signup,
    user_set_language,
)

__all__ = [
    "LanguageLevel",
    "client_profile_update",
    "member_profile_update",
    "user_apply_for_membership",
    "user_become_client",
    "user_complete_signup",
    "user_set_language",
]
