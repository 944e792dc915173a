"""A believable Liège world for the demo, built from a fixed seed. Running it twice changes nothing.

Later issues add jobs, bids, contracts and payments to it."""

import random
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.db import transaction

from marketplace.models import ClientProfile, MemberProfile, User
from marketplace.services import LanguageLevel, member_profile_update
from matching.models import Language

DEMO_PASSWORD = "sirius-demo-2026"
DEMO_DOMAIN = "demo.sirius.coop"
# A fixed, public TOTP secret for the demo admin only (base32), so that the offline demo can
# reach the admin: add it to any authenticator app, or run `oathtool --totp -b <secret>`.
DEMO_ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPSIRIUSDEMO234567"
SEED = 20261126

CLIENTS = [
    # (e-mail local part, person, kind, organisation, enterprise number, street, postcode, city)
    (
        "boulangerie",
        "Josiane Lambert",
        "organisation",
        "Boulangerie du Carré",
        "BE0403170701",
        "Rue du Pot d'Or 12",
        "4000",
        "Liège",
    ),
    (
        "asbl-quartier",
        "Marc Dethier",
        "organisation",
        "ASBL Quartier Solidaire Outremeuse",
        "BE0417497106",
        "Rue Puits-en-Sock 45",
        "4020",
        "Liège",
    ),
    (
        "dentiste",
        "Dr Sophie Renard",
        "organisation",
        "Cabinet dentaire Renard",
        "BE0202239951",
        "Boulevard d'Avroy 88",
        "4000",
        "Liège",
    ),
    (
        "velo",
        "Thomas Wilmotte",
        "organisation",
        "Vélo Liège Coopérative",
        "BE0440306556",
        "Quai de la Boverie 3",
        "4020",
        "Liège",
    ),
    (
        "librairie",
        "Anne Gilson",
        "organisation",
        "Librairie Pax",
        "BE0431852017",
        "Place Cockerill 4",
        "4000",
        "Liège",
    ),
    (
        "particulier",
        "Jean-Pierre Hansen",
        "individual",
        "",
        "",
        "Rue de Fétinne 20",
        "4020",
        "Liège",
    ),
    (
        "traiteur",
        "Fatou Ndiaye",
        "organisation",
        "Traiteur Saveurs d'Ici",
        "BE0867298180",
        "Rue Saint-Gilles 150",
        "4000",
        "Liège",
    ),
]

# First names only as display names: the cooperative's members are many origins, and nothing
# here (or anywhere) records nationality, residence status or country of origin.
MEMBER_NAMES = [
    "Amina",
    "Yonas",
    "Farid",
    "Mariam",
    "Kofi",
    "Olena",
    "Samir",
    "Awa",
    "Reza",
    "Hevin",
    "Dawit",
    "Leïla",
    "Mamadou",
    "Sara",
    "Ilyas",
    "Grace",
    "Omar",
    "Nadia",
    "Bakary",
    "Zahra",
    "Ahmad",
    "Fatima",
    "Jean-Claude",
    "Mehmet",
    "Ana",
    "Tesfay",
    "Youssef",
    "Iryna",
    "Moussa",
    "Hawa",
]
HOME_LANGUAGES = [
    "ar",
    "ti",
    "fa",
    "ps",
    "so",
    "tr",
    "es",
    "pt",
    "ln",
    "sw",
    "ru",
    "uk",
    "ckb",
    "kmr",
    "fa-AF",
]
BIOS = [
    "Développeuse front-end, j'aime les sites rapides et accessibles.",
    "Intégrateur WordPress et WooCommerce, formé chez un partenaire liégeois.",
    "Développeur Django et Python, passionné de bases de données.",
    "Je crée des boutiques en ligne pour les commerces de quartier.",
    "Spécialiste de l'accessibilité web (RGAA, WCAG) et du référencement.",
    "Développeuse full-stack, React côté client et Node côté serveur.",
]
VALIDATORS = [("formatrice", "Claire Delvaux"), ("formateur", "Hassan El Idrissi")]


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)
    logins: dict[str, str] = field(default_factory=dict)
    admin_recovery_codes: list[str] = field(default_factory=list)


