"""GDPR: 'My data' — the export of one's own data (JSON), and the erasure of one's account:
refused with its reasons while money is in flight or work is open, otherwise one transaction
that anonymises the person and keeps invoices, payments and the ledger as they were."""

import json
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from marketplace.models import (
    AccountErasure,
    Bid,
    BidMessage,
    DisputeReason,
    Job,
    MemberProfile,
    Review,
    User,
)
from marketplace.selectors.privacy import erasure_blockers, personal_data_export
from marketplace.services import disputes as dispute_services
from marketplace.services import milestones as milestone_services
from marketplace.services.privacy import account_erase, erased_email, erased_name
from matching.models import EvidenceFile
from payments.models import Invoice, LedgerEntry, LedgerTransaction, Payment, PayoutRail
from payments.selectors.ledger import ledger_breaches
from payments.services.payouts import payout_batch_create, payout_batch_mark_sent
from tests.factories import (
    PASSWORD,
    PDF_BYTES,
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    SkillClaimFactory,
    approve_milestone,
    fund_milestone,
    make_bid,
    make_contract,
)

pytestmark = pytest.mark.django_db

MEMBER_IBAN = "BE71096123456769"
# Strings planted in other people's private data: they must never appear in someone's export.
OTHERS = "ZZ-OTHER-PERSON-SECRET"
OWN = "QQ-MY-OWN-WORDS"
COMPETITOR = "YY-COMPETING-BIDDER-SECRET"


def english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# --- a finished piece of work: contract A–X completed, paid, invoiced -----------------------


def completed_contract():
    """Client A hired member X; both milestones paid, delivered and approved; X's evidence
    file, messages and reviews; another member's bid and another client's draft around."""
    member = MemberFactory(
        member_profile__iban=MEMBER_IBAN,
        member_profile__bio=f"Développeuse à Liège {OWN}",
        full_name="Amina Benali",
    )
    client = ClientFactory(full_name="Boulangerie Dupont")
    job = JobFactory(client=client, title=f"Site de la boulangerie {OWN}")
    # A competing bid on the same job, with its thread (the client's business, not X's)
    other_bid = make_bid(job=job)
    Bid.objects.filter(pk=other_bid.pk).update(cover_message=f"Offre concurrente {COMPETITOR}")
    BidMessage.objects.create(
        bid=other_bid, sender=other_bid.member.user, body=f"Autre fil {COMPETITOR}"
    )
    # Someone else's draft, and a bid with its thread on someone else's job
    JobFactory(status="draft", description=f"Brouillon d'un autre {OTHERS}")
    unrelated = make_bid()
    Bid.objects.filter(pk=unrelated.pk).update(cover_message=f"Ailleurs {OTHERS}")
    BidMessage.objects.create(bid=unrelated, sender=unrelated.job.client, body=f"Fil {OTHERS}")
    bid = make_bid(job=job, member=member.member_profile)
    BidMessage.objects.create(bid=bid, sender=member, body=f"Question du membre {OWN}")
    from marketplace.services.bids import bid_accept

    contract = bid_accept(bid=bid, client=client)
    claim = SkillClaimFactory(member=member.member_profile, description=f"CSS {OWN}")
    from marketplace.uploads import PrivateUpload  # noqa: F401  (the stored-file contract)
    from matching.evidence import check_upload

    upload = SimpleUploadedFile("attestation.pdf", PDF_BYTES, content_type="application/pdf")
    EvidenceFile(claim=claim).store(upload, check_upload(upload))
    admin = AdminFactory()
    for milestone in contract.milestones.order_by("position"):
        fund_milestone(milestone, by=admin)
        milestone.refresh_from_db()
        approve_milestone(milestone)
    contract.refresh_from_db()
    from marketplace.services.reviews import review_write

    review_write(contract=contract, author=client, rating=5, text=f"Très bien {OWN}")
    review_write(contract=contract, author=member, rating=4, text=f"Client agréable {OWN}")
    return contract, client, member, admin


