"""Bids on jobs, the contract made when a client accepts one, its milestones and history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.uploads import PrivateUpload, private_upload_to
from matching.models import ImmutableRecord


class BidStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    WITHDRAWN = "withdrawn", _("withdrawn")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


class Bid(models.Model):
    """A member's offer for a job: a price split into milestones, a start date, a message."""

    job = models.ForeignKey("marketplace.Job", on_delete=models.PROTECT, related_name="bids")
    member = models.ForeignKey(
        "marketplace.MemberProfile", on_delete=models.PROTECT, related_name="bids"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=BidStatus.choices, default=BidStatus.ACTIVE
    )
    price_cents = models.PositiveIntegerField(_("total price (cents, excl. VAT)"))
    hourly_rate_cents = models.PositiveIntegerField(_("hourly rate (cents)"), null=True, blank=True)
    estimated_hours = models.PositiveIntegerField(_("estimated hours"), null=True, blank=True)
    start_date = models.DateField(_("can start on"))
    cover_message = models.TextField(_("message to the client"), max_length=5000)
    contact_flags = models.JSONField(default=list, blank=True)
    shortlisted = models.BooleanField(_("shortlisted by the client"), default=False)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        constraints = [
            # One active bid per member and job: the race between two tabs ends here.
            models.UniqueConstraint(
                fields=["job", "member"],
                condition=models.Q(status="active"),
                name="bid_one_active_per_member_and_job",
            ),
            models.CheckConstraint(
                condition=models.Q(price_cents__gt=0), name="bid_price_positive"
            ),
        ]
        indexes = [models.Index(fields=["job", "status"], name="bid_job_status")]

    def __str__(self) -> str:
        return f"{self.member} → {self.job}"


class BidMilestone(models.Model):
    """A step the member proposes: its amounts add up to the bid's price (checked by the service)."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(_("milestone"), max_length=120)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    due_date = models.DateField(_("due on"))

    class Meta:
        ordering = ["position"]
        verbose_name = _("proposed milestone")
        verbose_name_plural = _("proposed milestones")
        constraints = [
            models.UniqueConstraint(fields=["bid", "position"], name="bid_milestone_position"),
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="bid_milestone_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class BidMessage(models.Model):
    """The thread between the client and the member about one bid."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"), max_length=5000)
    contact_flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return self.body[:60]


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


class Contract(models.Model):
    """Made when a client accepts a bid. One per job, enforced by the database."""

    job = models.OneToOneField("marketplace.Job", on_delete=models.PROTECT, related_name="contract")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="contract")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client_contracts"
    )
    member = models.ForeignKey(
        "marketplace.MemberProfile", on_delete=models.PROTECT, related_name="contracts"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    total_cents = models.PositiveIntegerField(_("total (cents, excl. VAT)"))
    # The solidarity share in force on the day the first milestone was paid (payments issue):
    # a later vote never changes what an already funded contract keeps.
    solidarity_rate_bp = models.PositiveSmallIntegerField(
        _("solidarity share (basis points)"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        indexes = [models.Index(fields=["member", "created_at"], name="contract_member_recent")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.job}"


class MilestoneStatus(models.TextChoices):
    AWAITING_FUNDING = "awaiting_funding", _("waiting for the client's payment")
    FUNDED = "funded", _("paid, work can start")
    IN_PROGRESS = "in_progress", _("in progress")
    SUBMITTED = "submitted", _("delivered, waiting for approval")
    APPROVED = "approved", _("approved")
    RELEASED = "released", _("approved, paid to the member's balance")
    DISPUTED = "disputed", _("in dispute")
    CANCELLED = "cancelled", _("cancelled")


class Milestone(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(_("milestone"), max_length=120)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    due_date = models.DateField(_("due on"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=MilestoneStatus.choices,
        default=MilestoneStatus.AWAITING_FUNDING,
    )
    submitted_at = models.DateTimeField(_("delivered on"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved on"), null=True, blank=True)
    # Reminders sent before the automatic approval (0, 1 or 2): the periodic pass is idempotent.
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["contract_id", "position"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [
            models.UniqueConstraint(fields=["contract", "position"], name="milestone_position"),
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="milestone_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="milestone_auto_approve")]

    def __str__(self) -> str:
        return self.title


class ContractEvent(ImmutableRecord):
    """One line of a contract's history, shown to both sides and to admins. Never edited."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="events")
    milestone = models.ForeignKey(
        Milestone, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("contract event")
        verbose_name_plural = _("contract events")

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind}"


class Delivery(models.Model):
    """What the member hands in for a milestone: a message, links and files (usual rules)."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="deliveries")
    message = models.TextField(_("message"), max_length=5000)
    links = models.JSONField(_("links"), default=list, blank=True)
    created_at = models.DateTimeField(_("delivered on"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.milestone} @ {self.created_at:%Y-%m-%d}"


# Named by earlier migrations; the files' paths now come from PrivateUpload.upload_folder().
delivery_upload_to = private_upload_to


class DeliveryFile(PrivateUpload):
    """A PDF, PNG or JPEG of a delivery (see marketplace.uploads)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="files")

    class Meta(PrivateUpload.Meta):
        verbose_name = _("delivery file")
        verbose_name_plural = _("delivery files")

    def upload_folder(self) -> str:
        return f"deliveries/{self.delivery_id}"


class Review(models.Model):
    """After the last milestone is approved, each side reviews the other. Both reviews are
    published together once both are written, or 14 days after completion (no retaliation)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    rating = models.PositiveSmallIntegerField(_("rating (1 to 5)"))
    text = models.TextField(_("review"), max_length=3000)
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(fields=["contract", "author"], name="review_once_per_side"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["subject", "published_at"], name="review_subject")]

    def __str__(self) -> str:
        return f"{self.author} → {self.subject}: {self.rating}"
