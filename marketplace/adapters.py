from dataclasses import dataclass

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


@dataclass(frozen=True)
class SiteForMail:
    """What allauth's mail templates call `current_site`: our name, not the request's host."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    """allauth's behaviour with the cooperative's settings (sign-up can be closed by setting)."""

    def is_open_for_signup(self, request) -> bool:
        return getattr(settings, "SIRIUS_SIGNUP_OPEN", True)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        domain = settings.SITE_URL.split("://", 1)[-1]
        context = {"current_site": SiteForMail(name="Sirius", domain=domain), **context}
        super().send_mail(template_prefix, email, context)
