"""The member register (governance.services, views_register): the dated history of status
changes and share movements, its pages, its CSV export, who may see what."""

import csv
import datetime
import importlib
import io

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import MembershipChange, ShareMovement
from governance.selectors import members_eligible_on, register_entry
from marketplace.admin import MemberProfileAdmin
from marketplace.models import MemberProfile
from tests.factories import AdminFactory, ClientFactory, MemberFactory

pytestmark = pytest.mark.django_db
M = MemberProfile.Membership
TODAY = timezone.localdate


def days_ago(n: int) -> datetime.date:
    return TODAY() - datetime.timedelta(days=n)


def applicant(**user_fields):
    return MemberFactory(member_profile__membership_status=M.APPLICANT, **user_fields)


def admitted(*, joined: datetime.date, shares: int = 0, **user_fields):
    user = applicant(**user_fields)
    services.membership_status_change(
        member=user.member_profile, status=M.MEMBER, effective_on=joined, recorded_by=None
    )
    if shares:
        services.member_shares_change(
            member=user.member_profile, shares=shares, effective_on=joined, recorded_by=None
        )
    return user


class TestServices:
    def test_a_status_change_writes_the_history_and_the_profile(self):
        admin = AdminFactory()
        user = applicant()
        change = services.membership_status_change(
            member=user.member_profile,
            status=M.MEMBER,
            effective_on=days_ago(30),
            recorded_by=admin,
            reason="Conseil du 3 mars",
        )
        profile = MemberProfile.objects.get(pk=user.member_profile.pk)
        assert profile.membership_status == M.MEMBER
        assert profile.membership_since == days_ago(30)
        assert change.recorded_by == admin
        services.membership_status_change(
            member=profile, status=M.FORMER, effective_on=days_ago(5), recorded_by=admin
        )
        services.membership_status_change(
            member=profile, status=M.MEMBER, effective_on=days_ago(1), recorded_by=admin
        )
        entry = register_entry(profile)
        assert [c.status for c in entry.changes] == [M.MEMBER, M.FORMER, M.MEMBER]
        # The joining date is the first day as a member, not the re-admission.
        assert entry.joined_on == days_ago(30)

    @pytest.mark.parametrize(
        ("status", "day", "field"),
        [
            (M.APPLICANT, 1, "status"),  # already the status
            (M.FORMER, 20, "effective_on"),  # before the last change
            (M.FORMER, -1, "effective_on"),  # in the future
            ("president", 1, "status"),
        ],
    )
    def test_refused_status_changes(self, status, day, field):
        user = applicant()
        services.membership_status_change(
            member=user.member_profile, status=M.MEMBER, effective_on=days_ago(10), recorded_by=None
        )
        services.membership_status_change(
            member=user.member_profile,
            status=M.APPLICANT,
            effective_on=days_ago(9),
            recorded_by=None,
        )
        with pytest.raises(ValidationError) as refused:
            services.membership_status_change(
                member=user.member_profile,
                status=status,
                effective_on=days_ago(day),
                recorded_by=None,
            )
        assert field in refused.value.error_dict
        assert MembershipChange.objects.filter(member=user.member_profile).count() == 2

    def test_shares_add_up_and_never_go_below_zero(self):
        user = admitted(joined=days_ago(100), shares=3)
        services.member_shares_change(
            member=user.member_profile, shares=-2, effective_on=days_ago(1), recorded_by=None
        )
        with pytest.raises(ValidationError) as refused:
            services.member_shares_change(
                member=user.member_profile, shares=-2, effective_on=TODAY(), recorded_by=None
            )
        assert "shares" in refused.value.error_dict
        with pytest.raises(ValidationError):
            services.member_shares_change(
                member=user.member_profile, shares=0, effective_on=TODAY(), recorded_by=None
            )
        assert register_entry(user.member_profile).shares_held == 1
        assert ShareMovement.objects.count() == 2

    def test_eligibility_is_read_from_the_history(self):
        user = admitted(joined=days_ago(100))
        services.membership_status_change(
            member=user.member_profile, status=M.FORMER, effective_on=days_ago(10), recorded_by=None
        )
        assert members_eligible_on(days_ago(50)).filter(user=user).exists()
        assert not members_eligible_on(days_ago(101)).filter(user=user).exists()
        assert not members_eligible_on(days_ago(5)).filter(user=user).exists()

    def test_the_data_migration_records_existing_profiles(self):
        user = MemberFactory(member_profile__membership_since=days_ago(40))
        other = admitted(joined=days_ago(7))
        migration = importlib.import_module("governance.migrations.0002_register_initial_history")
        migration.create_initial_history(apps, None)
        migration.create_initial_history(apps, None)  # twice: nothing more
        change = MembershipChange.objects.get(member=user.member_profile)
        assert (change.status, change.effective_on) == (M.MEMBER, days_ago(40))
        assert MembershipChange.objects.filter(member=other.member_profile).count() == 1

    def test_membership_is_read_only_in_the_django_admin(self):
        assert {"membership_status", "membership_since"} <= set(MemberProfileAdmin.readonly_fields)


