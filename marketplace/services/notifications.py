"""In-app notifications and e-mails, each in the recipient's language, sent after commit."""

from django.conf import settings
from django.db import transaction
from django.utils import translation

from marketplace.models import Notification, User
from marketplace.tasks import send_email


def notify(
    *,
    user: User,
    message,
    params: dict | None = None,
    url: str = "",
    email: bool = True,
    kind: str = "",
) -> Notification:
    """Record an in-app notice and, after the transaction commits, e-mail it.

    `message` is a lazy translatable string (gettext_lazy) with %(name)s placeholders: it is
    rendered in the recipient's language, not in the language of whoever triggered it."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = str(message) % (params or {})
    notification = Notification.objects.create(user=user, message=text[:500], url=url, kind=kind)
    if email and user.is_active and user.email:
        body = f"{text}\n\n{settings.SITE_URL}{url}" if url else text
        transaction.on_commit(
            # A header may not hold a line break (BadHeaderError): people's text can.
            lambda: send_email.enqueue(
                subject=f"[Sirius] {' '.join(text[:120].split())}", body=body, to=[user.email]
            )
        )
    return notification


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    from django.utils import timezone

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
