"""Votes: one member, one vote, secret ballot (governance.services, views_votes).

Covers the electoral roll frozen at the opening, who may vote, changing a vote, secrecy (no
page, export or admin joins a voter to a choice; the secret wiped at the close), quorum maths
and ties, the idempotent close, the decided solidarity rate applying only to contracts first
funded from the day after the close, and the query counts of the list pages. Races run on
PostgreSQL at the end of the file."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation

from governance import services
from governance.models import (
    Ballot,
    Proposal,
    ProposalKind,
    ProposalOutcome,
    ProposalSignature,
    ProposalStatus,
    RollEntry,
)
from governance.selectors import members_eligible_on
from marketplace.models import MemberProfile, Notification
from payments.models import SolidarityRate
from payments.services.funds import solidarity_rate_in_force
from tests.concurrency import race
from tests.factories import (
    AdminFactory,
    ClientFactory,
    MemberFactory,
    fund_milestone,
    make_contract,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
ALPHA = "CHOICE-ALPHA-7F3Q"
BRAVO = "CHOICE-BRAVO-9K2Z"
CHARLIE = "CHOICE-CHARLIE-4M8W"


def freeze(monkeypatch, moment: datetime.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def member(*, joined: datetime.date | None = None, **user_fields):
    """A cooperative member recorded in the register as joining on ``joined`` (default: a
    year ago)."""
    user = MemberFactory(member_profile__membership_status="applicant", **user_fields)
    services.membership_status_change(
        member=user.member_profile,
        status=MemberProfile.Membership.MEMBER,
        effective_on=joined or timezone.localdate() - datetime.timedelta(days=365),
        recorded_by=None,
    )
    return user


def open_vote(
    *,
    kind=ProposalKind.GENERAL,
    options=(ALPHA, BRAVO, CHARLIE),
    quorum=25,
    opened_days_ago=0,
    days=7,
    question="Faut-il une assemblée en ligne ?",
) -> Proposal:
    """An admin's proposal, opened now by the periodic pass (its roll frozen)."""
    now = timezone.now()
    proposal = services.proposal_create(
        author=AdminFactory(),
        data=services.ProposalInput(
            kind=kind,
            question=question,
            explanation="Pourquoi nous votons.",
            opens_at=now - datetime.timedelta(days=opened_days_ago, minutes=1),
            closes_at=now + datetime.timedelta(days=days),
            quorum_percent=quorum,
            options=list(options),
        ),
    )
    assert services.proposals_open_due(now) == 1
    proposal.refresh_from_db()
    return proposal


def option(proposal: Proposal, choice):
    """An option by its label, or by its rate in basis points."""
    return next(o for o in proposal.options.all() if choice in (o.label, o.rate_bp))


def vote(proposal: Proposal, user, choice):
    return services.ballot_cast(
        proposal=proposal, voter=user, option_id=option(proposal, choice).pk
    )


def close(proposal: Proposal) -> Proposal:
    assert services.proposal_close(
        proposal_id=proposal.pk, now=proposal.closes_at + datetime.timedelta(seconds=1)
    )
    proposal.refresh_from_db()
    return proposal


