"""The public solidarity page: its figures equal the ledger, it names nobody, it reads in the
four languages (Arabic right to left), its charts are accessible SVG with their tables."""

import datetime
import re
import uuid
from collections import defaultdict
from fractions import Fraction
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from governance import charts
from governance.selectors_transparency import (
    EarningsBand,
    earnings_bands,
    gini,
    month_starts,
    transparency_dashboard,
)
from marketplace.models import MemberProfile
from payments.models import AccountKind, LedgerEntry, SolidarityRate, TransactionKind
from payments.selectors.ledger import account_balance, ledger_breaches
from payments.services.solidarity import solidarity_use_correct, solidarity_use_record
from tests.factories import (
    AdminFactory,
    MemberFactory,
    approve_milestone,
    fund_milestone,
    make_contract,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Factories set a password on every user: argon2 costs a second each on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


URL = "/solidarity/"


def page(client, language):
    """The page as a visitor who chose ``language`` with the switcher (the site ignores the
    browser's Accept-Language on purpose)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(URL)


def at(moment: datetime.datetime):
    """Everything posted inside the block is dated ``moment`` (the ledger's rows are
    append-only: their dates cannot be changed afterwards)."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def months_ago(count: int, day: int = 10) -> datetime.datetime:
    start = month_starts(timezone.localdate(), count + 1)[0]
    return timezone.make_aware(datetime.datetime(start.year, start.month, day, 12, 0))


def released_contract(*, amount=200000, member=None):
    contract = make_contract(price_cents=amount, milestones=(("Tout", amount),), member=member)
    milestone = contract.milestones.get()
    fund_milestone(milestone)
    approve_milestone(milestone)
    return contract


def use(admin, amount_cents, **kwargs):
    return solidarity_use_record(
        by=admin,
        spent_on=kwargs.get("spent_on", timezone.localdate()),
        category=kwargs.get("category", "training"),
        description=kwargs.get("description", "Formation"),
        amount_cents=amount_cents,
        request_key=str(uuid.uuid4()),
    )


@pytest.fixture
def admin():
    return AdminFactory()


@pytest.fixture
def history(admin):
    """Releases in three different months, a use, and a use cancelled by a correction."""
    with at(months_ago(5)):
        released_contract(amount=200000)  # 200 € to the fund
    with at(months_ago(2)):
        released_contract(amount=123456)  # 123.46 € (rounding of the release split)
        released_contract(amount=50000)
        use(admin, 9000, category="equipment", description="Écran pour l'atelier")
        cancelled = use(admin, 1000, category="other", description="Erreur de saisie")
    with at(months_ago(0, day=1)):
        solidarity_use_correct(use=cancelled, by=admin, reason="Encodée deux fois")
    released_contract(amount=10000)
    use(admin, 2500, category="hardship", description="Aide ponctuelle")
    return admin


def ledger_months() -> dict[datetime.date, tuple[int, int]]:
    """The fund's entries summed per month in Python, from the raw rows: (credits from
    releases, net spending)."""
    collected: dict[datetime.date, int] = defaultdict(int)
    used: dict[datetime.date, int] = defaultdict(int)
    entries = LedgerEntry.objects.filter(account__kind=AccountKind.SOLIDARITY_FUND).select_related(
        "transaction__reverses"
    )
    for entry in entries:
        tx = entry.transaction
        original = tx.reverses or tx
        month = timezone.localtime(original.created_at).date().replace(day=1)
        if original.kind == TransactionKind.SOLIDARITY_SPENT:
            used[month] -= entry.amount_cents
        else:
            assert entry.amount_cents > 0  # only credits from releases here
            collected[month] += entry.amount_cents
    return {m: (collected[m], used[m]) for m in set(collected) | set(used)}


def test_monthly_figures_equal_the_ledger_exactly(history):
    dashboard = transparency_dashboard()
    expected = ledger_months()
    assert len(dashboard.months) == 12
    assert dashboard.months[-1].month == timezone.localdate().replace(day=1)
    for month in dashboard.months:
        assert (month.collected_cents, month.used_cents) == expected.get(month.month, (0, 0))
    # Credits to the fund, month by month, are the solidarity shares that were released.
    five_ago = month_starts(timezone.localdate(), 6)[0]
    assert {m.month: m.collected_cents for m in dashboard.months}[five_ago] == 20000
    two_ago = month_starts(timezone.localdate(), 3)[0]
    by_month = {m.month: m for m in dashboard.months}
    assert by_month[two_ago].collected_cents == 12346 + 5000
    # The cancelled use nets to zero in its own month; the correction's month is untouched.
    assert by_month[two_ago].used_cents == 9000
    assert by_month[timezone.localdate().replace(day=1)].used_cents == 2500
    # Since the start: collected - used is the fund's balance, to the cent.
    assert dashboard.collected_total_cents == 20000 + 12346 + 5000 + 1000
    assert dashboard.used_total_cents == 9000 + 2500
    assert dashboard.balance_cents == account_balance(AccountKind.SOLIDARITY_FUND)
    assert dashboard.collected_total_cents - dashboard.used_total_cents == dashboard.balance_cents
    assert ledger_breaches() == []


def test_uses_per_category_leave_out_cancelled_uses(history):
    dashboard = transparency_dashboard()
    assert [(row.category, row.uses, row.amount_cents) for row in dashboard.categories] == [
        ("equipment", 1, 9000),
        ("hardship", 1, 2500),
    ]
    cancelled = [row for row in dashboard.uses if row.cancelled_on]
    assert [(row.description, row.cancel_reason) for row in cancelled] == [
        ("Erreur de saisie", "Encodée deux fois")
    ]


# --- Gini and bands ---------------------------------------------------------------------------


def test_gini_on_known_inputs():
    assert gini([500, 500, 500, 500]) == 0
    assert gini([0, 0, 0, 1000]) == Fraction(3, 4)  # one earns all: (n - 1) / n
    assert gini([0] * 9 + [7]) == Fraction(9, 10)
    # Textbook: incomes 1, 2, 3, 4, 5 → G = 4/15 ≈ 0.267.
    assert gini([5, 3, 1, 4, 2]) == Fraction(4, 15)
    # Wikipedia's two-person example: 0 and 1 → 1/2.
    assert gini([0, 1]) == Fraction(1, 2)
    assert gini([]) is None
    assert gini([0, 0, 0]) is None


def test_bands_with_fewer_than_three_members_are_merged():
    edges = (0, 1, 1000, 5000)
    # 4 with nothing, 1 under 10 €, 5 between 10 and 50 €, 2 above: the lone member is
    # merged upwards, the top two downwards.
    values = [0] * 4 + [500] + [2000] * 5 + [9000, 8000]
    bands = earnings_bands(values, edges=edges)
    assert bands == [EarningsBand(0, 1, 4), EarningsBand(1, None, 8)]
    assert all(band.members == 0 or band.members >= 3 for band in bands)
    assert sum(band.members for band in bands) == len(values)
    # Empty bands single nobody out and stay as they are.
    assert earnings_bands([0, 0, 0, 9000, 9000, 9000], edges=edges) == [
        EarningsBand(0, 1, 3),
        EarningsBand(1, 1000, 0),
        EarningsBand(1000, 5000, 0),
        EarningsBand(5000, None, 3),
    ]
    # Fewer than three members in all: nothing is shown.
    assert earnings_bands([0, 5000], edges=edges) == []
    # Every band of a large random population holds 0 or at least 3 members.
    import random

    rng = random.Random(7)
    for _ in range(200):
        population = [rng.choice([0, rng.randint(1, 6_000_000)]) for _ in range(rng.randint(3, 30))]
        shown = earnings_bands(population)
        assert sum(band.members for band in shown) == len(population)
        assert all(band.members == 0 or band.members >= 3 for band in shown)


def test_earnings_population_is_members_with_the_member_status_zero_earners_included(admin):
    earners = [MemberFactory().member_profile for _ in range(3)]
    for member in earners:
        released_contract(amount=100000, member=member)
    MemberFactory.create_batch(2)  # members who earned nothing
    applicant = MemberFactory().member_profile
    MemberProfile.objects.filter(pk=applicant.pk).update(
        membership_status=MemberProfile.Membership.APPLICANT
    )
    released_contract(amount=900000, member=applicant)  # not a cooperative member yet
    with at(months_ago(13)):  # outside the twelve months
        released_contract(amount=900000, member=earners[0])

    dashboard = transparency_dashboard()
    # Each earner kept 900 € of 1 000 € (10 % solidarity share); two members earned nothing.
    assert dashboard.population == 5
    assert dashboard.gini == gini([90000, 90000, 90000, 0, 0]) == Fraction(2, 5)
    assert sum(band.members for band in dashboard.bands) == 5


def test_members_with_their_first_contract_this_year(admin):
    veteran = MemberFactory().member_profile
    last_year = timezone.make_aware(datetime.datetime(timezone.localdate().year - 1, 6, 1, 12))
    with at(last_year):
        make_contract(member=veteran)
    make_contract(member=veteran)  # not their first
    newcomers = [MemberFactory().member_profile for _ in range(2)]
    for member in newcomers:
        make_contract(member=member)
        make_contract(member=member)
    assert transparency_dashboard().first_contracts_this_year == 2


def test_current_rate_and_the_history_of_decisions_with_turnout(client, admin):
    from governance.models import Proposal

    today = timezone.localdate()
    voted = SolidarityRate.objects.create(
        rate_bp=800, effective_from=today - datetime.timedelta(days=30), source="Vote"
    )
    SolidarityRate.objects.create(
        rate_bp=1200, effective_from=today + datetime.timedelta(days=30), source="Vote 2"
    )
    Proposal.objects.create(
        kind="solidarity_rate",
        status="closed",
        question="Taux 8 % ?",
        explanation="…",
        opens_at=timezone.now() - datetime.timedelta(days=40),
        closes_at=timezone.now() - datetime.timedelta(days=33),
        quorum_percent=20,
        created_by=admin,
        eligible_count=40,
        turnout_count=30,
        decided_rate=voted,
    )
    dashboard = transparency_dashboard()
    assert dashboard.rate_in_force_bp == 800
    assert [(r.rate_bp, r.in_force, r.turnout_percent) for r in dashboard.rates] == [
        (1200, False, None),
        (800, True, 75.0),
        (1000, False, None),  # the statutes' default
    ]
    html = page(client, "en").content.decode()
    assert "30 of 40 members voted (75 %)" in html
    assert reverse("governance:decisions") in html


# --- The page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en", "nl", "ar"])
def test_the_page_is_public_in_four_languages_with_accessible_charts(client, history, language):
    response = page(client, language)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}"' in html
    svgs = re.findall(r"<svg [^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) == 3  # the fund by month, the categories, the earnings bands
    for svg in svgs:
        assert 'role="img"' in svg
        chart_id = re.search(r'aria-labelledby="([\w-]+)-title \1-desc"', svg).group(1)
        assert f'<title id="{chart_id}-title">' in svg and f'<desc id="{chart_id}-desc">' in svg
        assert f'direction="{"rtl" if language == "ar" else "ltr"}"' in svg
    # Each chart has its table beside it, with the same figures.
    assert html.count('<table class="chart-table">') == 3
    assert "Écran pour l&#x27;atelier" in html


def test_the_page_in_english_says_who_is_counted(client, history):
    html = page(client, "en").content.decode()
    assert "including members who earned nothing" in html
    assert "Gini coefficient" in html
    assert "Encodée deux fois" in html  # a correction is shown with its reason


def test_the_page_names_nobody(client, admin):
    members = [MemberFactory(full_name=f"Zorglub Personne{n}") for n in range(4)]
    for user in members:
        MemberProfile.objects.filter(user=user).update(display_name=f"Pseudo{user.pk}x")
        released_contract(member=user.member_profile)
    use(admin, 100)
    html = page(client, "en").content.decode()
    for user in [*members, admin]:
        assert user.full_name not in html
        assert user.email not in html
        assert f"Pseudo{user.pk}x" not in html
    assert "Zorglub" not in html and "Pseudo" not in html


def test_the_figures_are_cached_and_a_new_use_refreshes_them(
    client, history, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_assert_num_queries(8):  # aggregate queries, whatever the ledger's size
        page(client, "en")
    with django_assert_num_queries(0):
        page(client, "en")
    with django_assert_num_queries(8):  # each language has its own cached charts
        page(client, "nl")
    with django_capture_on_commit_callbacks(execute=True):
        use(history, 123, description="Nouvelle dépense visible tout de suite")
    html = page(client, "en").content.decode()
    assert "Nouvelle dépense visible tout de suite" in html


def test_query_count_does_not_grow_with_the_ledger(client, history, django_assert_num_queries):
    for _ in range(3):
        released_contract(member=MemberFactory().member_profile)
        use(history, 50)
    with django_assert_num_queries(8):
        page(client, "fr")


def test_an_empty_cooperative_gets_a_page_too(client):
    html = page(client, "en").content.decode()
    assert "The fund has not been used yet." in html
    assert "the distribution is not shown" in html
    assert html.count('role="img"') == 1


# --- The charts themselves --------------------------------------------------------------------


def test_charts_escape_their_text_and_mirror_for_right_to_left():
    svg = charts.bar_chart(
        chart_id="c",
        title='<script>alert("t")</script>',
        description="a & b",
        rows=[("<b>label</b>", 10), ("autre", 5)],
        value_label=str,
    )
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;b&gt;label&lt;/b&gt;" in svg and "a &amp; b" in svg
    months = [("jan", "2026"), ("feb", "")]
    ltr = charts.column_chart(
        chart_id="m",
        title="t",
        description="d",
        categories=months,
        series=[charts.Series("A", [10, 20])],
        value_label=str,
    )
    rtl = charts.column_chart(
        chart_id="m",
        title="t",
        description="d",
        categories=months,
        series=[charts.Series("A", [10, 20])],
        value_label=str,
        rtl=True,
    )

    def first_label_x(svg):
        return float(re.search(r'<text x="([\d.]+)"[^>]*text-anchor="middle">jan<', svg).group(1))

    # January is on the left in a left-to-right page, on the right in Arabic.
    assert first_label_x(ltr) < 380 < first_label_x(rtl)
    assert 'direction="rtl"' in rtl and 'direction="ltr"' in ltr
