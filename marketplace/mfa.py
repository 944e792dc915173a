"""Second-factor state of a staff session, read from allauth's records."""

from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class MfaStatus:
    enabled: bool
    used_this_session: bool

    @property
    def satisfied(self) -> bool:
        return self.enabled and self.used_this_session


def staff_mfa_status(request: HttpRequest) -> MfaStatus:
    # Imported here: this module is loaded while the app registry is still being populated.
    from allauth.account.authentication import get_authentication_records
    from allauth.mfa.utils import is_mfa_enabled

    user = request.user
    if not user.is_authenticated:
        return MfaStatus(enabled=False, used_this_session=False)
    records = get_authentication_records(request, user)
    return MfaStatus(
        enabled=is_mfa_enabled(user),
        used_this_session=any(record.get("method") == "mfa" for record in records),
    )
