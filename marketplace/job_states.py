"""The life of a job, in one place: which status may follow which.

draft → submitted → published → in progress → completed
             ↘ rejected → submitted (after an edit)
published → submitted (an edit sends it back to review) · published → expired (closing date)
draft, submitted, rejected, published → cancelled (by the client, or when a moderator
suspends the client's account)
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import Job, JobStatus

S = JobStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.PUBLISHED, S.REJECTED, S.CANCELLED}),
    S.REJECTED: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.PUBLISHED: frozenset({S.SUBMITTED, S.IN_PROGRESS, S.EXPIRED, S.CANCELLED}),
    # A contract cancelled before any payment cancels its job too.
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
# The client may change the text of a job in these states (a published job goes back to review).
EDITABLE = frozenset({S.DRAFT, S.SUBMITTED, S.REJECTED, S.PUBLISHED})
# Jobs that are still "open" for the client: cancelled when the client's account is suspended.
OPEN = frozenset({S.DRAFT, S.SUBMITTED, S.REJECTED, S.PUBLISHED})


class IllegalTransition(Exception):
    def __init__(self, job: Job, to: str):
        self.job, self.to = job, to
        super().__init__(
            _("A job that is “%(current)s” cannot become “%(wanted)s”.")
            % {"current": JobStatus(job.status).label, "wanted": JobStatus(to).label}
        )


def can_transition(job: Job, to: str) -> bool:
    return to in ALLOWED[job.status]


def transition(job: Job, to: str) -> Job:
    """Move the job to a new status (not saved). Expects the job's row lock."""
    if not can_transition(job, to):
        raise IllegalTransition(job, to)
    now = timezone.now()
    job.status = to
    job.status_changed_at = now
    if to == S.SUBMITTED:
        job.submitted_at = now
    elif to == S.PUBLISHED:
        job.published_at = now
        job.rejection_reason = ""
    return job
