from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """allauth's behaviour with the cooperative's settings (sign-up can be closed by setting)."""

    def is_open_for_signup(self, request) -> bool:
        return getattr(settings, "SIRIUS_SIGNUP_OPEN", True)