@pytest.mark.django_db
class TestRollAndVote:
    def test_the_roll_is_frozen_at_the_opening_with_the_members_of_that_day(self):
        voters = [member() for _ in range(3)]
        applicant = MemberFactory(member_profile__membership_status="applicant")
        proposal = open_vote()
        assert proposal.status == ProposalStatus.OPEN
        assert proposal.eligible_count == 3
        assert len(proposal.ballot_secret) == 64
        on_roll = set(proposal.roll.values_list("member__user", flat=True))
        assert on_roll == {user.pk for user in voters}
        assert applicant.pk not in on_roll
        # A second pass opens nothing and adds nobody.
        late = member()
        assert services.proposals_open_due() == 0
        assert proposal.roll.count() == 3
        assert not proposal.roll.filter(member=late.member_profile).exists()
        # Members on the roll are told, with a link to the vote.
        notice = Notification.objects.get(user=voters[0], kind="governance")
        assert notice.url == reverse("governance:proposal_detail", args=[proposal.pk])

    def test_a_member_votes_then_changes_the_vote_one_ballot_remains(self):
        voter = member()
        proposal = open_vote()
        vote(proposal, voter, ALPHA)
        vote(proposal, voter, BRAVO)
        ballot = Ballot.objects.get(proposal=proposal)
        assert ballot.option.display == BRAVO
        entry = RollEntry.objects.get(proposal=proposal, member=voter.member_profile)
        assert entry.has_voted

    def test_an_option_of_another_proposal_is_refused(self):
        voter = member()
        proposal = open_vote()
        other = open_vote(question="Autre question ?")
        with pytest.raises(ValidationError):
            services.ballot_cast(proposal=proposal, voter=voter, option_id=other.options.first().pk)
        assert not Ballot.objects.exists()

    def test_no_vote_after_the_closing_time_even_before_the_close_runs(self, monkeypatch):
        voter = member()
        proposal = open_vote()
        freeze(monkeypatch, proposal.closes_at)
        with pytest.raises(ValidationError):
            vote(proposal, voter, ALPHA)
        assert not Ballot.objects.exists()

    def test_the_vote_page_says_voted_without_the_choice(self, client):
        voter = member(language="en")
        proposal = open_vote()
        client.force_login(voter)
        url = reverse("governance:proposal_vote", args=[proposal.pk])
        response = client.post(url, {"option": option(proposal, ALPHA).pk}, follow=True)
        assert response.status_code == 200
        html = response.content.decode()
        assert "You have voted. You can change your vote until" in html
        assert "checked" not in html
        assert Ballot.objects.get(proposal=proposal).option.display == ALPHA

    def test_a_vote_without_a_choice_shows_the_error_next_to_the_field(self, client):
        voter = member()
        proposal = open_vote()
        client.force_login(voter)
        response = client.post(
            reverse("governance:proposal_vote", args=[proposal.pk]),
            {"option": "999999"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200
        assert 'id="id_option_error"' in response.content.decode()
        assert not Ballot.objects.exists()


@pytest.mark.django_db
class TestIneligibleVoters:
    """Each kind of ineligible voter is refused, with a reason, and no ballot is written."""

    def _post(self, client, proposal, user):
        if user is not None:
            client.force_login(user)
        return client.post(
            reverse("governance:proposal_vote", args=[proposal.pk]),
            {"option": proposal.options.first().pk},
            HTTP_ACCEPT_LANGUAGE="en",
        )

    def test_an_applicant_is_refused(self, client):
        member()
        applicant = MemberFactory(member_profile__membership_status="applicant", language="en")
        proposal = open_vote()
        response = self._post(client, proposal, applicant)
        assert response.status_code == 403
        assert "electoral roll" in response.content.decode()
        with pytest.raises(PermissionDenied):
            vote(proposal, applicant, ALPHA)
        assert not Ballot.objects.exists()

    def test_a_former_member_is_refused(self, client):
        leaver = member()
        services.membership_status_change(
            member=leaver.member_profile,
            status=MemberProfile.Membership.FORMER,
            effective_on=timezone.localdate() - datetime.timedelta(days=10),
            recorded_by=None,
            reason="Démission",
        )
        proposal = open_vote()
        assert self._post(client, proposal, leaver).status_code == 403
        assert not Ballot.objects.exists()

    def test_a_member_who_joined_after_the_opening_day_is_refused(self, client):
        proposal = open_vote(opened_days_ago=3)
        newcomer = member(joined=timezone.localdate() - datetime.timedelta(days=1))
        assert self._post(client, proposal, newcomer).status_code == 403
        assert not Ballot.objects.exists()

    def test_a_member_who_joined_on_the_opening_day_votes(self, client):
        newcomer = member(joined=timezone.localdate())
        proposal = open_vote()
        assert self._post(client, proposal, newcomer).status_code == 302
        assert Ballot.objects.count() == 1

    def test_a_member_who_left_after_the_opening_keeps_this_vote(self):
        voter = member()
        proposal = open_vote(opened_days_ago=2)
        services.membership_status_change(
            member=voter.member_profile,
            status=MemberProfile.Membership.FORMER,
            effective_on=timezone.localdate(),
            recorded_by=None,
        )
        vote(proposal, voter, ALPHA)
        assert Ballot.objects.count() == 1

    def test_a_client_is_refused(self, client):
        member()
        proposal = open_vote()
        response = self._post(client, proposal, ClientFactory())
        assert response.status_code in (403, 404)
        with pytest.raises(PermissionDenied):
            services.ballot_cast(
                proposal=proposal, voter=ClientFactory(), option_id=proposal.options.first().pk
            )
        assert not Ballot.objects.exists()

    def test_an_admin_who_is_not_a_member_is_refused(self, client):
        member()
        proposal = open_vote()
        response = self._post(client, proposal, AdminFactory(language="en"))
        assert response.status_code == 403
        assert "Only cooperative members vote." in response.content.decode()
        assert not Ballot.objects.exists()

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        member()
        proposal = open_vote()
        response = self._post(client, proposal, None)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]
        assert not Ballot.objects.exists()

    def test_a_member_profile_without_register_history_counts_with_its_status(self):
        # Profiles created after the register's data migration and never changed through it.
        legacy = MemberFactory()
        assert legacy.member_profile.membership_changes.count() == 0
        assert members_eligible_on(timezone.localdate()).filter(user=legacy).exists()
        later = MemberFactory(
            member_profile__membership_since=timezone.localdate() + datetime.timedelta(days=1)
        )
        assert not members_eligible_on(timezone.localdate()).filter(user=later).exists()


def _normalise(html: str, user) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', "", html)
    html = re.sub(r'nonce="[^"]+"', "", html)
    for identity in (
        user.email,
        user.full_name,
        user.get_short_name(),
        user.member_profile.display_name,
    ):
        html = html.replace(identity, "IDENTITY")
    return re.sub(r'"/register/members/\d+/"', "", html)


@pytest.mark.django_db
class TestSecrecy:
    def test_a_ballot_has_no_link_to_a_person_and_no_time(self):
        fields = Ballot._meta.get_fields()
        for field in fields:
            if field.is_relation:
                assert field.related_model.__name__ in {"Proposal", "ProposalOption"}, field
            assert not isinstance(field, models.DateField | models.DateTimeField), field
        assert isinstance(Ballot._meta.pk, models.UUIDField)
        entry_fields = {field.name for field in RollEntry._meta.get_fields()}
        assert entry_fields == {"id", "proposal", "member", "has_voted"}

    def test_the_secret_is_wiped_at_the_close_and_keys_cannot_be_computed(self):
        voter = member()
        proposal = open_vote()
        vote(proposal, voter, ALPHA)
        key = services.voter_key(proposal, voter.member_profile.pk)
        assert Ballot.objects.filter(voter_key=key).exists()
        proposal = close(proposal)
        assert proposal.ballot_secret == ""
        with pytest.raises(ValidationError):
            services.voter_key(proposal, voter.member_profile.pk)

    def test_two_voters_with_different_choices_see_the_same_vote_page(self, client):
        first, second = member(language="en"), member(language="en")
        proposal = open_vote()
        vote(proposal, first, ALPHA)
        vote(proposal, second, BRAVO)
        pages = []
        for user in (first, second):
            client.force_login(user)
            response = client.get(
                reverse("governance:proposal_detail", args=[proposal.pk]), HTTP_ACCEPT_LANGUAGE="en"
            )
            pages.append(_normalise(response.content.decode(), user))
            client.logout()
        assert "You have voted" in pages[0]
        assert pages[0] == pages[1]

    def test_no_page_export_or_admin_joins_a_voter_and_a_choice(self, client, settings):
        settings.SIRIUS_STAFF_REQUIRE_MFA = False
        # Distinctive names: a faker first name could also be the admin's, shown on every admin page.
        voters = [
            member(full_name=f"Votant{n} Secret", member_profile__display_name=f"VoterShown{n}Q")
            for n in range(3)
        ]
        proposal = open_vote()
        for user, choice in zip(voters, (ALPHA, BRAVO, ALPHA), strict=True):
            vote(proposal, user, choice)
        admin = AdminFactory()
        identities = [(user.email, user.member_profile.display_name) for user in voters]

        def staff_pages():
            profile_ids = [user.member_profile.pk for user in voters]
            return [
                reverse("governance:register_list"),
                reverse("governance:register_export"),
                reverse("governance:proposal_list"),
                reverse("governance:proposal_detail", args=[proposal.pk]),
                reverse("governance:decisions"),
                *(reverse("governance:register_entry", args=[pk]) for pk in profile_ids),
                "/admin/governance/proposal/",
                f"/admin/governance/proposal/{proposal.pk}/change/",
                "/admin/governance/membershipchange/",
                "/admin/governance/sharemovement/",
            ]

        def check(pages_by_viewer):
            for viewer, urls in pages_by_viewer:
                client.force_login(viewer) if viewer else client.logout()
                for url in urls:
                    response = client.get(url)
                    assert response.status_code == 200, url
                    body = response.content.decode()
                    names_voter = any(e in body or d in body for e, d in identities)
                    if names_voter:
                        # A page that names a voter shows no choice at all (a page that lists
                        # every option equally, like the vote page, is checked by the test
                        # above: identical for two voters who chose differently).
                        if url == reverse("governance:proposal_detail", args=[proposal.pk]):
                            assert "checked" not in body
                        else:
                            found = [x for e, d in identities for x in (e, d) if x in body]
                            assert ALPHA not in body and BRAVO not in body, (url, found)

        # While the vote is open, then after the close with its published counts.
        check(
            [
                (admin, staff_pages()),
                *(
                    (user, [reverse("governance:proposal_detail", args=[proposal.pk])])
                    for user in voters
                ),
            ]
        )
        close(proposal)
        check(
            [
                (admin, staff_pages()),
                (
                    None,
                    [
                        reverse("governance:decisions"),
                        reverse("governance:proposal_detail", args=[proposal.pk]),
                    ],
                ),
            ]
        )
        # Ballots have no admin at all.
        client.force_login(admin)
        assert client.get("/admin/governance/ballot/").status_code == 404


@pytest.mark.django_db
class TestQuorumAndOutcome:
    @pytest.mark.parametrize(
        ("eligible", "percent", "needed"),
        [
            (8, 25, 2),  # exactly 2.0
            (10, 25, 3),  # 2.5 rounds up
            (9, 33, 3),  # 2.97 rounds up
            (3, 100, 3),
            (1, 1, 1),
            (0, 50, 1),  # nobody eligible: never decided
        ],
    )
    def test_votes_needed_round_up(self, eligible, percent, needed):
        assert services.quorum_votes_needed(eligible=eligible, quorum_percent=percent) == needed

    def _vote_with(self, count_eligible, choices, quorum):
        voters = [member() for _ in range(count_eligible)]
        proposal = open_vote(quorum=quorum)
        for user, choice in zip(voters, choices, strict=False):
            vote(proposal, user, choice)
        return close(proposal)

    def test_exactly_at_quorum_decides(self):
        # 4 eligible, 50 %: 2 votes needed, 2 cast.
        proposal = self._vote_with(4, [ALPHA, ALPHA], quorum=50)
        assert proposal.quorum_votes == 2
        assert proposal.turnout_count == 2
        assert proposal.quorum_reached is True
        assert proposal.outcome == ProposalOutcome.DECIDED
        assert proposal.winning_option.display == ALPHA

    def test_one_below_quorum_decides_nothing(self):
        proposal = self._vote_with(4, [ALPHA], quorum=50)
        assert proposal.quorum_reached is False
        assert proposal.outcome == ProposalOutcome.NO_QUORUM
        assert proposal.winning_option is None

    def test_quorum_rounds_up(self):
        # 5 eligible, 50 % = 2.5: 3 votes needed; 2 are not enough.
        proposal = self._vote_with(5, [ALPHA, ALPHA], quorum=50)
        assert proposal.quorum_votes == 3
        assert proposal.outcome == ProposalOutcome.NO_QUORUM

    def test_a_tie_decides_nothing(self):
        proposal = self._vote_with(4, [ALPHA, BRAVO, ALPHA, BRAVO], quorum=50)
        assert proposal.quorum_reached is True
        assert proposal.outcome == ProposalOutcome.TIE
        assert proposal.winning_option is None

    def test_the_record_keeps_every_count(self, client):
        proposal = self._vote_with(5, [ALPHA, BRAVO, ALPHA], quorum=50)
        counts = {o.display: o.vote_count for o in proposal.options.all()}
        assert counts == {ALPHA: 2, BRAVO: 1, CHARLIE: 0}
        assert proposal.eligible_count == 5
        assert proposal.turnout_count == 3
        assert proposal.closed_at is not None
        response = client.get(reverse("governance:decisions"), HTTP_ACCEPT_LANGUAGE="en")
        body = response.content.decode()
        assert proposal.question in body
        assert "<dd>3 (60" in body  # turnout: 3 of 5

    def test_a_closed_proposal_cannot_be_rescheduled_or_cancelled(self):
        proposal = self._vote_with(2, [ALPHA], quorum=50)
        admin = AdminFactory()
        with pytest.raises(ValidationError):
            services.proposal_cancel(proposal=proposal, by=admin)
        with pytest.raises(ValidationError):
            services.proposal_schedule(
                proposal=proposal,
                by=admin,
                opens_at=timezone.now() + datetime.timedelta(days=1),
                closes_at=timezone.now() + datetime.timedelta(days=2),
                quorum_percent=10,
            )


@pytest.mark.django_db
class TestClose:
    def test_the_close_is_idempotent(self):
        voters = [member() for _ in range(2)]
        proposal = open_vote(kind=ProposalKind.SOLIDARITY_RATE, options=(1000, 1200), quorum=50)
        vote(proposal, voters[0], 1200)
        vote(proposal, voters[1], 1200)
        later = proposal.closes_at + datetime.timedelta(minutes=1)
        assert services.proposals_close_due(later) == 1
        notices = Notification.objects.count()
        assert services.proposals_close_due(later) == 0
        assert not services.proposal_close(proposal_id=proposal.pk, now=later)
        assert SolidarityRate.objects.filter(proposal__isnull=False).count() == 1
        assert Notification.objects.count() == notices

    def test_run_periodic_opens_and_closes_once(self, monkeypatch):
        member()
        now = timezone.now()
        proposal = services.proposal_create(
            author=AdminFactory(),
            data=services.ProposalInput(
                kind=ProposalKind.GENERAL,
                question="Q ?",
                explanation="E",
                opens_at=now + datetime.timedelta(hours=1),
                closes_at=now + datetime.timedelta(days=1),
                quorum_percent=10,
                options=["Oui", "Non"],
            ),
        )
        call_command("run_periodic", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.SCHEDULED
        freeze(monkeypatch, now + datetime.timedelta(hours=2))
        call_command("run_periodic", stdout=open("/dev/null", "w"))  # noqa: SIM115
        call_command("run_periodic", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.OPEN
        assert RollEntry.objects.filter(proposal=proposal).count() == 1
        freeze(monkeypatch, now + datetime.timedelta(days=2))
        call_command("run_periodic", stdout=open("/dev/null", "w"))  # noqa: SIM115
        call_command("run_periodic", stdout=open("/dev/null", "w"))  # noqa: SIM115
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.CLOSED
        assert proposal.outcome == ProposalOutcome.NO_QUORUM


@pytest.mark.django_db
class TestSolidarityRateDecision:
    def test_the_decided_rate_applies_only_to_contracts_first_funded_from_the_next_day(
        self, monkeypatch
    ):
        # Given a rate vote (10 % or 12 %) closing on 10 March 2026 at 18:00 in Brussels
        start = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=BRUSSELS)
        freeze(monkeypatch, start)
        voters = [member(joined=datetime.date(2025, 1, 1)) for _ in range(3)]
        proposal = services.proposal_create(
            author=AdminFactory(),
            data=services.ProposalInput(
                kind=ProposalKind.SOLIDARITY_RATE,
                question="Taux ?",
                explanation="E",
                opens_at=start,
                closes_at=datetime.datetime(2026, 3, 10, 18, 0, tzinfo=BRUSSELS),
                quorum_percent=50,
                options=[1000, 1200],
            ),
        )
        services.proposals_open_due()
        proposal.refresh_from_db()
        for user in voters:
            vote(proposal, user, 1200)
        funded_before = make_contract()
        fund_milestone(funded_before.milestones.get(position=1))
        funded_before.refresh_from_db()
        assert funded_before.solidarity_rate_bp == 1000

        # When it closes (the periodic pass a few minutes later)
        freeze(monkeypatch, datetime.datetime(2026, 3, 10, 18, 5, tzinfo=BRUSSELS))
        assert services.proposals_close_due() == 1
        proposal.refresh_from_db()
        assert proposal.outcome == ProposalOutcome.DECIDED
        rate = proposal.decided_rate
        assert rate.rate_bp == 1200
        assert rate.effective_from == datetime.date(2026, 3, 11)
        assert rate.proposal == proposal

        # A contract first funded later that same day keeps 10 %, and so does the earlier
        # contract when its second milestone is funded afterwards.
        same_day = make_contract()
        fund_milestone(same_day.milestones.get(position=1))
        same_day.refresh_from_db()
        assert same_day.solidarity_rate_bp == 1000

        # Then the day after, a newly funded contract gets 12 %; the earlier one keeps 10 %.
        freeze(monkeypatch, datetime.datetime(2026, 3, 11, 0, 5, tzinfo=BRUSSELS))
        assert solidarity_rate_in_force() == 1200
        funded_after = make_contract()
        fund_milestone(funded_after.milestones.get(position=1))
        funded_after.refresh_from_db()
        assert funded_after.solidarity_rate_bp == 1200
        fund_milestone(funded_before.milestones.get(position=2))
        funded_before.refresh_from_db()
        assert funded_before.solidarity_rate_bp == 1000

    def test_no_quorum_leaves_the_rate_as_it_is(self):
        voters = [member() for _ in range(4)]
        proposal = open_vote(kind=ProposalKind.SOLIDARITY_RATE, options=(800, 1200), quorum=50)
        vote(proposal, voters[0], 800)
        rates = SolidarityRate.objects.count()
        proposal = close(proposal)
        assert proposal.outcome == ProposalOutcome.NO_QUORUM
        assert proposal.decided_rate is None
        assert SolidarityRate.objects.count() == rates

    def test_rates_read_as_percentages_in_the_active_language(self):
        from governance.models import format_rate

        with translation.override("en"):
            assert [format_rate(bp) for bp in (1000, 1250, 1225, 0)] == [
                "10 %",
                "12.5 %",
                "12.25 %",
                "0 %",
            ]
        with translation.override("fr"):
            assert format_rate(1250) == "12,5 %"

    def test_rates_outside_the_statutes_bounds_are_refused(self, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "RATE_MIN_BP": 500, "RATE_MAX_BP": 1500}
        now = timezone.now()
        data = services.ProposalInput(
            kind=ProposalKind.SOLIDARITY_RATE,
            question="Taux ?",
            explanation="E",
            opens_at=now,
            closes_at=now + datetime.timedelta(days=3),
            quorum_percent=20,
            options=[1000, 1600],
        )
        with pytest.raises(ValidationError) as refused:
            services.proposal_create(author=AdminFactory(), data=data)
        assert "options" in refused.value.error_dict

    def test_two_rate_votes_cannot_overlap(self):
        open_vote(kind=ProposalKind.SOLIDARITY_RATE, options=(1000, 1200))
        with pytest.raises(ValidationError) as refused:
            open_vote(kind=ProposalKind.SOLIDARITY_RATE, options=(900, 1100))
        assert "opens_at" in refused.value.error_dict


@pytest.mark.django_db
class TestProposalPages:
    def test_the_create_form_keeps_the_input_and_shows_errors_next_to_fields(self, client):
        client.force_login(AdminFactory())
        now = timezone.localtime()
        response = client.post(
            reverse("governance:proposal_create"),
            {
                "kind": ProposalKind.SOLIDARITY_RATE,
                "question": "Quel taux garder ?",
                "explanation": "Parce que.",
                "options": "10\n60",
                "opens_at": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "closes_at": (now + datetime.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
                "quorum_percent": "30",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="id_options_error"' in body
        assert "Quel taux garder ?" in body
        assert not Proposal.objects.exists()

    def test_closing_before_opening_is_refused_next_to_the_field(self, client):
        client.force_login(AdminFactory())
        now = timezone.localtime()
        response = client.post(
            reverse("governance:proposal_create"),
            {
                "kind": ProposalKind.GENERAL,
                "question": "Q ?",
                "explanation": "E",
                "options": "Oui\nNon",
                "opens_at": (now + datetime.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
                "closes_at": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "quorum_percent": "30",
            },
        )
        assert response.status_code == 200
        assert 'id="id_closes_at_error"' in response.content.decode()

    def test_an_admin_schedules_a_vote_from_the_page(self, client):
        client.force_login(AdminFactory())
        now = timezone.localtime()
        response = client.post(
            reverse("governance:proposal_create"),
            {
                "kind": ProposalKind.SOLIDARITY_RATE,
                "question": "Quel taux ?",
                "explanation": "E",
                "options": "9,5\n10\n12.25 %",
                "opens_at": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "closes_at": (now + datetime.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
                "quorum_percent": "30",
            },
        )
        proposal = Proposal.objects.get()
        assert response.status_code == 302
        assert proposal.status == ProposalStatus.SCHEDULED
        assert [o.rate_bp for o in proposal.options.all()] == [950, 1000, 1225]

    def test_a_member_drafts_from_the_page_and_an_admin_reschedules_it(self, client):
        author = member()
        client.force_login(author)
        now = timezone.localtime()
        response = client.post(
            reverse("governance:proposal_create"),
            {
                "kind": ProposalKind.GENERAL,
                "question": "Un local à Seraing ?",
                "explanation": "E",
                "options": "Oui\nNon",
                "opens_at": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                "closes_at": (now + datetime.timedelta(days=8)).strftime("%Y-%m-%dT%H:%M"),
                "quorum_percent": "30",
            },
        )
        proposal = Proposal.objects.get()
        assert response.status_code == 302
        assert proposal.status == ProposalStatus.DRAFT
        # Another member signs from the page.
        client.force_login(member())
        client.post(reverse("governance:proposal_sign", args=[proposal.pk]))
        assert proposal.signatures.count() == 1
        # Members cannot schedule; an admin can, and a wrong date comes back next to its field.
        url = reverse("governance:proposal_schedule", args=[proposal.pk])
        dates = {
            "opens_at": (now + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "quorum_percent": "40",
        }
        assert client.post(url, dates).status_code == 403
        client.force_login(AdminFactory())
        response = client.post(url, dates)
        assert response.status_code == 200
        assert 'id="id_closes_at_error"' in response.content.decode()
        dates["closes_at"] = (now + datetime.timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
        assert client.post(url, dates).status_code == 302
        proposal.refresh_from_db()
        assert (proposal.status, proposal.quorum_percent) == (ProposalStatus.SCHEDULED, 40)
        client.post(reverse("governance:proposal_cancel", args=[proposal.pk]))
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.CANCELLED

    def test_unpublished_proposals_are_hidden_from_clients_and_visitors(self, client):
        member()
        proposal = open_vote()
        url = reverse("governance:proposal_detail", args=[proposal.pk])
        # Visitors are asked to log in, whether the proposal exists or not.
        for address in (url, reverse("governance:proposal_detail", args=[proposal.pk + 99])):
            response = client.get(address)
            assert response.status_code == 302
            assert reverse("account_login") in response["Location"]
        client.force_login(ClientFactory())
        assert (
            client.get(reverse("governance:proposal_detail", args=[proposal.pk])).status_code == 404
        )
        assert client.get(reverse("governance:proposal_list")).status_code == 403
        close(proposal)
        client.logout()
        assert (
            client.get(reverse("governance:proposal_detail", args=[proposal.pk])).status_code == 200
        )


@pytest.mark.django_db
class TestInitiative:
    def _draft(
        self, author, *, kind=ProposalKind.GENERAL, question="Un local à Seraing ?", options=None
    ):
        now = timezone.now()
        return services.proposal_create(
            author=author,
            data=services.ProposalInput(
                kind=kind,
                question=question,
                explanation="E",
                opens_at=now + datetime.timedelta(days=1),
                closes_at=now + datetime.timedelta(days=8),
                quorum_percent=20,
                options=options or ["Oui", "Non"],
            ),
        )

    def test_a_member_draft_is_scheduled_once_enough_members_sign(self, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "INITIATIVE_SIGNATURES": 2}
        author = member()
        proposal = self._draft(author)
        assert proposal.status == ProposalStatus.DRAFT
        with pytest.raises(ValidationError):
            services.proposal_sign(proposal=proposal, signer=author)
        first = member()
        services.proposal_sign(proposal=proposal, signer=first)
        with pytest.raises(ValidationError):
            services.proposal_sign(proposal=proposal, signer=first)
        with pytest.raises(PermissionDenied):
            services.proposal_sign(
                proposal=proposal,
                signer=MemberFactory(member_profile__membership_status="applicant"),
            )
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.DRAFT
        services.proposal_sign(proposal=proposal, signer=member())
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.SCHEDULED
        assert ProposalSignature.objects.filter(proposal=proposal).count() == 2

    def test_admins_are_told_when_a_draft_gets_its_signatures(self, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "INITIATIVE_SIGNATURES": 2}
        english, french = AdminFactory(language="en"), AdminFactory(language="fr")
        gone = AdminFactory(is_active=False)
        proposal = self._draft(member())
        services.proposal_sign(proposal=proposal, signer=member())
        assert not Notification.objects.filter(kind="governance").exists()  # 1 of 2
        services.proposal_sign(proposal=proposal, signer=member())
        told = {n.user_id: n for n in Notification.objects.filter(kind="governance")}
        assert set(told) == {english.pk, french.pk}
        assert gone.pk not in told
        assert "has its 2 signatures: it is scheduled to open on" in told[english.pk].message
        assert "Un local à Seraing ?" in told[french.pk].message
        assert told[english.pk].message != told[french.pk].message  # each in their language
        assert told[english.pk].url == reverse("governance:proposal_detail", args=[proposal.pk])

    def test_admins_are_told_once_when_the_signatures_come_too_late(self, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "INITIATIVE_SIGNATURES": 2}
        admin = AdminFactory(language="en")
        proposal = self._draft(member())
        services.proposal_sign(proposal=proposal, signer=member())
        Proposal.objects.filter(pk=proposal.pk).update(
            opens_at=timezone.now() - datetime.timedelta(days=9),
            closes_at=timezone.now() - datetime.timedelta(days=1),
        )
        services.proposal_sign(proposal=proposal, signer=member())
        services.proposal_sign(proposal=proposal, signer=member())  # a third: no new notice
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.DRAFT
        notices = Notification.objects.filter(kind="governance", user=admin)
        assert [n.message for n in notices] == [
            "The members' proposal “Un local à Seraing ?” has its 2 signatures but its voting "
            "period is over: give it new dates."
        ]

    def test_admins_are_told_when_a_signed_draft_overlaps_a_rate_vote(self, settings):
        settings.GOVERNANCE = {**settings.GOVERNANCE, "INITIATIVE_SIGNATURES": 2}
        open_vote(kind=ProposalKind.SOLIDARITY_RATE, options=(1000, 1200))
        admin = AdminFactory(language="en")
        proposal = self._draft(
            member(), kind=ProposalKind.SOLIDARITY_RATE, question="Et 9 % ?", options=[900, 1100]
        )
        for _ in range(3):
            services.proposal_sign(proposal=proposal, signer=member())
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.DRAFT
        notices = Notification.objects.filter(kind="governance", user=admin)
        assert [n.message for n in notices] == [
            "The members' proposal “Et 9 % ?” has its 2 signatures but overlaps another vote "
            "on the solidarity rate: give it new dates."
        ]

    def test_applicants_and_clients_cannot_draft(self):
        now = timezone.now()
        data = services.ProposalInput(
            kind=ProposalKind.GENERAL,
            question="Q ?",
            explanation="E",
            opens_at=now + datetime.timedelta(days=1),
            closes_at=now + datetime.timedelta(days=8),
            quorum_percent=20,
            options=["Oui", "Non"],
        )
        for user in (MemberFactory(member_profile__membership_status="applicant"), ClientFactory()):
            with pytest.raises(PermissionDenied):
                services.proposal_create(author=user, data=data)


@pytest.mark.django_db
class TestQueryCounts:
    def test_the_decisions_page_query_count_is_constant(
        self, client, django_assert_num_queries, django_assert_max_num_queries
    ):
        voter = member()
        for n in range(2):
            proposal = open_vote(question=f"Q{n} ?")
            vote(proposal, voter, ALPHA)
            close(proposal)
        url = reverse("governance:decisions")
        with django_assert_max_num_queries(10) as baseline:
            client.get(url)
        for n in range(2, 6):
            close(open_vote(question=f"Q{n} ?"))
        with django_assert_num_queries(len(baseline.captured_queries)):
            response = client.get(url)
        assert len(response.context["proposals"]) == 6

    def test_the_votes_list_query_count_is_constant(
        self, client, django_assert_num_queries, django_assert_max_num_queries
    ):
        voter = member()
        client.force_login(voter)
        open_vote(question="Q0 ?")
        url = reverse("governance:proposal_list")
        with django_assert_max_num_queries(15) as baseline:
            client.get(url)
        for n in range(1, 6):
            proposal = open_vote(question=f"Q{n} ?")
            vote(proposal, voter, BRAVO)
        with django_assert_num_queries(len(baseline.captured_queries)):
            response = client.get(url)
        assert len(response.context["lists"].open) == 6


# --- PostgreSQL: races --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestRaces:
    def test_ten_concurrent_votes_of_one_member_leave_one_ballot(self):
        voter = member()
        proposal = open_vote()
        alpha = option(proposal, ALPHA).pk

        def cast(_index):
            services.ballot_cast(proposal=proposal, voter=voter, option_id=alpha)
            return "ok"

        outcomes = race(10, cast)
        assert outcomes == ["ok"] * 10
        assert Ballot.objects.filter(proposal=proposal).count() == 1
        assert RollEntry.objects.filter(proposal=proposal, has_voted=True).count() == 1

    def test_concurrent_changes_of_one_vote_leave_one_ballot_with_one_of_the_choices(self):
        voter = member()
        proposal = open_vote()
        choices = [option(proposal, label).pk for label in (ALPHA, BRAVO, CHARLIE)]

        def cast(index):
            services.ballot_cast(proposal=proposal, voter=voter, option_id=choices[index % 3])
            return "ok"

        outcomes = race(10, cast)
        assert outcomes == ["ok"] * 10
        ballots = list(Ballot.objects.filter(proposal=proposal))
        assert len(ballots) == 1
        assert ballots[0].option_id in choices

    def test_votes_racing_the_close_are_counted_or_refused_never_lost(self):
        voters = [member() for _ in range(6)]
        proposal = open_vote()
        alpha = option(proposal, ALPHA).pk
        at_close = proposal.closes_at

        def act(index):
            if index == 0:
                services.proposal_close(proposal_id=proposal.pk, now=at_close)
                return "closed"
            services.ballot_cast(proposal=proposal, voter=voters[index - 1], option_id=alpha)
            return "voted"

        outcomes = race(7, act)
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.CLOSED
        voted = outcomes.count("voted")
        assert option(proposal, ALPHA).vote_count == voted
        assert proposal.turnout_count == voted
        assert outcomes.count("ValidationError") == 6 - voted


@pytest.mark.django_db
def test_the_demo_has_an_open_vote_and_a_published_result_that_moves_no_money():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 (idempotent)
    open_one = Proposal.objects.get(status=ProposalStatus.OPEN)
    closed = Proposal.objects.get(status=ProposalStatus.CLOSED)
    assert Proposal.objects.count() == 2
    assert open_one.kind == ProposalKind.SOLIDARITY_RATE
    amina = MemberProfile.objects.get(user__email="amina@demo.sirius.coop")
    assert open_one.roll.filter(member=amina).exists()
    assert closed.outcome == ProposalOutcome.DECIDED and closed.decided_rate is None
    assert closed.turnout_count > 0 and closed.ballot_secret == ""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert solidarity_rate_in_force(tomorrow) == 1000
    assert amina.membership_changes.filter(status=MemberProfile.Membership.MEMBER).exists()