class TestPages:
    def test_access_to_the_register(self, client):
        member = admitted(joined=days_ago(10))
        other = admitted(joined=days_ago(10))
        entry_url = reverse("governance:register_entry", args=[member.member_profile.pk])
        list_url = reverse("governance:register_list")
        export_url = reverse("governance:register_export")
        # Anonymous: to the log-in page.
        for url in (entry_url, list_url, export_url, reverse("governance:register_mine")):
            response = client.get(url)
            assert response.status_code == 302
            assert reverse("account_login") in response["Location"]
        # The member: their own entry, never another's, never the list.
        client.force_login(member)
        assert client.get(entry_url).status_code == 200
        assert client.get(reverse("governance:register_mine")).url == entry_url
        other_url = reverse("governance:register_entry", args=[other.member_profile.pk])
        assert client.get(other_url).status_code == 404
        assert client.get(list_url).status_code == 403
        assert client.get(export_url).status_code == 403
        client.force_login(ClientFactory())
        assert client.get(entry_url).status_code == 404
        assert client.get(reverse("governance:register_mine")).status_code == 404
        # Admins: everything.
        client.force_login(AdminFactory())
        assert client.get(entry_url).status_code == 200
        assert client.get(list_url).status_code == 200
        assert client.get(export_url).status_code == 200

    def test_a_member_sees_their_own_history_and_shares(self, client):
        member = admitted(joined=days_ago(10), shares=4, language="en")
        client.force_login(member)
        response = client.get(
            reverse("governance:register_entry", args=[member.member_profile.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
        )
        body = response.content.decode()
        assert "4 × " in body
        assert response.context["entry"].shares_held == 4
        assert response.context["status_form"] is None  # members do not edit the register

    def test_the_list_filters(self, client):
        kept = admitted(joined=days_ago(10), full_name="Zineb Filtrée")
        applicant(full_name="Yves Candidat")
        client.force_login(AdminFactory())
        response = client.get(reverse("governance:register_list"), {"status": M.MEMBER})
        assert [m.pk for m in response.context["members"]] == [kept.member_profile.pk]
        response = client.get(reverse("governance:register_list"), {"q": "candidat"})
        assert [m.user.full_name for m in response.context["members"]] == ["Yves Candidat"]

    def test_the_csv_export_for_the_general_assembly(self, client, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "SHARE_VALUE_CENTS": 5000}
        member = admitted(joined=days_ago(300), shares=2, full_name="Amina Diallo")
        services.membership_status_change(
            member=member.member_profile,
            status=M.FORMER,
            effective_on=days_ago(3),
            recorded_by=None,
        )
        applicant(full_name='=HYPERLINK("http://evil")')
        client.force_login(AdminFactory(language="en"))
        response = client.get(reverse("governance:register_export"), HTTP_ACCEPT_LANGUAGE="en")
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:7] == [
            "Register number",
            "Name",
            "E-mail",
            "Status",
            "Status since",
            "Joining date",
            "Shares held",
        ]
        amina = next(row for row in rows if row[1] == "Amina Diallo")
        assert amina[3] == "former member"
        assert amina[5] == days_ago(300).isoformat()
        assert amina[6] == "2"
        assert amina[7] == "100.00"
        assert amina[8] == (
            f"{days_ago(300).isoformat()} cooperative member; {days_ago(3).isoformat()} former member"
        )
        # A name that a spreadsheet would run as a formula is neutralised.
        assert any(row[1].startswith("'=HYPERLINK") for row in rows)

    def test_an_admin_records_a_change_and_errors_come_back_next_to_the_field(self, client):
        member = admitted(joined=days_ago(10))
        client.force_login(AdminFactory())
        url = reverse("governance:register_status_change", args=[member.member_profile.pk])
        response = client.post(
            url,
            {
                "status-status": M.FORMER,
                "status-effective_on": days_ago(20).isoformat(),
                "status-reason": "Lettre de démission",
            },
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="id_status-effective_on_error"' in body
        assert "Lettre de démission" in body  # the input is kept
        response = client.post(
            url,
            {
                "status-status": M.FORMER,
                "status-effective_on": days_ago(2).isoformat(),
                "status-reason": "Lettre de démission",
            },
        )
        assert response.status_code == 302
        member.member_profile.refresh_from_db()
        assert member.member_profile.membership_status == M.FORMER
        shares_url = reverse("governance:register_shares_change", args=[member.member_profile.pk])
        response = client.post(
            shares_url,
            {
                "shares-shares": "-1",
                "shares-effective_on": TODAY().isoformat(),
                "shares-reason": "",
            },
        )
        assert response.status_code == 200
        assert 'id="id_shares-shares_error"' in response.content.decode()
        response = client.post(
            shares_url,
            {
                "shares-shares": "3",
                "shares-effective_on": TODAY().isoformat(),
                "shares-reason": "x",
            },
        )
        assert response.status_code == 302
        assert register_entry(member.member_profile).shares_held == 3

    def test_members_cannot_post_to_the_register(self, client):
        member = admitted(joined=days_ago(10))
        client.force_login(member)
        url = reverse("governance:register_status_change", args=[member.member_profile.pk])
        response = client.post(
            url, {"status-status": M.FORMER, "status-effective_on": TODAY().isoformat()}
        )
        assert response.status_code == 403
        assert MembershipChange.objects.filter(member=member.member_profile).count() == 1

    def test_the_register_list_query_count_is_constant(
        self, client, django_assert_num_queries, django_assert_max_num_queries
    ):
        admitted(joined=days_ago(10), shares=1)
        client.force_login(AdminFactory())
        url = reverse("governance:register_list")
        with django_assert_max_num_queries(10) as baseline:
            client.get(url)
        for n in range(5):
            admitted(joined=days_ago(n + 1), shares=n + 1)
        with django_assert_num_queries(len(baseline.captured_queries)):
            response = client.get(url)
        assert len(response.context["members"]) == 6

    def test_the_register_is_paged_and_its_totals_cover_every_page(self, client, monkeypatch):
        from governance import views_register

        monkeypatch.setattr(views_register, "REGISTER_PAGE_SIZE", 4)
        for n in range(6):
            admitted(joined=days_ago(n + 1), shares=2, full_name=f"Membre {n:02d}")
        applicant(full_name="Membre candidat")
        client.force_login(AdminFactory(language="en"))
        url = reverse("governance:register_list")

        first = client.get(url, {"status": M.MEMBER})
        assert len(first.context["members"]) == 4
        assert first.context["people"] == 6
        assert first.context["total_shares"] == 12
        body = first.content.decode()
        assert "Page 1 of 2" in body
        # The next page keeps the filter; the export link takes the filter, not the page.
        assert f'href="?status={M.MEMBER}&amp;page=2" rel="next"' in body
        second = client.get(url, {"status": M.MEMBER, "page": 2})
        assert len(second.context["members"]) == 2
        assert second.context["total_shares"] == 12
        assert "page=" not in second.context["export_query"]
        seen = {m.pk for m in first.context["members"]} | {m.pk for m in second.context["members"]}
        assert len(seen) == 6
        # A page number out of range or not a number: the nearest page, not an error.
        assert client.get(url, {"page": 99}).context["page"].number == 2
        assert client.get(url, {"page": "x"}).context["page"].number == 1

    def test_the_export_query_count_is_constant(
        self, client, django_assert_num_queries, django_assert_max_num_queries
    ):
        admitted(joined=days_ago(10), shares=1)
        client.force_login(AdminFactory())
        url = reverse("governance:register_export")
        with django_assert_max_num_queries(10) as baseline:
            client.get(url)
        for n in range(5):
            admitted(joined=days_ago(n + 1), shares=n + 1)
        with django_assert_num_queries(len(baseline.captured_queries)):
            client.get(url)
