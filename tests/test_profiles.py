import pytest
from django.urls import reverse

from marketplace.models import ClientProfile, MemberProfile
from matching.models import Language, MemberLanguage
from tests.factories import ClientFactory, MemberFactory, MemberLanguageFactory

pytestmark = pytest.mark.django_db

CLIENT_FORM = {
    "kind": "organisation",
    "organisation_name": "Boulangerie du Carré",
    "vat_number": "BE0403170701",
    "street": "Rue du Pot d'Or 12",
    "postal_code": "4000",
    "city": "Liège",
    "country": "BE",
}


def member_form(**overrides):
    fr = Language.objects.get(code="fr")
    ti = Language.objects.get(code="ti")
    data = {
        "display_name": "Yonas",
        "bio": "Développeur WordPress.",
        "portfolio_links": "https://yonas.example.be\nhttps://github.com/yonas",
        "hourly_rate": "42.50",
        "availability": "available",
        "hours_per_week": "20",
        "iban": "BE68 5390 0754 7034",
        "languages-TOTAL_FORMS": "2",
        "languages-INITIAL_FORMS": "0",
        "languages-MIN_NUM_FORMS": "0",
        "languages-MAX_NUM_FORMS": "1000",
        "languages-0-language": str(fr.pk),
        "languages-0-level": "B2",
        "languages-1-language": str(ti.pk),
        "languages-1-level": "C2",
    }
    data.update(overrides)
    return data


class TestClientProfile:
    def test_saves_an_organisation_with_a_valid_number(self, client):
        user = ClientFactory()
        client.force_login(user)
        en = Language.objects.get(code="en")
        response = client.post(
            reverse("client_profile_edit"),
            {**CLIENT_FORM, "vat_number": "0403.170.701", "preferred_languages": [en.pk]},
        )
        assert response.status_code == 302
        profile = ClientProfile.objects.get(user=user)
        assert profile.vat_number == "BE0403170701"
        assert profile.organisation_name == "Boulangerie du Carré"
        assert list(profile.preferred_languages.all()) == [en]

    def test_bad_vat_number_is_refused_next_to_the_field_and_input_is_kept(self, client):
        user = ClientFactory()
        client.force_login(user)
        response = client.post(
            reverse("client_profile_edit"), {**CLIENT_FORM, "vat_number": "BE0403170702"}
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert list(form.errors) == ["vat_number"]
        html = response.content.decode()
        assert "BE0403170702" in html  # what was typed is shown again
        assert "Boulangerie du Carré" in html
        assert 'id="id_vat_number_error"' in html
        profile = ClientProfile.objects.get(user=user)
        assert profile.vat_number == ""  # nothing half-written
        assert profile.organisation_name == ""

    def test_an_organisation_needs_a_name_and_a_number(self, client):
        client.force_login(ClientFactory())
        response = client.post(
            reverse("client_profile_edit"),
            {**CLIENT_FORM, "organisation_name": "", "vat_number": ""},
        )
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"organisation_name", "vat_number"}

    def test_an_individual_needs_no_number(self, client):
        user = ClientFactory()
        client.force_login(user)
        response = client.post(
            reverse("client_profile_edit"),
            {**CLIENT_FORM, "kind": "individual", "organisation_name": "", "vat_number": ""},
        )
        assert response.status_code == 302
        assert ClientProfile.objects.get(user=user).kind == "individual"

    def test_an_eu_vat_number_is_accepted(self, client):
        user = ClientFactory()
        client.force_login(user)
        response = client.post(
            reverse("client_profile_edit"),
            {**CLIENT_FORM, "vat_number": "NL004495445B01", "country": "NL"},
        )
        assert response.status_code == 302
        assert ClientProfile.objects.get(user=user).vat_number == "NL004495445B01"


