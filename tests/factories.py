import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from marketplace.models import ClientProfile, MemberProfile, User
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


# Smallest valid files of each accepted type, and one that only pretends to be a PDF.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4830000000049454e44ae426082"
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
