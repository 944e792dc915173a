"""Disputes about a milestone: the case, the evidence, the proposals between the two sides, the
cooperative's decisions and the append-only history.

While a dispute is open its milestone is "disputed": the money stays held (no release, no
refund, no automatic approval). A dispute ends settled (the two sides agreed on a split) or
decided (an admin who took no part in the job decided). Decisions and events are records: never
edited, never deleted; a correction is a new decision linked to the one it corrects.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.uploads import PrivateUpload
from matching.models import ImmutableRecord


class DisputeReason(models.TextChoices):
    NOT_DELIVERED = "not_delivered", _("the work was not delivered")
    NOT_AS_AGREED = "not_as_agreed", _("the work does not match what was agreed")
    QUALITY = "quality", _("the quality of the work is not acceptable")
    LATE = "late", _("the work is very late")
    SCOPE = "scope", _("more is asked than what was agreed")
    UNRESPONSIVE = "unresponsive", _("the other side does not answer")
    OTHER = "other", _("another reason")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("open")
    SETTLED = "settled", _("settled by agreement")
    DECIDED = "decided", _("decided by the cooperative")


class DisputeSide(models.TextChoices):
    CLIENT = "client", _("client")
    MEMBER = "member", _("member")


class Dispute(models.Model):
    """One disagreement about one milestone. At most one is open per milestone (a partial
    unique constraint): two people opening at the same moment get one dispute."""

    contract = models.ForeignKey(
        "marketplace.Contract", on_delete=models.PROTECT, related_name="disputes"
    )
    milestone = models.ForeignKey(
        "marketplace.Milestone", on_delete=models.PROTECT, related_name="disputes"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_by_side = models.CharField(_("opened by"), max_length=6, choices=DisputeSide.choices)
    reason = models.CharField(_("reason"), max_length=16, choices=DisputeReason.choices)
    account = models.TextField(_("what happened"), max_length=5000)
    # What each side considers fair for the member, in cents of the milestone's net amount.
    opener_member_cents = models.PositiveIntegerField(_("fair for the member, says the opener"))
    answer = models.TextField(_("answer"), max_length=5000, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered on"), null=True, blank=True)
    respondent_member_cents = models.PositiveIntegerField(
        _("fair for the member, says the other side"), null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=8, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    # The milestone's net amount, held by the cooperative while the dispute is open.
    frozen_cents = models.PositiveIntegerField(_("amount at stake (cents, excl. VAT)"))
    milestone_status_before = models.CharField(max_length=16)
    opened_at = models.DateTimeField(_("opened on"), default=timezone.now)
    answer_due_at = models.DateTimeField(_("answer due by"))
    evidence_due_at = models.DateTimeField(_("evidence due by"))
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    # When admins were told that a deadline passed (the periodic pass tells them once).
    answer_overdue_prompted_at = models.DateTimeField(null=True, blank=True)
    evidence_closed_prompted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(status="open"),
                name="dispute_one_open_per_milestone",
            ),
            models.CheckConstraint(
                condition=models.Q(opener_member_cents__lte=models.F("frozen_cents")),
                name="dispute_opener_amount_within_frozen",
            ),
            models.CheckConstraint(
                condition=models.Q(respondent_member_cents__isnull=True)
                | models.Q(respondent_member_cents__lte=models.F("frozen_cents")),
                name="dispute_respondent_amount_within_frozen",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True)
                | (~models.Q(status="open") & models.Q(closed_at__isnull=False)),
                name="dispute_closed_at_with_status",
            ),
        ]
        indexes = [models.Index(fields=["status", "answer_due_at"], name="dispute_queue")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.milestone}"

    @property
    def is_open(self) -> bool:
        return self.status == DisputeStatus.OPEN

    @property
    def respondent_side(self) -> str:
        return (
            DisputeSide.MEMBER if self.opened_by_side == DisputeSide.CLIENT else DisputeSide.CLIENT
        )


class DisputeEvidence(ImmutableRecord):
    """What one side puts forward: an explanation, links and files (the usual upload rules)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="evidence")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(_("side"), max_length=6, choices=DisputeSide.choices)
    text = models.TextField(_("explanation"), max_length=5000)
    links = models.JSONField(_("links"), default=list, blank=True)
    created_at = models.DateTimeField(_("added on"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("dispute evidence")
        verbose_name_plural = _("dispute evidence")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.side}"


class DisputeEvidenceFile(PrivateUpload):
    """A PDF, PNG or JPEG put forward in a dispute (see marketplace.uploads)."""

    evidence = models.ForeignKey(DisputeEvidence, on_delete=models.PROTECT, related_name="files")

    class Meta(PrivateUpload.Meta):
        verbose_name = _("dispute evidence file")
        verbose_name_plural = _("dispute evidence files")

    def upload_folder(self) -> str:
        return f"disputes/{self.evidence.dispute_id}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("waiting for the other side")
    ACCEPTED = "accepted", _("accepted")
    SUPERSEDED = "superseded", _("replaced by a newer proposal")
    LAPSED = "lapsed", _("lapsed: the dispute ended otherwise")


class DisputeProposal(models.Model):
    """A settlement one side offers: this much of the milestone to the member, the rest back to
    the client. The other side accepting it closes the dispute with that split. A newer
    proposal of the same side replaces the older one (one open proposal per side)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="proposals")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    side = models.CharField(_("side"), max_length=6, choices=DisputeSide.choices)
    member_cents = models.PositiveIntegerField(_("to the member (cents, excl. VAT)"))
    note = models.TextField(_("note"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    created_at = models.DateTimeField(_("proposed on"), default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("settlement proposal")
        verbose_name_plural = _("settlement proposals")
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "side"],
                condition=models.Q(status="open"),
                name="dispute_proposal_one_open_per_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.side} {self.member_cents}"


class DecisionOutcome(models.TextChoices):
    RELEASE = "release", _("everything to the member")
    REFUND = "refund", _("everything back to the client")
    SPLIT = "split", _("a split between the two")


class DisputeDecision(ImmutableRecord):
    """The cooperative's decision. Final in the app: a correction is a new decision by another
    admin that points to the one it corrects (``corrects``), never an edit."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="decisions")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=DecisionOutcome.choices)
    member_cents = models.PositiveIntegerField(_("to the member (cents, excl. VAT)"))
    client_cents = models.PositiveIntegerField(_("back to the client (cents, excl. VAT)"))
    reasoning = models.TextField(_("reasoning"), max_length=10000)
    corrects = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrected_by",
        verbose_name=_("corrects"),
    )
    # The idempotency key of the ledger transaction this decision posted (payments app).
    ledger_key = models.CharField(max_length=120, unique=True)
    decided_at = models.DateTimeField(_("decided on"), default=timezone.now)

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("dispute decision")
        verbose_name_plural = _("dispute decisions")
        constraints = [
            # One first decision per dispute; anything after it is a correction.
            models.UniqueConstraint(
                fields=["dispute"],
                condition=models.Q(corrects__isnull=True),
                name="dispute_one_first_decision",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(outcome="release", client_cents=0)
                    | models.Q(outcome="refund", member_cents=0)
                    | models.Q(outcome="split", member_cents__gt=0, client_cents__gt=0)
                ),
                name="dispute_decision_outcome_matches_split",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.outcome} {self.member_cents}/{self.client_cents}"


class DisputeEvent(ImmutableRecord):
    """One line of a dispute's history (who, what, when), shown to both sides and admins."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.kind}"