def _user(email: str, full_name: str, report: DemoReport, **flags) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "language": "fr", **flags}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        report.created.append(email)
    else:
        changed = [name for name, value in flags.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, flags[name])
        if changed:
            user.save(update_fields=changed)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def demo_world_create() -> DemoReport:
    """Create or refresh the demo world. Idempotent: keyed by e-mail address."""
    rng = random.Random(SEED)
    report = DemoReport()
    languages = {language.code: language for language in Language.objects.all()}
    with transaction.atomic():
        for local, person, kind, organisation, number, street, postcode, city in CLIENTS:
            user = _user(f"{local}@{DEMO_DOMAIN}", person, report, is_client=True)
            profile, _ = ClientProfile.objects.update_or_create(
                user=user,
                defaults={
                    "kind": kind,
                    "organisation_name": organisation,
                    "vat_number": number,
                    "street": street,
                    "postal_code": postcode,
                    "city": city,
                    "country": "BE",
                },
            )
            profile.preferred_languages.set([languages["fr"]])

        for index, name in enumerate(MEMBER_NAMES):
            local = name.lower().replace("ï", "i").replace("-", "")
            user = _user(f"{local}@{DEMO_DOMAIN}", name, report, is_member=True)
            profile, _ = MemberProfile.objects.get_or_create(
                user=user, defaults={"display_name": name}
            )
            french = rng.choice(["B1", "B2", "B2", "C1", "C2"])
            chosen = [LanguageLevel(language=languages["fr"], level=french)]
            home = rng.choice(HOME_LANGUAGES)
            chosen.append(LanguageLevel(language=languages[home], level="C2"))
            if rng.random() < 0.6:
                chosen.append(
                    LanguageLevel(language=languages["en"], level=rng.choice(["A2", "B1", "B2"]))
                )
            if rng.random() < 0.25:
                chosen.append(
                    LanguageLevel(language=languages["nl"], level=rng.choice(["A1", "A2", "B1"]))
                )
            membership = (
                MemberProfile.Membership.APPLICANT
                if index >= 27
                else MemberProfile.Membership.MEMBER
            )
            profile.membership_status = membership
            member_profile_update(
                profile=profile,
                fields={
                    "display_name": name,
                    "bio": BIOS[index % len(BIOS)],
                    "availability": rng.choice(
                        [MemberProfile.Availability.AVAILABLE] * 3
                        + [MemberProfile.Availability.PARTLY]
                    ),
                    "hours_per_week": rng.choice([10, 20, 30, 38]),
                    "portfolio_links": [f"https://{local}.{DEMO_DOMAIN}/portfolio"],
                    "iban": "BE68539007547034",
                },
                hourly_rate_cents=rng.choice([3500, 4000, 4500, 5000, 5500]),
                languages=chosen,
            )

        validators = [
            _user(f"{local}@{DEMO_DOMAIN}", person, report, is_validator=True)
            for local, person in VALIDATORS
        ]
        _demo_skills(rng, validators)

        admin = _user(
            f"admin@{DEMO_DOMAIN}", "Admin Sirius", report, is_staff=True, is_superuser=True
        )
        report.admin_recovery_codes = _ensure_demo_admin_mfa(admin)

    report.logins = {
        "client": f"boulangerie@{DEMO_DOMAIN}",
        "member": f"amina@{DEMO_DOMAIN}",
        "validator": f"formatrice@{DEMO_DOMAIN}",
        "admin": f"admin@{DEMO_DOMAIN}",
    }
    return report


# Skill sets the demo members draw from: (ESCO English label or Sirius tag, ...)
SKILL_SETS = [
    ["style sheet languages", "JavaScript", "implement front-end website design", "react"],
    ["WordPress", "woocommerce", "PHP", "conduct search engine optimisation"],
    ["Python (computer programming)", "django", "PostgreSQL", "git"],
    [
        "ICT accessibility standards",
        "test system accessibility for users with special needs",
        "use markup languages",
        "style sheet languages",
    ],
    ["e-commerce systems", "prestashop", "MySQL", "manage website"],
    ["design user interface", "figma", "create website wireframe", "tailwind"],
]


def _demo_skills(rng: random.Random, validators: list[User]) -> None:
    """Claims for the demo members: most validated, some waiting in the validators' queue.
    Only for members who have none yet, so a second run adds nothing."""
    from matching.models import Skill, SkillClaim, SkillLevel
    from matching.services import DecisionInput, skill_claim_create, skill_claim_decide

    by_key = {skill.tag or skill.label_en: skill for skill in Skill.objects.all()}
    members = MemberProfile.objects.filter(user__email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    for index, member in enumerate(members):
        if SkillClaim.objects.filter(member=member).exists():
            continue
        for position, key in enumerate(SKILL_SETS[index % len(SKILL_SETS)]):
            level = rng.choice(SkillLevel.values[1:])
            claim = skill_claim_create(
                member=member,
                skill=by_key[key],
                self_level=level,
                description=BIOS[index % len(BIOS)],
                links=[f"https://{member.display_name.lower()}.{DEMO_DOMAIN}/projet-{position}"],
            )
            # The newest members' last claims wait for a validator.
            if index >= 24 and position >= 2:
                continue
            skill_claim_decide(
                claim=claim,
                validator=validators[(index + position) % len(validators)],
                decision=DecisionInput(
                    kind="validated",
                    level=level,
                    comment="Vérifié sur le site livré et le dépôt.",
                ),
            )


def _ensure_demo_admin_mfa(admin: User) -> list[str]:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(admin, DEMO_ADMIN_TOTP_SECRET)
    return RecoveryCodes.activate(admin).get_unused_codes()[:3]
