from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext_lazy as _

from marketplace.uploads import PrivateUpload, private_upload_to


class CEFRLevel(models.TextChoices):
    """Common European Framework of Reference levels, lowest first."""

    A1 = "A1", _("A1 – beginner")
    A2 = "A2", _("A2 – elementary")
    B1 = "B1", _("B1 – intermediate")
    B2 = "B2", _("B2 – upper intermediate")
    C1 = "C1", _("C1 – advanced")
    C2 = "C2", _("C2 – proficient")

    @classmethod
    def rank(cls, level: str) -> int:
        """0 for A1 up to 5 for C2, so that levels can be compared."""
        return cls.values.index(level)


class Language(models.Model):
    """A human language, keyed by its BCP-47 tag (reference data, see matching/data/)."""

    class Direction(models.TextChoices):
        LTR = "ltr", _("left to right")
        RTL = "rtl", _("right to left")

    code = models.CharField(_("BCP-47 tag"), max_length=16, unique=True)
    name_en = models.CharField(_("English name"), max_length=80)
    name_fr = models.CharField(_("French name"), max_length=80)
    autonym = models.CharField(_("name in the language itself"), max_length=80)
    iso639_3 = models.CharField(_("ISO 639-3 code"), max_length=3, blank=True)
    direction = models.CharField(
        _("writing direction"), max_length=3, choices=Direction.choices, default=Direction.LTR
    )
    esco_uri = models.URLField(_("ESCO concept"), blank=True)

    class Meta:
        ordering = ["name_en"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The language's name in the viewer's language, with its autonym."""
        name = self.name
        if name.casefold() == self.autonym.casefold():
            return name
        return f"{name} ({self.autonym})"

    @property
    def name(self) -> str:
        """The language's name in the viewer's language."""
        viewer = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        if viewer == "fr":
            name = self.name_fr
        elif viewer == "en":
            name = self.name_en
        else:
            try:
                # Django's own catalogues translate many language names (into Dutch, Arabic...).
                name = str(get_language_info(self.code)["name_translated"])
            except KeyError:
                name = self.name_en
        return name


class MemberLanguage(models.Model):
    """A language a member works in, at a CEFR level (self-declared until a validator confirms)."""

    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.CASCADE,
        related_name="languages",
        verbose_name=_("member"),
    )
    language = models.ForeignKey(
        Language, on_delete=models.PROTECT, related_name="+", verbose_name=_("language")
    )
    level = models.CharField(_("CEFR level"), max_length=2, choices=CEFRLevel.choices)
    # The level a validator confirmed (see LanguageDecision), kept in step by matching.services.
    validated_level = models.CharField(
        _("confirmed CEFR level"), max_length=2, choices=CEFRLevel.choices, blank=True
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    validated_at = models.DateTimeField(_("confirmed on"), null=True, blank=True)

    class Meta:
        ordering = ["member_id", "language__name_en"]
        verbose_name = _("member language")
        verbose_name_plural = _("member languages")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "language"], name="member_language_once_per_member"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=CEFRLevel.values), name="member_language_cefr_level"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language.code} {self.level}"


class SkillGroup(models.Model):
    """A family of skills (our own grouping of the ESCO concepts, e.g. "core web development")."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    label_en = models.CharField(_("English label"), max_length=100)
    label_fr = models.CharField(_("French label"), max_length=100)
    label_nl = models.CharField(_("Dutch label"), max_length=100, blank=True)
    label_ar = models.CharField(_("Arabic label"), max_length=100, blank=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("skill group")
        verbose_name_plural = _("skill groups")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localised(self, "label")


def localised(obj, prefix: str) -> str:
    """``obj.<prefix>_<viewer language>``, falling back to English when it is blank."""
    viewer = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return getattr(obj, f"{prefix}_{viewer}", "") or getattr(obj, f"{prefix}_en")


class Skill(models.Model):
    """An ESCO concept, or one of our own tags for what ESCO lacks (frameworks, CMSs...)."""

    class Source(models.TextChoices):
        ESCO = "esco", _("ESCO")
        SIRIUS = "sirius", _("Sirius tag (not in ESCO)")

    class Type(models.TextChoices):
        SKILL = "skill/competence", _("skill or competence")
        KNOWLEDGE = "knowledge", _("knowledge")
        TECHNOLOGY = "technology", _("technology or tool")

    class Relevance(models.TextChoices):
        ESSENTIAL = "essential", _("essential for web developers")
        OPTIONAL = "optional", _("optional for web developers")
        NONE = "", _("not listed for web developers")

    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    uri = models.URLField(_("ESCO URI"), max_length=200, unique=True, null=True, blank=True)
    tag = models.SlugField(
        _("tag"),
        max_length=60,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Sirius tags only."),
    )
    skill_type = models.CharField(_("type"), max_length=20, choices=Type.choices)
    reuse_level = models.CharField(_("ESCO reuse level"), max_length=30, blank=True)
    group = models.ForeignKey(
        SkillGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="skills",
        verbose_name=_("group"),
    )
    label_en = models.CharField(_("English label"), max_length=200)
    label_fr = models.CharField(_("French label"), max_length=200, blank=True)
    label_nl = models.CharField(_("Dutch label"), max_length=200, blank=True)
    label_ar = models.CharField(_("Arabic label"), max_length=200, blank=True)
    alt_labels = models.JSONField(
        _("alternative labels"), default=dict, blank=True, help_text=_("Per language code.")
    )
    web_developer_relevance = models.CharField(
        _("for the ESCO occupation web developer"),
        max_length=10,
        choices=Relevance.choices,
        blank=True,
    )
    # Every label and alternative label in every language, and the group's labels, lower-cased
    # and without accents: what the search matches ("developpement web" finds "Développement").
    search_text = models.TextField(_("search text"), blank=True, editable=False)

    class Meta:
        ordering = ["label_en"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(source="esco", uri__isnull=False, tag__isnull=True)
                    | models.Q(source="sirius", uri__isnull=True, tag__isnull=False)
                ),
                name="skill_esco_has_uri_sirius_has_tag",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return localised(self, "label")

    @property
    def is_esco(self) -> bool:
        return self.source == self.Source.ESCO


class SkillLevel(models.TextChoices):
    """How well a member masters a skill, lowest first."""

    BEGINNER = "beginner", _("beginner")
    INTERMEDIATE = "intermediate", _("intermediate")
    ADVANCED = "advanced", _("advanced")
    EXPERT = "expert", _("expert")

    @classmethod
    def rank(cls, level: str) -> int:
        return cls.values.index(level)


class SkillClaim(models.Model):
    """A member's claim to a skill, with evidence; validated (or not) by a trainer.

    Its status and the fields of the current validation are kept in step with the latest
    SkillDecision by matching.services, inside the same transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for a validator")
        MORE_EVIDENCE = "more_evidence", _("more evidence asked")
        VALIDATED = "validated", _("validated")
        DECLINED = "declined", _("declined")
        REVOKED = "revoked", _("revoked")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("validation expired")

    ACTIVE = (Status.PENDING, Status.MORE_EVIDENCE, Status.VALIDATED)

    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.CASCADE,
        related_name="skill_claims",
        verbose_name=_("member"),
    )
    skill = models.ForeignKey(
        Skill, on_delete=models.PROTECT, related_name="claims", verbose_name=_("skill")
    )
    self_level = models.CharField(_("my level"), max_length=12, choices=SkillLevel.choices)
    description = models.TextField(_("what I did with this skill"), max_length=4000, blank=True)
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.PENDING
    )
    validated_level = models.CharField(
        _("validated level"), max_length=12, choices=SkillLevel.choices, blank=True
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("validated by"),
    )
    validated_at = models.DateTimeField(_("validated on"), null=True, blank=True)
    expires_on = models.DateField(_("validation expires on"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("sent to the validators"), auto_now_add=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("skill claim")
        verbose_name_plural = _("skill claims")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "skill"],
                condition=models.Q(status__in=["pending", "more_evidence", "validated"]),
                name="skill_claim_one_active_per_member_and_skill",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="validated")
                | (
                    ~models.Q(validated_level="")
                    & models.Q(validated_by__isnull=False, validated_at__isnull=False)
                ),
                name="skill_claim_validated_has_validation",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="skill_claim_queue"),
            # Matching: who holds these skills (a covering, partial index on active claims).
            models.Index(
                fields=["skill", "member"],
                name="skill_claim_active_holders",
                condition=models.Q(status__in=["pending", "more_evidence", "validated"]),
                include=["status", "expires_on"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.skill}"

    def is_current_validation(self, today=None) -> bool:
        from django.utils import timezone

        today = today or timezone.localdate()
        return self.status == self.Status.VALIDATED and (
            self.expires_on is None or self.expires_on >= today
        )

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.VALIDATED and not self.is_current_validation()


class EvidenceLink(models.Model):
    claim = models.ForeignKey(
        SkillClaim, on_delete=models.CASCADE, related_name="links", verbose_name=_("claim")
    )
    url = models.URLField(_("link"), max_length=500)
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        ordering = ["added_at"]
        verbose_name = _("evidence link")
        verbose_name_plural = _("evidence links")

    def __str__(self) -> str:
        return self.url


# Named by earlier migrations; the files' paths now come from PrivateUpload.upload_folder().
evidence_upload_to = private_upload_to


class EvidenceFile(PrivateUpload):
    """A PDF, PNG or JPEG attached to a claim (see marketplace.uploads)."""

    claim = models.ForeignKey(
        SkillClaim, on_delete=models.CASCADE, related_name="files", verbose_name=_("claim")
    )
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta(PrivateUpload.Meta):
        ordering = ["added_at"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def upload_folder(self) -> str:
        return f"evidence/{self.claim.member_id}"


class ImmutableRecord(models.Model):
    """A row that is written once and never changed or deleted: corrections are new rows."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and type(self).objects.filter(pk=self.pk).exists():
            raise ValueError(f"{type(self).__name__} records cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} records cannot be deleted.")


class SkillDecision(ImmutableRecord):
    """What a validator (or an admin) decided about a claim, when and why. Never edited: a
    later decision supersedes it."""

    class Kind(models.TextChoices):
        VALIDATED = "validated", _("validated")
        DECLINED = "declined", _("declined")
        MORE_EVIDENCE = "more_evidence", _("more evidence asked")
        REVOKED = "revoked", _("revoked")

    claim = models.ForeignKey(
        SkillClaim, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("claim")
    )
    kind = models.CharField(_("decision"), max_length=14, choices=Kind.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="skill_decisions",
        verbose_name=_("decided by"),
    )
    level = models.CharField(_("level"), max_length=12, choices=SkillLevel.choices, blank=True)
    comment = models.TextField(_("comment or reason"), max_length=4000, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )
    decided_at = models.DateTimeField(_("decided on"), auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("skill decision")
        verbose_name_plural = _("skill decisions")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="validated") | ~models.Q(level=""),
                name="skill_decision_validation_has_level",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="validated") | ~models.Q(comment=""),
                name="skill_decision_refusal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.claim}"


class ExpiryNotice(models.Model):
    """That a member was told their validation expires soon: at most one notice per decision."""

    decision = models.OneToOneField(
        SkillDecision, on_delete=models.PROTECT, related_name="expiry_notice"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("expiry notice")
        verbose_name_plural = _("expiry notices")

    def __str__(self) -> str:
        return f"{self.decision_id} @ {self.sent_at:%Y-%m-%d}"


class LanguageDecision(ImmutableRecord):
    """A validator's confirmation of a member's CEFR level in a language. Never edited."""

    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.PROTECT,
        related_name="language_decisions",
        verbose_name=_("member"),
    )
    language = models.ForeignKey(
        Language, on_delete=models.PROTECT, related_name="+", verbose_name=_("language")
    )
    level = models.CharField(_("confirmed CEFR level"), max_length=2, choices=CEFRLevel.choices)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="language_decisions",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided on"), auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("language level confirmation")
        verbose_name_plural = _("language level confirmations")

    def __str__(self) -> str:
        return f"{self.member} – {self.language.code} {self.level}"


class Exposure(models.Model):
    """A member was shown for a job (to its client, in a notice, or the job to the member):
    recorded so that fairness can be measured (see `manage.py exposure_report`)."""

    class Context(models.TextChoices):
        CLIENT_LIST = "client_list", _("recommended to the client")
        NOTICE = "notice", _("told about the job")
        MEMBER_LIST = "member_list", _("job recommended to the member")

    job = models.ForeignKey("marketplace.Job", on_delete=models.CASCADE, related_name="exposures")
    member = models.ForeignKey(
        "marketplace.MemberProfile", on_delete=models.CASCADE, related_name="exposures"
    )
    context = models.CharField(max_length=12, choices=Context.choices)
    rank = models.PositiveSmallIntegerField()
    shown_on = models.DateField(default=timezone.localdate)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exposure")
        verbose_name_plural = _("exposures")
        constraints = [
            # Reloading a page the same day is one exposure, not many.
            models.UniqueConstraint(
                fields=["job", "member", "context", "shown_on"], name="exposure_once_a_day"
            ),
        ]
        indexes = [models.Index(fields=["shown_on", "member"], name="exposure_by_day")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.job_id} ({self.context}, #{self.rank})"


class Invitation(models.Model):
    """A client invites a recommended member to bid. The member is told; both see it."""

    job = models.ForeignKey("marketplace.Job", on_delete=models.CASCADE, related_name="invitations")
    member = models.ForeignKey(
        "marketplace.MemberProfile", on_delete=models.CASCADE, related_name="invitations"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("invited on"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(fields=["job", "member"], name="invitation_once_per_job"),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.job}"
