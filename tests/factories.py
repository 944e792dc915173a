import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from marketplace.models import ClientProfile, MemberProfile, User
from matching.models import Language, MemberLanguage

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
