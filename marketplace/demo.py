"""A believable Liège world for the demo, built from a fixed seed. Running it twice changes nothing.

Later issues add jobs, bids, contracts and payments to it."""

import random
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

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
    # Jobs, bids and contracts go through their services, each in its own transaction (accepting
    # a bid is a durable transaction of its own).
    _demo_jobs(rng, admin)
    from marketplace.demo_disputes import seed_disputes

    seed_disputes(admin=admin)  # one open dispute, one decided
    _demo_payouts(admin)
    from payments.demo_solidarity import seed_solidarity_uses

    seed_solidarity_uses(admin=admin)  # the public solidarity page has uses to show
    from governance.demo import seed_governance

    seed_governance(admin=admin)  # register history, one open vote, one closed

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


JOB_IDEAS = [
    # (category, title, description, skill keys, budget euros (low, high) or None for hourly)
    (
        "showcase",
        "Site vitrine pour {org}",
        "Un site de quatre pages (accueil, services, "
        "horaires, contact) présentant {org}, lisible sur téléphone, en français.",
        ["implement front-end website design", "style sheet languages", "WordPress"],
        (900, 1800),
    ),
    (
        "eshop",
        "Boutique en ligne pour {org}",
        "Vendre en ligne une trentaine de produits, "
        "paiement par Bancontact, retrait en magasin à Liège.",
        ["woocommerce", "e-commerce systems", "PHP"],
        (2500, 4500),
    ),
    (
        "maintenance",
        "Maintenance mensuelle du site de {org}",
        "Mises à jour de sécurité, sauvegardes, petites corrections de contenu chaque mois.",
        ["WordPress", "manage website", "troubleshoot website"],
        None,
    ),
    (
        "redesign",
        "Refonte du site de {org}",
        "Le site actuel date de 2015 : nouvelle charte, "
        "meilleure navigation, textes revus avec nous.",
        ["design user interface", "style sheet languages", "create website wireframe"],
        (2000, 3500),
    ),
    (
        "accessibility",
        "Audit d'accessibilité du site de {org}",
        "Vérifier le site selon les "
        "WCAG 2.1 AA et proposer des corrections prioritaires, rapport en français.",
        ["ICT accessibility standards", "test system accessibility for users with special needs"],
        (700, 1200),
    ),
    (
        "seo",
        "Améliorer la visibilité de {org} sur les moteurs de recherche",
        "Audit SEO local, fiches d'établissement, textes et balises.",
        ["conduct search engine optimisation", "keywords in digital content"],
        (600, 1100),
    ),
    (
        "web_app",
        "Application de réservation pour {org}",
        "Réserver un créneau en ligne, rappel par e-mail, interface simple pour l'équipe.",
        ["Python (computer programming)", "django", "PostgreSQL"],
        (4000, 8000),
    ),
]
# How many demo jobs end in each status.
JOB_STATUS_PLAN = (
    ["published"] * 30
    + ["submitted"] * 8
    + ["draft"] * 6
    + ["rejected"] * 4
    + ["cancelled"] * 3
    + ["expired"] * 4
    + ["in_progress"] * 3
    + ["completed"] * 2
)


