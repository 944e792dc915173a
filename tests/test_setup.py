import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command

from marketplace.demo import DEMO_DOMAIN
from marketplace.models import ClientProfile, MemberProfile, User
from matching.models import Language, MemberLanguage, SkillClaim, SkillDecision


def test_sqlite_is_the_default_database(monkeypatch, tmp_path):
    # A fresh interpreter with no DATABASE_URL gets SQLite in the ignored var/ folder.
    env = {"PATH": "/usr/bin:/bin", "SIRIUS_VAR_DIR": str(tmp_path)}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
        "from django.conf import settings; d=settings.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], settings.DEBUG, settings.LANGUAGE_CODE)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    ).stdout.split()
    assert out == ["django.db.backends.sqlite3", str(tmp_path / "sirius.sqlite3"), "False", "fr"]


def test_deploy_check_refuses_the_development_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SIRIUS_VAR_DIR": "/tmp/sirius-check"},
    )
    assert result.returncode != 0
    assert "sirius.E001" in result.stderr + result.stdout


@pytest.mark.django_db
def test_languages_reference_table_is_loaded():
    assert Language.objects.count() == 20
    assert Language.objects.get(code="ar").direction == "rtl"
    assert Language.objects.get(code="ps").direction == "rtl"  # missing from Django's bidi list
    call_command("import_languages")
    assert Language.objects.count() == 20


@pytest.mark.django_db
def test_demo_world_is_believable_and_idempotent():
    call_command("seed_demo")
    counts = (
        User.objects.count(),
        ClientProfile.objects.count(),
        MemberProfile.objects.count(),
        MemberLanguage.objects.count(),
        SkillClaim.objects.count(),
        SkillDecision.objects.count(),
    )
    call_command("seed_demo")
    assert counts == (
        User.objects.count(),
        ClientProfile.objects.count(),
        MemberProfile.objects.count(),
        MemberLanguage.objects.count(),
        SkillClaim.objects.count(),
        SkillDecision.objects.count(),
    )
    assert MemberProfile.objects.count() >= 30
    # Most demo skills are validated; some wait in the validators' queue.
    assert SkillClaim.objects.filter(status="validated").count() >= 60
    assert SkillClaim.objects.filter(status="pending").exists()
    assert ClientProfile.objects.filter(organisation_name__icontains="Boulangerie").exists()
    assert User.objects.filter(is_validator=True).count() >= 2
    admin = User.objects.get(email=f"admin@{DEMO_DOMAIN}")
    assert admin.is_staff and admin.check_password("sirius-demo-2026")
    # Every demo member speaks French, at B1 or above.
    assert MemberLanguage.objects.filter(language__code="fr", level__in=["A1", "A2"]).count() == 0
    assert (
        MemberLanguage.objects.filter(language__code="fr").count() == MemberProfile.objects.count()
    )
    # Every demo client's enterprise number is valid.
    from marketplace.forms import normalise_vat_number

    for profile in ClientProfile.objects.exclude(vat_number=""):
        assert normalise_vat_number(profile.vat_number) == profile.vat_number


@pytest.mark.django_db
def test_demo_money_is_on_the_ledger_and_balances():
    from payments.models import Invoice, LedgerTransaction, PayoutBatch
    from payments.selectors.ledger import ledger_breaches

    call_command("seed_demo")
    postings = LedgerTransaction.objects.count()
    call_command("seed_demo")
    assert LedgerTransaction.objects.count() == postings > 0
    assert Invoice.objects.filter(kind="invoice").exists()
    assert PayoutBatch.objects.filter(status="sent").count() == 1
    from marketplace.models import Dispute

    assert Dispute.objects.filter(status="open").count() == 1
    assert Dispute.objects.filter(status="decided").count() == 1
    assert ledger_breaches() == []
