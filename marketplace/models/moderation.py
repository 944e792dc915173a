"""Reports from users, and the append-only log of what moderators did."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from matching.models import ImmutableRecord


class Report(models.Model):
    """Somebody logged in reports a job, a profile or a bid. Lands in the moderation queue."""

    class Reason(models.TextChoices):
        OUTSIDE_DEAL = "outside_deal", _("asks to deal outside the cooperative")
        FAKE = "fake", _("fake or misleading")
        OFFENSIVE = "offensive", _("offensive or discriminatory")
        SPAM = "spam", _("spam")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACTED = "acted", _("acted upon")
        DISMISSED = "dismissed", _("dismissed")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reports_made",
        verbose_name=_("reported by"),
    )
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    reason = models.CharField(_("reason"), max_length=14, choices=Reason.choices)
    details = models.TextField(_("details"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled on"), null=True, blank=True)
    created_at = models.DateTimeField(_("reported on"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue")]
        constraints = [
            # One open report per person and object: reporting twice does not shout louder.
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=models.Q(status="open"),
                name="report_one_open_per_reporter_and_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} – {self.target_type.model} #{self.target_id}"


class ModerationAction(models.TextChoices):
    APPROVE_JOB = "approve_job", _("approved a job")
    REJECT_JOB = "reject_job", _("rejected a job")
    HIDE = "hide", _("hid content")
    UNHIDE = "unhide", _("made content visible again")
    SUSPEND = "suspend", _("suspended an account")
    REINSTATE = "reinstate", _("reinstated an account")
    DISMISS_REPORT = "dismiss_report", _("dismissed a report")


class ModerationLog(ImmutableRecord):
    """Who did what to which object, when and why. Rows are never changed or deleted."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="moderation_actions",
        verbose_name=_("moderator"),
    )
    action = models.CharField(_("action"), max_length=16, choices=ModerationAction.choices)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.PositiveBigIntegerField()
    target_repr = models.CharField(_("object"), max_length=200)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("moderation log entry")
        verbose_name_plural = _("moderation log")

    def __str__(self) -> str:
        return f"{self.actor} {self.get_action_display()} {self.target_repr}"