def _demo_jobs(rng: random.Random, moderator: User) -> None:
    """About 60 jobs in every status, through the services. Only once: skipped when the demo
    clients already have jobs."""
    import datetime

    from django.utils import timezone

    from marketplace.models import Job
    from marketplace.regions import LIEGE_AREA_COMMUNES
    from marketplace.services import jobs as job_services
    from matching.models import Skill

    clients = list(
        User.objects.filter(is_client=True, email__endswith=f"@{DEMO_DOMAIN}").order_by("pk")
    )
    if Job.objects.filter(client__in=clients).exists():
        return
    by_key = {skill.tag or skill.label_en: skill for skill in Skill.objects.all()}
    languages = {language.code: language for language in Language.objects.all()}
    today = timezone.localdate()
    for index, status in enumerate(JOB_STATUS_PLAN):
        client = clients[index % len(clients)]
        org = client.client_profile.organisation_name or client.full_name
        category, title, description, keys, budget = JOB_IDEAS[index % len(JOB_IDEAS)]
        fields = {
            "title": title.format(org=org)[:120],
            "description": description.format(org=org),
            "category": category,
            "commune": rng.choice(LIEGE_AREA_COMMUNES[:12])[0],
            "work_mode": rng.choice(["on_site", "remote", "hybrid"]),
            "closes_on": today + datetime.timedelta(days=rng.randint(10, 45)),
            "desired_start": today + datetime.timedelta(days=rng.randint(15, 30)),
            "deadline": today + datetime.timedelta(days=rng.randint(60, 120)),
        }
        if budget is None:
            fields.update(
                budget_type="hourly",
                hourly_rate_cents=4500,
                estimated_hours=rng.choice([8, 12, 20]),
            )
        else:
            fields.update(
                budget_type="fixed",
                budget_min_cents=budget[0] * 100,
                budget_max_cents=budget[1] * 100,
            )
        skills = [
            job_services.SkillNeed(
                by_key[key], "essential" if position < 2 else "nice", "intermediate"
            )
            for position, key in enumerate(keys)
        ]
        wanted = [job_services.LanguageNeed(languages["fr"], "B2")]
        if rng.random() < 0.3:
            wanted.append(job_services.LanguageNeed(languages["nl"], "B1"))
        job = job_services.job_create(
            client=client,
            data=job_services.JobInput(fields=fields, skills=skills, languages=wanted),
        )
        if status == "draft":
            continue
        job = job_services.job_submit(job=job, by=client)
        if status == "submitted":
            continue
        if status == "rejected":
            job_services.job_reject(
                job=job,
                moderator=moderator,
                reason="Merci de préciser le budget et le nombre de pages souhaitées.",
            )
            continue
        job = job_services.job_approve(job=job, moderator=moderator)
        if status == "cancelled":
            job_services.job_cancel(job=job, by=client)
        elif status == "expired":
            Job.objects.filter(pk=job.pk).update(closes_on=today - datetime.timedelta(days=1))
        elif status in ("in_progress", "completed"):
            contract = _demo_bids_and_contract(rng, job, accept=True)
            if status == "completed":
                _demo_complete(contract)
            else:
                _demo_advance(contract, step=index % 3)
        elif status == "published" and index == 0:
            # One contract cancelled before any payment (the client changed their plans).
            from marketplace.services.milestones import contract_cancel

            contract = _demo_bids_and_contract(rng, job, accept=True)
            contract_cancel(
                contract=contract, by=job.client, reason="Le projet est reporté à l'an prochain."
            )
        elif status == "published" and index % 3 == 0:
            _demo_bids_and_contract(rng, job, accept=False)
    job_services.jobs_expire(today=today)


