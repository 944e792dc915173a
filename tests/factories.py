import factory
from allauth.account.models import EmailAddress
from django.db.models import Q
from django.utils import timezone
from factory.django import DjangoModelFactory

from marketplace.models import ClientProfile, Job, JobLanguage, JobSkill, MemberProfile, User
from matching.models import Language, MemberLanguage, Skill, SkillClaim

PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.be")
    full_name = factory.Faker("name", locale="fr_BE")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            if extracted is not False:
                EmailAddress.objects.create(
                    user=self, email=self.email, verified=True, primary=True
                )


class ClientProfileFactory(DjangoModelFactory):
    class Meta:
        model = ClientProfile

    user = factory.SubFactory(UserFactory, is_client=True)
    kind = ClientProfile.Kind.INDIVIDUAL
    street = "Rue Léopold 1"
    postal_code = "4000"
    city = "Liège"


class ClientFactory(UserFactory):
    is_client = True
    client_profile = factory.RelatedFactory(ClientProfileFactory, factory_related_name="user")


class MemberProfileFactory(DjangoModelFactory):
    class Meta:
        model = MemberProfile

    user = factory.SubFactory(UserFactory, is_member=True)
    display_name = factory.Faker("first_name")
    membership_status = MemberProfile.Membership.MEMBER


class MemberFactory(UserFactory):
    is_member = True
    member_profile = factory.RelatedFactory(MemberProfileFactory, factory_related_name="user")


class ValidatorFactory(UserFactory):
    is_validator = True


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class MemberLanguageFactory(DjangoModelFactory):
    class Meta:
        model = MemberLanguage

    member = factory.SubFactory(MemberProfileFactory)
    language = factory.LazyFunction(lambda: Language.objects.get(code="fr"))
    level = "B2"


class SkillClaimFactory(DjangoModelFactory):
    class Meta:
        model = SkillClaim

    member = factory.SubFactory(MemberProfileFactory)
    skill = factory.LazyFunction(lambda: Skill.objects.get(label_en="style sheet languages"))
    self_level = "intermediate"
    description = "J'ai fait les feuilles de style du site de la boulangerie."


# Smallest valid files of each accepted type (real images: uploads are decoded with Pillow), and
# one that only pretends to be a PDF.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _tiny_image(format_name: str) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buffer, format_name)
    return buffer.getvalue()


PNG_BYTES = _tiny_image("PNG")
JPEG_BYTES = _tiny_image("JPEG")
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


class JobFactory(DjangoModelFactory):
    """A published job by default; pass status="draft" etc. for others. Skills and languages:
    one essential skill (CSS, intermediate) and French B1, unless skills=[]/languages=[]."""

    class Meta:
        model = Job
        skip_postgeneration_save = True

    client = factory.SubFactory(ClientFactory)
    title = factory.Sequence(lambda n: f"Site vitrine pour un commerce liégeois n°{n}")
    description = "Nous cherchons un site **simple** et accessible, en français et en néerlandais."
    category = "showcase"
    budget_type = "fixed"
    budget_min_cents = 150000
    budget_max_cents = 250000
    budget_cents = 250000
    commune = "liege"
    work_mode = "hybrid"
    status = "published"
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if not create:
            return
        needs = (
            extracted
            if extracted is not None
            else [("style sheet languages", "essential", "intermediate")]
        )
        for label, importance, level in needs:
            skill = Skill.objects.get(Q(label_en=label) | Q(tag=label))
            JobSkill.objects.create(job=self, skill=skill, importance=importance, min_level=level)

    @factory.post_generation
    def languages(self, create, extracted, **kwargs):
        if not create:
            return
        needs = extracted if extracted is not None else [("fr", "B1")]
        for code, level in needs:
            JobLanguage.objects.create(
                job=self, language=Language.objects.get(code=code), min_level=level
            )
        # Keep the derived fields as the services would.
        from marketplace.content import render_markdown
        from marketplace.services.jobs import SkillNeed, _refresh_search

        self.description_html = render_markdown(self.description)
        self.budget_cents = self.compute_budget_cents()
        essential = self.skills.filter(importance="essential")
        essential.update(job_essential_count=essential.count())
        self.save()
        _refresh_search(
            self,
            [
                SkillNeed(js.skill, js.importance, js.min_level)
                for js in self.skills.select_related("skill")
            ],
        )


def bid_input(price_cents=200000, milestones=(("Maquettes", 80000), ("Site en ligne", 120000))):
    from datetime import timedelta

    from marketplace.services.bids import BidInput, MilestoneInput

    start = timezone.localdate() + timedelta(days=3)
    return BidInput(
        price_cents=price_cents,
        start_date=start,
        cover_message="Bonjour, je peux faire ce site en trois semaines.",
        milestones=[
            MilestoneInput(title, amount, start + timedelta(days=7 * (i + 1)))
            for i, (title, amount) in enumerate(milestones)
        ],
    )


def make_bid(job=None, member=None, **kwargs):
    from marketplace.services.bids import bid_submit

    job = job or JobFactory()
    member = member or MemberFactory().member_profile
    return bid_submit(member=member, job=job, data=bid_input(**kwargs))


def fund_milestone(milestone, *, by=None, method="bank_transfer"):
    """Pay a milestone as the client, recorded received by an admin (the bank-transfer path,
    no network). Returns the succeeded Payment."""
    from payments.services import funds

    payment = funds.payment_create(
        milestone=milestone, client=milestone.contract.client, method=method
    )
    return funds.payment_succeeded(payment=payment, by=by or AdminFactory())


def make_contract(**bid_kwargs):
    """A contract made the way a client makes one: a bid, accepted."""
    from marketplace.services.bids import bid_accept

    bid = make_bid(**bid_kwargs)
    return bid_accept(bid=bid, client=bid.job.client)


def approve_milestone(milestone):
    """Walk a funded milestone through start, delivery and the client's approval (which
    releases its funds)."""
    from marketplace.services import milestones as services

    member = milestone.contract.member.user
    services.milestone_start(milestone=milestone, member=member)
    services.milestone_deliver(milestone=milestone, member=member, message="Voici le travail.")
    return services.milestone_approve(milestone=milestone, client=milestone.contract.client)