def pay_out(member, admin):
    created = payout_batch_create(
        rail=PayoutRail.SEPA,
        by=admin,
        execution_date=timezone.localdate(),
        member_ids=[member.member_profile.pk],
    )
    payout_batch_mark_sent(batch=created.batch, by=admin)


def money_snapshot():
    return {
        "invoices": list(
            Invoice.objects.order_by("pk").values_list(
                "number", "net_cents", "vat_cents", "gross_cents", "buyer"
            )
        ),
        "payments": list(Payment.objects.order_by("pk").values_list("pk", "gross_cents", "status")),
        "entries": list(
            LedgerEntry.objects.order_by("pk").values_list("pk", "account_id", "amount_cents")
        ),
        "transactions": LedgerTransaction.objects.count(),
    }


# --- export ------------------------------------------------------------------------------------


def test_the_export_holds_my_data_and_nothing_of_others(client):
    _contract, _client_a, member, _admin = completed_contract()
    english(client).force_login(member)
    response = client.get(reverse("my_data_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    data = json.loads(text)
    assert data["account"]["email"] == member.email
    assert data["member_profile"]["iban"] == MEMBER_IBAN
    assert OWN in data["member_profile"]["bio"]
    assert [s["files"][0]["name"] for s in data["skills"]] == ["attestation.pdf"]
    assert [b["status"] for b in data["bids"]] == ["accepted"]
    assert any(OWN in m["body"] and m["from_me"] for m in data["messages"])
    assert [c["my_side"] for c in data["contracts"]] == ["member"]
    assert len(data["contracts"][0]["milestones"]) == 2
    assert [r["rating"] for r in data["reviews"]["given"]] == [4]
    assert [r["rating"] for r in data["reviews"]["received"]] == [5]  # both written: published
    assert data["payouts"] == [] and data["invoices"] == []
    assert data["notifications"]
    # Nothing of the other bidder, the other client's draft, or their conversations
    assert OTHERS not in text and COMPETITOR not in text


def test_a_clients_export_has_invoice_metadata_and_payments(client):
    contract, client_a, _member, _admin = completed_contract()
    client.force_login(client_a)
    data = json.loads(client.get(reverse("my_data_export")).content)
    invoices = Invoice.objects.filter(client=client_a).order_by("year", "sequence_number")
    assert [i["number"] for i in data["invoices"]] == [i.number for i in invoices]
    assert [p["status"] for p in data["payments"]] == ["succeeded", "succeeded"]
    assert data["member_profile"] is None and data["bids"] == []
    assert [j["title"] for j in data["jobs"]] == [contract.job.title]
    text = json.dumps(data)
    assert OTHERS not in text  # nothing of other clients' jobs and conversations...
    assert MEMBER_IBAN not in text  # ...nor is the member's bank account


def test_the_export_reads_a_fixed_number_of_queries(django_assert_num_queries):
    _contract, _client_a, member, _admin = completed_contract()
    with CaptureQueriesContext(connection) as small_account:
        small = personal_data_export(user=member)
    # More of everything (bids, claims) must not mean more queries
    for _ in range(4):
        make_bid(member=member.member_profile)
        SkillClaimFactory(member=member.member_profile, skill=_another_skill(member.member_profile))
    with django_assert_num_queries(len(small_account.captured_queries)):
        big = personal_data_export(user=member)
    assert len(big["bids"]) == len(small["bids"]) + 4
    assert len(big["skills"]) == len(small["skills"]) + 4
    assert len(small_account.captured_queries) <= 30


def _another_skill(profile):
    from matching.models import Skill

    taken = profile.skill_claims.values_list("skill_id", flat=True)
    return Skill.objects.exclude(pk__in=taken).order_by("pk").first()


def test_my_data_needs_a_login(client):
    for name in ("my_data", "my_data_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    assert client.post(reverse("my_data_erase")).status_code == 302


# --- erasure refused ---------------------------------------------------------------------------


def codes(user) -> set[str]:
    return {blocker.code for blocker in erasure_blockers(user=user)}


def test_erasure_waits_for_an_active_contract_held_funds_and_an_open_dispute(client):
    contract = make_contract()
    milestone = contract.milestones.get(position=1)
    fund_milestone(milestone)
    member = contract.member.user
    milestone_services.milestone_start(milestone=milestone, member=member)
    milestone_services.milestone_deliver(milestone=milestone, member=member, message="Livré.")
    dispute_services.dispute_open(
        milestone=milestone,
        by=contract.client,
        reason=DisputeReason.NOT_AS_AGREED,
        account="Pas conforme.",
        member_cents=10000,
    )
    for person in (contract.client, member):
        assert {"contract_active", "funds_held", "dispute_open"} <= codes(person)
    # Through the page: the reasons are said, the account stays
    english(client).force_login(member)
    page = client.get(reverse("my_data"))
    html = page.content.decode()
    assert "cannot be erased yet" in html and "in progress" in html and "dispute" in html
    response = client.post(reverse("my_data_erase"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 409
    assert "still open" in response.content.decode()
    member.refresh_from_db()
    assert member.is_active and not AccountErasure.objects.exists()


def test_the_blockers_cost_the_same_for_one_contract_or_many(django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = make_contract()
    fund_milestone(first.milestones.get(position=1))
    member = first.member.user
    with CaptureQueriesContext(connection) as one:
        assert "funds_held" in codes(member)
    for _ in range(3):
        other = make_contract(member=first.member)
        fund_milestone(other.milestones.get(position=1))
    with django_assert_num_queries(len(one.captured_queries)):
        assert "funds_held" in codes(member)


def test_erasure_waits_until_the_members_balance_is_paid_out():
    _contract, _client_a, member, admin = completed_contract()
    assert "balance_unpaid" in codes(member)
    with pytest.raises(ValidationError) as refused:
        account_erase(user=member, requested_by=member)
    assert [e.code for e in refused.value.error_list] == ["balance_unpaid"]
    pay_out(member, admin)
    assert codes(member) == set()


def test_erasure_waits_for_open_bids_and_open_jobs():
    bid = make_bid()
    assert "bid_active" in codes(bid.member.user)
    assert "job_open" in codes(bid.job.client)


# --- erasure done ------------------------------------------------------------------------------


def test_a_member_erases_their_account(client, django_capture_on_commit_callbacks):
    # Given a member whose work is finished and paid out, logged in with a token and TOTP
    contract, client_a, member, admin = completed_contract()
    pay_out(member, admin)
    Token.objects.create(user=member)
    TOTP.activate(member, "JBSWY3DPEHPK3PXP")
    english(client).force_login(member)
    other_browser = english(type(client)())
    other_browser.force_login(member)
    files_before = [EvidenceFile.objects.get().file.path]
    original_email = member.email
    before = money_snapshot()
    assert ledger_breaches() == []
    # When they erase their account with their password and the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("my_data_erase"), {"password": PASSWORD, "confirm": "on"})
    # Then they are logged out, and the account is anonymised
    assert response.status_code == 302 and response.url == reverse("home")
    member.refresh_from_db()
    profile = MemberProfile.objects.get(user=member)
    assert member.email == erased_email(member) and member.email.endswith(".invalid")
    assert member.full_name == erased_name(member) and str(member.pk) in member.full_name
    # In the site's language (French), whatever the request's
    assert erased_name(member).startswith("Ancien membre")
    assert not member.is_active and not member.has_usable_password()
    assert profile.display_name == member.full_name
    assert (profile.bio, profile.iban, profile.portfolio_links) == ("", "", [])
    assert profile.is_hidden
    # Their words are gone, files deleted from storage; ratings stay
    assert not EvidenceFile.objects.exists()
    assert not any(Path(path).exists() for path in files_before)
    assert OWN not in "".join(
        BidMessage.objects.filter(sender=member).values_list("body", flat=True)
    )
    assert OWN not in Bid.objects.get(contract=contract).cover_message
    given = Review.objects.get(author=member)
    assert OWN not in given.text and given.rating == 4
    # Sessions, tokens, second factors are gone
    assert not Token.objects.filter(user=member).exists()
    assert not Authenticator.objects.filter(user=member).exists()
    assert not any(
        str(s.get_decoded().get("_auth_user_id")) == str(member.pk) for s in Session.objects.all()
    )
    assert other_browser.get(reverse("dashboard")).status_code == 302
    # Money untouched, the ledger balances
    assert money_snapshot() == before
    assert ledger_breaches() == []
    # An audit record, without the erased data
    erasure = AccountErasure.objects.get(user=member)
    assert erasure.requested_by == member
    assert "Amina" not in json.dumps(erasure.summary) and MEMBER_IBAN not in str(erasure.summary)
    # Log-in fails afterwards, with the old address or the placeholder
    for email in (original_email, member.email):
        browser = english(type(client)())
        browser.post(reverse("account_login"), {"login": email, "password": PASSWORD})
        assert "_auth_user_id" not in browser.session
    # The public profile is gone; the export of someone else does not hold the old name
    assert client.get(reverse("member_profile_detail", args=[profile.pk])).status_code == 404
    assert "Amina" not in json.dumps(personal_data_export(user=client_a))


def test_a_client_erases_their_account_and_invoices_stay_as_issued():
    contract, client_a, _member, _admin = completed_contract()
    original_email = client_a.email
    before = money_snapshot()
    numbers = before["invoices"]
    account_erase(user=client_a, requested_by=client_a)
    client_a.refresh_from_db()
    assert client_a.full_name == erased_name(client_a)
    assert erased_name(client_a).startswith("Ancien client")
    assert client_a.email == erased_email(client_a)
    profile = client_a.client_profile
    assert (profile.street, profile.city, profile.vat_number) == ("", "", "")
    job = Job.objects.get(pk=contract.job_id)
    assert OWN not in job.description  # their words, gone
    assert job.title == contract.job.title  # the work's name stays: invoices and history
    # Invoices keep the buyer as issued (immutable documents), money untouched
    assert money_snapshot() == before
    assert Invoice.objects.filter(client=client_a).count() == len(numbers)
    assert ledger_breaches() == []
    assert not User.objects.filter(email=original_email).exists()


def test_a_second_erasure_is_harmless():
    _contract, client_a, _member, _admin = completed_contract()
    first = account_erase(user=client_a, requested_by=client_a)
    client_a.refresh_from_db()
    state = (client_a.email, client_a.full_name, client_a.password)
    again = account_erase(user=client_a, requested_by=client_a)
    client_a.refresh_from_db()
    assert again.pk == first.pk
    assert (client_a.email, client_a.full_name, client_a.password) == state
    assert AccountErasure.objects.count() == 1
    assert ledger_breaches() == []


def test_erasure_needs_the_password_and_the_confirmation(client):
    member = MemberFactory()
    english(client).force_login(member)
    wrong = client.post(reverse("my_data_erase"), {"password": "nope", "confirm": "on"})
    assert wrong.status_code == 400
    assert 'id="id_password_error"' in wrong.content.decode()
    unconfirmed = client.post(reverse("my_data_erase"), {"password": PASSWORD})
    assert unconfirmed.status_code == 400
    assert 'id="id_confirm_error"' in unconfirmed.content.decode()
    assert client.get(reverse("my_data_erase")).status_code == 405
    member.refresh_from_db()
    assert member.is_active and not AccountErasure.objects.exists()


def test_admins_see_in_moderation_that_an_account_was_erased(client):
    from tests.test_admin_mfa import record_mfa

    member = MemberFactory()
    account_erase(user=member, requested_by=member)
    admin = AdminFactory()
    TOTP.activate(admin, "JBSWY3DPEHPK3PXP")
    english(client).force_login(admin)
    record_mfa(client, admin)
    html = client.get(reverse("moderation_user", args=[member.pk])).content.decode()
    assert 'id="account-erased"' in html
    assert client.get("/admin/marketplace/accounterasure/").status_code == 200