def _demo_bids_and_contract(rng: random.Random, job, *, accept: bool):
    """Two or three bids from demo members, a short exchange, and (if asked) an accepted bid."""
    import datetime

    from django.utils import timezone

    from marketplace.services import bids as bid_services
    from matching.candidates import rank_members_for_job

    # Bids come from the members the matching suggests, as they would in real life.
    suggested = [r.candidate.member_id for r in rank_members_for_job(job, limit=6)]
    members = list(MemberProfile.objects.filter(pk__in=suggested)) or list(
        MemberProfile.objects.filter(
            user__email__endswith=f"@{DEMO_DOMAIN}", membership_status="member"
        ).order_by("pk")
    )
    start = timezone.localdate() + datetime.timedelta(days=5)
    price = job.budget_max_cents or (job.hourly_rate_cents or 4500) * (job.estimated_hours or 10)
    offers = []
    members.sort(key=lambda member: member.pk)
    for member in rng.sample(members, min(len(members), 3 if accept else 2)):
        amount = max(10000, price - rng.choice([0, 10000, 20000]))
        first = amount * 40 // 100
        bid = bid_services.bid_submit(
            member=member,
            job=job,
            data=bid_services.BidInput(
                price_cents=amount,
                start_date=start,
                cover_message="Bonjour, votre projet m'intéresse. Je propose deux étapes : "
                "maquettes puis mise en ligne.",
                milestones=[
                    bid_services.MilestoneInput(
                        "Maquettes validées", first, start + datetime.timedelta(days=10)
                    ),
                    bid_services.MilestoneInput(
                        "Site en ligne", amount - first, start + datetime.timedelta(days=30)
                    ),
                ],
            ),
        )
        offers.append(bid)
    bid_services.bid_message_send(
        bid=offers[0], sender=job.client, body="Merci ! Pouvez-vous commencer plus tôt ?"
    )
    bid_services.bid_message_send(
        bid=offers[0],
        sender=offers[0].member.user,
        body="Oui, dès lundi si le premier paiement est fait.",
    )
    if not accept:
        return None
    return bid_services.bid_accept(bid=offers[0], client=job.client)


def _demo_payouts(admin: User) -> None:
    """One SEPA payout batch, sent, for what the completed demo contracts released; the
    earnings of later approvals stay payable for the admin to batch. Once only."""
    from payments.models import PayoutBatch
    from payments.services import payouts

    if PayoutBatch.objects.exists():
        return
    try:
        created = payouts.payout_batch_create(
            rail="sepa", by=admin, execution_date=timezone.localdate()
        )
    except ValidationError:  # nothing payable
        return
    payouts.payout_batch_mark_sent(batch=created.batch, by=admin)


def _demo_pay(milestone) -> None:
    """The client pays a milestone by bank transfer and the demo admin records it received
    (offline, through the same services as the admin's reconciliation page)."""
    from payments.services import funds

    payment = funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method="bank_transfer"
    )
    funds.payment_succeeded(payment=payment, by=User.objects.get(email=f"admin@{DEMO_DOMAIN}"))


def _demo_advance(contract, *, step: int) -> None:
    """Contracts in different states: waiting for payment (0), first milestone paid and in
    progress (1), first milestone delivered and waiting for the client's approval (2)."""
    from marketplace.services import milestones as milestone_services

    if step == 0:
        return
    member = contract.member.user
    first = contract.milestones.order_by("position").first()
    _demo_pay(first)
    milestone_services.milestone_start(milestone=first, member=member)
    if step == 2:
        milestone_services.milestone_deliver(
            milestone=first,
            member=member,
            message="Les maquettes sont prêtes, voici le lien.",
            links=["https://demo.sirius.coop/maquettes"],
            files=[],
        )


def _demo_complete(contract) -> None:
    """Walk every milestone to approval (as funding, delivery and approval would)."""
    from marketplace.services import milestones as milestone_services

    member = contract.member.user
    for milestone in contract.milestones.order_by("position"):
        _demo_pay(milestone)
        milestone_services.milestone_start(milestone=milestone, member=member)
        milestone_services.milestone_deliver(
            milestone=milestone,
            member=member,
            message="Voici le travail livré.",
            links=["https://demo.sirius.coop/livraison"],
            files=[],
        )
        milestone_services.milestone_approve(milestone=milestone, client=contract.client)
    from marketplace.services.reviews import review_write

    contract.refresh_from_db()
    review_write(
        contract=contract,
        author=contract.client,
        rating=5,
        text="Travail soigné, livré à temps, à l'écoute de nos remarques.",
    )
    review_write(
        contract=contract,
        author=member,
        rating=5,
        text="Client clair et réactif, paiement sans souci via la coopérative.",
    )


def _ensure_demo_admin_mfa(admin: User) -> list[str]:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(admin, DEMO_ADMIN_TOTP_SECRET)
    return RecoveryCodes.activate(admin).get_unused_codes()[:3]
