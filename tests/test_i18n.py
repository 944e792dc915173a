import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"
# The home page's main heading in each language: proof that the catalogue is really used.
HOME_HEADING = {
    "fr": "Des sites web faits à Liège par une coopérative de développeurs",
    "en": "Websites made in Liège by a cooperative of developers",
    "nl": "Websites gemaakt in Luik door een coöperatie van ontwikkelaars",
    "ar": "مواقع ويب تصنعها في لييج تعاونية من المطورين",
}


def test_french_is_the_default(client):
    response = client.get(reverse("home"), headers={"accept-language": "en-US,en;q=0.9"})
    html = response.content.decode()
    assert '<html lang="fr" dir="ltr">' in html
    assert HOME_HEADING["fr"] in html
    assert response.headers["Content-Language"] == "fr"


@pytest.mark.parametrize("language", ["fr", "en", "nl", "ar"])
def test_each_language_renders_the_home_page(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(reverse("home")).content.decode()
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert HOME_HEADING[language] in html


@pytest.mark.parametrize("name", ["account_login", "account_signup"])
def test_arabic_account_pages_are_right_to_left(client, name):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = client.get(reverse(name)).content.decode()
    assert 'dir="rtl"' in html
    assert re.search(r"[\u0600-\u06FF]", html)  # Arabic script really shown


def test_switcher_sets_a_cookie_for_visitors(client):
    response = client.post(reverse("language_switch"), {"language": "nl", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "nl"
    assert 'lang="nl"' in client.get("/").content.decode()


def test_switcher_remembers_the_choice_on_the_account(client):
    user = MemberFactory(language="fr")
    client.force_login(user)
    client.post(reverse("language_switch"), {"language": "ar", "next": reverse("dashboard")})
    user.refresh_from_db()
    assert user.language == "ar"
    # On another device (no cookie), the account's language wins.
    other_device = type(client)()
    other_device.force_login(user)
    assert 'lang="ar" dir="rtl"' in other_device.get(reverse("dashboard")).content.decode()


def test_switcher_refuses_unknown_languages_and_foreign_redirects(client):
    response = client.post(
        reverse("language_switch"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response.url == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_every_page_has_the_switcher_and_the_csrf_header(client):
    for url in [reverse("home"), reverse("account_login"), reverse("account_signup")]:
        html = client.get(url).content.decode()
        assert 'action="/language/"' in html
        assert 'hx-headers=\'{"X-CSRFToken": "' in html
        assert "/static/django_htmx/" in html or "/static/js/htmx" in html
        assert "cdn" not in html.lower()


@pytest.mark.parametrize("language", ["fr", "en", "nl", "ar"])
def test_catalogue_is_complete(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, f"untranslated in {language}: {missing[:10]}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy[:10]}"
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\{ *\w+ *\}\}")
    for entry in catalogue.translated_entries():
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        wanted = set(placeholder.findall(entry.msgid_plural or entry.msgid))
        for translation in translations:
            got = set(placeholder.findall(translation))
            # Languages with a form for "one" may spell the number out there.
            assert got == wanted or (entry.msgid_plural and got <= wanted), (
                f"{language}: placeholders differ in {entry.msgid!r}"
            )
