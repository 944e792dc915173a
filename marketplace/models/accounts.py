from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a person does on the marketplace. One person may hold several roles."""

    CLIENT = "client", _("client")
    MEMBER = "member", _("member")
    VALIDATOR = "validator", _("validator")
    ADMIN = "admin", _("admin")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Logs in by e-mail; roles are flags, not separate accounts."""

    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_client = models.BooleanField(_("client"), default=False)
    is_member = models.BooleanField(_("member"), default=False)
    is_validator = models.BooleanField(
        _("validator"), default=False, help_text=_("A trainer who validates members' skills.")
    )
    is_staff = models.BooleanField(
        _("admin"), default=False, help_text=_("Can moderate, arbitrate and use the admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("site language"), max_length=8, choices=settings.LANGUAGES, blank=True
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Set by a moderator (marketplace.services.moderation); a suspended account is inactive.
    suspended_at = models.DateTimeField(_("suspended on"), null=True, blank=True)
    suspension_reason = models.TextField(_("reason for suspension"), blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Two accounts can never share an address, whatever its case.
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]

    @property
    def roles(self) -> list[str]:
        flags = {
            Role.CLIENT: self.is_client,
            Role.MEMBER: self.is_member,
            Role.VALIDATOR: self.is_validator,
            Role.ADMIN: self.is_staff,
        }
        return [role for role, held in flags.items() if held]

    def has_role(self, role: str) -> bool:
        return role in self.roles


class BillingAddressMixin(models.Model):
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        default="BE",
        help_text=_("Two-letter country code (ISO 3166), BE for Belgium."),
    )

    class Meta:
        abstract = True


class ClientProfile(BillingAddressMixin, models.Model):
    """Who hires: a person or an organisation (business, association, public body)."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("individual")
        ORGANISATION = "organisation", _("organisation")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="client_profile", verbose_name=_("user")
    )
    kind = models.CharField(_("I hire as"), max_length=12, choices=Kind.choices)
    organisation_name = models.CharField(_("organisation name"), max_length=200, blank=True)
    vat_number = models.CharField(
        _("enterprise or VAT number"),
        max_length=20,
        blank=True,
        help_text=_("Belgian enterprise number, e.g. BE0403170701."),
    )
    preferred_languages = models.ManyToManyField(
        "matching.Language",
        blank=True,
        related_name="+",
        verbose_name=_("languages I would like to work in"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("client profile")
        verbose_name_plural = _("client profiles")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="individual")
                | (~models.Q(organisation_name="") & ~models.Q(vat_number="")),
                name="client_organisation_has_name_and_number",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.ORGANISATION and self.organisation_name:
            return self.organisation_name
        return str(self.user)


class MemberProfile(models.Model):
    """A worker of the cooperative. Deliberately has no field for nationality, residence
    status or country of origin: they could reveal ethnic origin and matching never needs them."""

    class Availability(models.TextChoices):
        AVAILABLE = "available", _("available")
        PARTLY = "partly", _("partly available")
        UNAVAILABLE = "unavailable", _("not available")

    class Membership(models.TextChoices):
        APPLICANT = "applicant", _("applicant")
        MEMBER = "member", _("cooperative member")
        FORMER = "former", _("former member")

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="member_profile", verbose_name=_("user")
    )
    display_name = models.CharField(_("display name"), max_length=80)
    bio = models.TextField(_("short bio"), max_length=2000, blank=True)
    portfolio_links = models.JSONField(_("portfolio links"), default=list, blank=True)
    hourly_rate_cents = models.PositiveIntegerField(
        _("hourly rate (cents, excl. VAT)"), null=True, blank=True
    )
    availability = models.CharField(
        _("availability"),
        max_length=12,
        choices=Availability.choices,
        default=Availability.AVAILABLE,
    )
    hours_per_week = models.PositiveSmallIntegerField(
        _("hours available per week"), null=True, blank=True
    )
    iban = models.CharField(_("IBAN for payouts"), max_length=34, blank=True)
    membership_status = models.CharField(
        _("membership"), max_length=10, choices=Membership.choices, default=Membership.APPLICANT
    )
    membership_since = models.DateField(_("membership status since"), default=timezone.localdate)
    is_hidden = models.BooleanField(_("hidden by a moderator"), default=False)
    job_alerts_by_email = models.BooleanField(
        _("e-mail me when a job fits me"),
        default=False,
        help_text=_("You always see them in the app; at most a few a day."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("member profile")
        verbose_name_plural = _("member profiles")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours_per_week__lte=80), name="member_hours_per_week_le_80"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name
