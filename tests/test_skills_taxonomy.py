import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from matching.models import Skill, SkillGroup
from matching.search import normalise, skill_search
from matching.skill_import import ESCO_SKILLS_CSV, SIRIUS_TAGS_CSV

pytestmark = pytest.mark.django_db


def run_import(**kwargs) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_skills", stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_the_taxonomy_is_loaded_with_esco_concepts_and_our_tags():
    # Loaded by a data migration from matching/data/.
    assert Skill.objects.filter(source="esco").count() == 80
    assert Skill.objects.filter(source="sirius").count() >= 10
    css = Skill.objects.get(uri__endswith="c2999f0c-eb37-4cdf-b9b0-82107b628794")
    assert css.label_en == "style sheet languages"
    assert css.label_fr == "langages des feuilles de style"
    assert "CSS" in css.alt_labels["en"]
    assert css.skill_type == "knowledge"
    react = Skill.objects.get(tag="react")
    assert react.source == "sirius" and react.uri is None
    # ESCO's known French mistranslation is corrected, with the fix kept apart from the source.
    assert Skill.objects.get(label_en="troubleshoot website").label_fr == "dépanner un site web"
    assert SkillGroup.objects.get(key="core-web-development").label_fr == "développement web"


def test_import_is_idempotent_and_reports_what_it_did():
    out, err = run_import()
    assert "0 added, 0 updated, 96 unchanged, 0 skipped" in out
    assert "/96 rows" in out  # progress
    assert err == ""
    out, _ = run_import()
    assert "0 added, 0 updated" in out
    assert Skill.objects.count() == 96


def test_a_malformed_row_is_reported_with_its_line_and_the_import_goes_on(tmp_path):
    # Given a copy of the ESCO file with three bad rows and one changed label
    rows = list(csv.DictReader(ESCO_SKILLS_CSV.open(encoding="utf-8")))
    fields = list(rows[0].keys())
    rows[0]["label_fr"] = "programmation pour le web"  # line 2: an update
    rows[1]["uri"] = "http://example.com/not-esco"  # line 3
    rows[2]["type"] = "superpower"  # line 4
    rows[3]["label_en"] = ""  # line 5
    new = dict(rows[4], uri="http://data.europa.eu/esco/skill/00000000-0000-4000-8000-000000000001")
    new["label_en"], new["label_fr"] = "brand new concept", "concept tout neuf"
    rows.append(new)
    path = tmp_path / "esco.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
        handle.write("http://data.europa.eu/esco/skill/x,knowledge\n")  # too few columns

    out, err = run_import(esco=path, tags=SIRIUS_TAGS_CSV)

    assert "esco.csv, line 3: not an ESCO skill URI" in err
    assert "esco.csv, line 4: type must be" in err
    assert "esco.csv, line 5: the English label is empty" in err
    assert f"esco.csv, line {len(rows) + 2}: wrong number of columns" in err
    assert "1 added, 1 updated" in out
    assert "4 skipped" in out
    assert Skill.objects.get(label_en="brand new concept").label_fr == "concept tout neuf"
    assert Skill.objects.get(label_en="web programming").label_fr == "programmation pour le web"


def test_normalise_ignores_accents_case_and_spacing():
    assert normalise("  Accessibilité   WEB’s ") == "accessibilite web's"


@pytest.mark.parametrize(
    ("query", "expected_label_en"),
    [
        ("developpement web", "web programming"),  # French group label, without accents
        ("CSS", "style sheet languages"),  # an alternative label
        ("accessibilite", "ICT accessibility standards"),
        ("accessibility", "ICT accessibility standards"),
        ("feuilles de style", "style sheet languages"),
        ("reactjs", "React"),  # our own tag, by its alternative label
        ("woocommerce", "WooCommerce"),
        ("تطوير الويب", "web programming"),  # the Arabic group label
        ("RGPD", "GDPR"),
    ],
)
def test_search_finds_concepts_by_any_label_in_any_language(query, expected_label_en):
    found = [skill.label_en for skill in skill_search(query=query)]
    assert expected_label_en in found


def test_search_ranks_the_label_in_the_viewers_language_first():
    with translation.override("fr"):
        assert skill_search(query="CSS")[0].label_fr == "CSS"
    assert skill_search(query="") == []
    assert skill_search(query="zzzzqqq") == []


def test_autocomplete_returns_an_htmx_fragment(client):
    response = client.get(
        reverse("skill_search"),
        {"q": "accessibilite", "target": "id_skill"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "normes d’accessibilité" in html
    # The picker's static script (no inline handler under the CSP) fills the named select
    assert 'data-skill-target="id_skill"' in html


def test_autocomplete_refuses_a_script_in_the_target(client):
    response = client.get(
        reverse("skill_search"),
        {"q": "css", "target": "id_x');alert(1);//"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "alert(1)" not in html
    assert "getElementById" not in html


def test_search_page_works_without_javascript(client):
    response = client.get(reverse("skill_search"), {"q": "wordpress"})
    html = response.content.decode()
    assert "<html" in html and "WordPress" in html
