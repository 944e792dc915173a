"""The member register and the cooperative's votes.

Register: ``MembershipChange`` and ``ShareMovement`` are append-only histories written only by
governance.services (``membership_status_change``, ``member_shares_change``), which keep
``MemberProfile.membership_status`` / ``membership_since`` in step in the same transaction.

Votes: a ``Proposal`` has options; at its opening the electoral roll is frozen
(``RollEntry``, one row per member eligible on the opening date, which records *that* the
member voted and nothing else). The choice lives in ``Ballot``, which has no link to any user
and no time: it carries ``voter_key`` = HMAC(the proposal's random secret, member id) so that a
member can change their vote while it is open. The secret is wiped at the close, after which
nobody, database included, can tie a ballot to a member again.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from marketplace.models import MemberProfile

Membership = MemberProfile.Membership


def format_rate(rate_bp: int) -> str:
    """Basis points as a percentage: 1000 → "10 %", 1250 → "12.5 %" ("12,5 %" in French)."""
    percent = Decimal(rate_bp) / 100
    places = 0 if rate_bp % 100 == 0 else (1 if rate_bp % 10 == 0 else 2)
    return f"{number_format(percent, places)} %"


class MembershipChange(models.Model):
    """A change of a member's status in the register, effective on a date. Never edited: a
    mistake is corrected by a new change."""

    member = models.ForeignKey(
        MemberProfile,
        on_delete=models.PROTECT,
        related_name="membership_changes",
        verbose_name=_("member"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Membership.choices)
    effective_on = models.DateField(_("effective on"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["effective_on", "pk"]
        verbose_name = _("membership status change")
        verbose_name_plural = _("membership status changes")
        indexes = [models.Index(fields=["member", "effective_on"], name="gov_change_member_date")]

    def __str__(self) -> str:
        return f"{self.member} → {self.get_status_display()} ({self.effective_on})"


class ShareMovement(models.Model):
    """Shares subscribed (positive) or paid back (negative) on a date. A member's holding is
    the sum; the service refuses a movement that would make it negative."""

    member = models.ForeignKey(
        MemberProfile,
        on_delete=models.PROTECT,
        related_name="share_movements",
        verbose_name=_("member"),
    )
    effective_on = models.DateField(_("date"))
    shares = models.IntegerField(_("shares (+ subscribed, - paid back)"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["effective_on", "pk"]
        verbose_name = _("share movement")
        verbose_name_plural = _("share movements")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(shares=0), name="gov_share_movement_not_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.shares:+d} ({self.effective_on})"


class ProposalKind(models.TextChoices):
    SOLIDARITY_RATE = "solidarity_rate", _("solidarity share rate")
    GENERAL = "general", _("general question")


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("draft, collecting signatures")
    SCHEDULED = "scheduled", _("scheduled")
    OPEN = "open", _("open for votes")
    CLOSED = "closed", _("closed, result published")
    CANCELLED = "cancelled", _("cancelled")


class ProposalOutcome(models.TextChoices):
    DECIDED = "decided", _("decided")
    NO_QUORUM = "no_quorum", _("no decision: quorum not reached")
    TIE = "tie", _("no decision: tie")


class Proposal(models.Model):
    """A question put to the members. Once closed, the result fields are its permanent
    record; nothing changes it afterwards (the services refuse, the admin is read-only)."""

    kind = models.CharField(_("kind"), max_length=20, choices=ProposalKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    question = models.CharField(_("question"), max_length=300)
    explanation = models.TextField(_("explanation"), max_length=10000)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    quorum_percent = models.PositiveSmallIntegerField(_("quorum (% of eligible members)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Random, never shown, wiped at the close (see the module docstring).
    ballot_secret = models.CharField(max_length=64, blank=True, editable=False)
    # The record, filled at the opening and the close.
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    eligible_count = models.PositiveIntegerField(_("eligible members"), null=True, blank=True)
    turnout_count = models.PositiveIntegerField(_("votes cast"), null=True, blank=True)
    quorum_votes = models.PositiveIntegerField(_("votes needed for quorum"), null=True, blank=True)
    quorum_reached = models.BooleanField(_("quorum reached"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=ProposalOutcome.choices, blank=True
    )
    winning_option = models.ForeignKey(
        "ProposalOption",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("chosen option"),
    )
    decided_rate = models.OneToOneField(
        "payments.SolidarityRate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposal",
        verbose_name=_("solidarity rate decided"),
    )

    class Meta:
        ordering = ["-opens_at", "-pk"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="gov_proposal_closes_after_opens",
            ),
            models.CheckConstraint(
                condition=models.Q(quorum_percent__gte=1, quorum_percent__lte=100),
                name="gov_proposal_quorum_percent_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "closes_at"], name="gov_proposal_status_close")]

    def __str__(self) -> str:
        return self.question

    @property
    def is_rate(self) -> bool:
        return self.kind == ProposalKind.SOLIDARITY_RATE

    @property
    def turnout_percent(self):
        if not self.eligible_count or self.turnout_count is None:
            return None
        return round(100 * self.turnout_count / self.eligible_count, 1)


class ProposalOption(models.Model):
    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="options", verbose_name=_("proposal")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    label = models.CharField(_("option"), max_length=200, blank=True)
    rate_bp = models.PositiveSmallIntegerField(_("rate (basis points)"), null=True, blank=True)
    # Filled at the close: the published count.
    vote_count = models.PositiveIntegerField(_("votes"), null=True, blank=True)

    class Meta:
        ordering = ["position"]
        verbose_name = _("option")
        verbose_name_plural = _("options")
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "position"], name="gov_option_position_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rate_bp__isnull=True) | models.Q(rate_bp__lte=5000),
                name="gov_option_rate_at_most_half",
            ),
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        """The option as people read it; a rate in percent, in the active language's
        notation (12,5 % in French)."""
        if self.rate_bp is not None:
            return format_rate(self.rate_bp)
        return self.label


class ProposalSignature(models.Model):
    """A member's support for a draft put forward by a member (the statutes' initiative)."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="signatures", verbose_name=_("proposal")
    )
    member = models.ForeignKey(
        MemberProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "member"], name="gov_signature_one_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} — {self.proposal}"


class RollEntry(models.Model):
    """One member on a proposal's electoral roll, frozen at the opening. Records whether they
    voted — deliberately no time of vote and no choice."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.PROTECT, related_name="roll", verbose_name=_("proposal")
    )
    member = models.ForeignKey(
        MemberProfile, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    has_voted = models.BooleanField(_("has voted"), default=False)

    class Meta:
        verbose_name = _("electoral roll entry")
        verbose_name_plural = _("electoral roll")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "member"], name="gov_roll_one_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.member} — {self.proposal}"


class Ballot(models.Model):
    """A secret ballot: no link to a user, no time, a random primary key. ``voter_key`` lets
    the voter's own later vote replace this one while the secret exists (one per voter and
    proposal, a database constraint)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="ballots")
    voter_key = models.CharField(max_length=64)
    option = models.ForeignKey(ProposalOption, on_delete=models.PROTECT, related_name="ballots")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "voter_key"], name="gov_ballot_one_per_voter"
            ),
        ]

    def __str__(self) -> str:
        return str(self.pk)  # nothing that could say whose it is
