"""The life of a milestone, in one place: which status may follow which.

awaiting funding → funded (the payments issue) → in progress → submitted → approved → released
                                                     ↖ changes requested ↙
funded, in progress, submitted → disputed (the dispute issue); a dispute ends in progress,
approved or cancelled
awaiting funding → cancelled (the contract is cancelled before any payment)
funded, in progress → cancelled (only by mutual agreement through the cooperative)
"""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import Milestone, MilestoneStatus

S = MilestoneStatus
ALLOWED: dict[str, frozenset[str]] = {
    S.AWAITING_FUNDING: frozenset({S.FUNDED, S.CANCELLED}),
    S.FUNDED: frozenset({S.IN_PROGRESS, S.DISPUTED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.SUBMITTED, S.DISPUTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.IN_PROGRESS, S.DISPUTED}),
    S.APPROVED: frozenset({S.RELEASED}),
    S.DISPUTED: frozenset({S.IN_PROGRESS, S.APPROVED, S.CANCELLED}),
    S.RELEASED: frozenset(),
    S.CANCELLED: frozenset(),
}
# A contract may be cancelled freely while every milestone is still in one of these states.
BEFORE_FUNDING = frozenset({S.AWAITING_FUNDING, S.CANCELLED})
# Milestones that count as done when deciding whether a contract is completed.
DONE = frozenset({S.APPROVED, S.RELEASED})


class IllegalTransition(Exception):
    def __init__(self, milestone: Milestone, to: str):
        self.milestone, self.to = milestone, to
        super().__init__(
            _("A milestone that is “%(current)s” cannot become “%(wanted)s”.")
            % {
                "current": MilestoneStatus(milestone.status).label,
                "wanted": MilestoneStatus(to).label,
            }
        )


def can_transition(milestone: Milestone, to: str) -> bool:
    return to in ALLOWED[milestone.status]


def transition(milestone: Milestone, to: str, *, now: datetime.datetime | None = None) -> Milestone:
    """Move the milestone to a new status (not saved). Expects the milestone's row lock."""
    if not can_transition(milestone, to):
        raise IllegalTransition(milestone, to)
    now = now or timezone.now()
    milestone.status = to
    if to == S.SUBMITTED:
        # The automatic approval counts from the latest delivery; its reminders start again.
        milestone.submitted_at = now
        milestone.reminders_sent = 0
    elif to == S.APPROVED:
        milestone.approved_at = now
    elif to == S.IN_PROGRESS:
        milestone.submitted_at = None
    return milestone
