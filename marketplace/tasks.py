"""Background work of the marketplace (django-tasks: immediate in the demo and tests, a
database queue with a worker in production; see README)."""

from django.core.mail import send_mail
from django_tasks import task


@task()
def send_email(*, subject: str, body: str, to: list[str]) -> int:
    """Send one e-mail. Run outside the request, so a mail server that is down never turns a
    committed change into an error page; a failed run is recorded by the task backend."""
    return send_mail(subject, body, None, to)