class TestMemberProfile:
    def test_saves_profile_and_languages(self, client):
        user = MemberFactory()
        client.force_login(user)
        response = client.post(reverse("member_profile_edit"), member_form())
        assert response.status_code == 302
        profile = MemberProfile.objects.get(user=user)
        assert profile.iban == "BE68539007547034"
        assert profile.hourly_rate_cents == 4250
        assert profile.portfolio_links == ["https://yonas.example.be", "https://github.com/yonas"]
        levels = {
            ml.language.code: ml.level for ml in MemberLanguage.objects.filter(member=profile)
        }
        assert levels == {"fr": "B2", "ti": "C2"}

    def test_bad_iban_is_refused_and_nothing_is_saved(self, client):
        user = MemberFactory(member_profile__display_name="Old name")
        client.force_login(user)
        response = client.post(
            reverse("member_profile_edit"), member_form(iban="BE68 5390 0754 7035")
        )
        assert response.status_code == 200
        assert list(response.context["form"].errors) == ["iban"]
        html = response.content.decode()
        assert "BE68 5390 0754 7035" in html
        assert 'value="Yonas"' in html
        assert 'id="id_iban_error"' in html
        profile = MemberProfile.objects.get(user=user)
        assert profile.display_name == "Old name"
        assert not MemberLanguage.objects.filter(member=profile).exists()

    def test_bad_cefr_level_is_refused_next_to_the_field(self, client):
        user = MemberFactory()
        client.force_login(user)
        response = client.post(
            reverse("member_profile_edit"), member_form(**{"languages-1-level": "D1"})
        )
        assert response.status_code == 200
        language_forms = response.context["language_forms"]
        (message,) = language_forms.forms[1].errors["level"]
        assert "A1" in message and "C2" in message
        html = response.content.decode()
        assert 'id="id_languages-1-level_error"' in html
        assert 'value="Yonas"' in html  # the rest of the input is kept
        assert "yonas.example.be" in html
        assert not MemberLanguage.objects.filter(member=user.member_profile).exists()

    def test_the_same_language_twice_is_refused(self, client):
        user = MemberFactory()
        client.force_login(user)
        fr = Language.objects.get(code="fr")
        response = client.post(
            reverse("member_profile_edit"),
            member_form(**{"languages-1-language": str(fr.pk), "languages-1-level": "C1"}),
        )
        assert response.status_code == 200
        assert "language" in response.context["language_forms"].forms[1].errors

    def test_removing_and_changing_languages(self, client):
        user = MemberFactory()
        profile = user.member_profile
        fr = MemberLanguageFactory(member=profile, level="B1")
        en = MemberLanguageFactory(member=profile, language=Language.objects.get(code="en"))
        client.force_login(user)
        data = member_form(
            **{
                "languages-TOTAL_FORMS": "2",
                "languages-INITIAL_FORMS": "2",
                "languages-0-id": str(en.pk),
                "languages-0-language": str(en.language_id),
                "languages-0-level": "B2",
                "languages-0-DELETE": "on",
                "languages-1-id": str(fr.pk),
                "languages-1-language": str(fr.language_id),
                "languages-1-level": "C1",
            }
        )
        response = client.post(reverse("member_profile_edit"), data)
        assert response.status_code == 302, response.context["language_forms"].errors
        levels = {
            ml.language.code: ml.level for ml in MemberLanguage.objects.filter(member=profile)
        }
        assert levels == {"fr": "C1"}

    def test_bad_portfolio_link_and_negative_rate(self, client):
        client.force_login(MemberFactory())
        response = client.post(
            reverse("member_profile_edit"),
            member_form(portfolio_links="javascript:alert(1)", hourly_rate="-5"),
        )
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"portfolio_links", "hourly_rate"}

    def test_membership_status_cannot_be_self_promoted(self, client):
        user = MemberFactory(member_profile__membership_status="applicant")
        client.force_login(user)
        client.post(reverse("member_profile_edit"), member_form(membership_status="member"))
        assert MemberProfile.objects.get(user=user).membership_status == "applicant"

    def test_the_model_has_no_field_for_origin(self):
        names = {f.name for f in MemberProfile._meta.get_fields()}
        for forbidden in (
            "nationality",
            "citizenship",
            "country_of_origin",
            "residence_status",
            "country",
            "birthplace",
            "ethnicity",
        ):
            assert forbidden not in names
