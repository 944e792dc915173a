"""The authorisation matrix: every route of the site (pages and API, from the URL resolver) ×
seven people — anonymous, client A, client B, member X, member Y, a validator and an admin —
with the expected answer written down in ROUTES. A route missing from ROUTES fails
(`test_every_route_is_in_the_matrix` says which line to add).

For each route: a GET by each role must answer what the table says; on state-changing routes a
POST by everybody who is not an owner must be refused (log-in page, 403, 404 or 405) and change
nothing in the database. Every answer, to every role, is searched for the sentinel strings
planted in private data (draft job, bids, messages, deliveries, evidence, IBAN, payouts,
dispute statement and files, refund): a sentinel may only appear for the people allowed to see
it (SENTINEL_READERS).

The world is built once for the module (one transaction rolled back at the end); each route's
test runs in its own savepoint. Decisions:
- Django's admin (`/admin/...`) is skipped route by route; `test_only_staff_with_mfa_reach_the_
  admin` checks its door (anonymous → log-in, non-staff → 403, staff with TOTP → 200).
- allauth's own routes (`accounts/...`) are skipped except the main ones in ROUTES (log-in,
  sign-up, e-mail, password change, 2FA index): they hold no marketplace data, allauth tests
  its flows, and their answers depend on allauth's internal stages.
"""

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    MemberLanguageFactory,
    SkillClaimFactory,
    ValidatorFactory,
    fund_milestone,
    make_bid,
)
from tests.test_admin_mfa import record_mfa

ROLES = ("anon", "client_a", "client_b", "member_x", "member_y", "validator", "admin")
LOGGED_IN = frozenset(ROLES) - {"anon"}
EVERYBODY = frozenset(ROLES)
STAFF = frozenset({"admin"})

# --- sentinels: planted in private data, each with who may read it ------------------------------

S_DRAFT = "SNTLDRAFT7Q"  # title and description of client A's draft job
S_DRAFT_FILE = "SNTLDRAFTFILE7Q"  # name of the draft's attachment
S_BID_X = "SNTLBIDX3K"  # member X's bid message (accepted: the contract)
S_BID_Y = "SNTLBIDY5M"  # member Y's bid message on A's open job
S_MESSAGE = "SNTLMSG9P"  # a message from A to Y in the bid's thread
S_DELIVERY = "SNTLDELIV2R"  # X's delivery message and the delivered file's name
S_EVIDENCE = "SNTLEVID4T"  # X's skill evidence file name
S_IBAN = "BE71096123456769"  # X's IBAN (a real one: payouts check it)
S_PAYOUT = "SNTLPAYOUT8U"  # the reference of X's payout line
S_DISPUTE = "SNTLDISPUTE6W"  # A's dispute statement and evidence text
S_DISPUTE_FILE = "SNTLDISPFILE6W"  # the dispute evidence file's name
S_REFUND = "SNTLREFUND1Z"  # the reason of a refund to A

SENTINEL_READERS = {
    S_DRAFT: {"client_a", "admin"},
    S_DRAFT_FILE: {"client_a", "admin"},
    S_BID_X: {"member_x", "client_a", "admin"},
    S_BID_Y: {"member_y", "client_a", "admin"},
    S_MESSAGE: {"member_y", "client_a", "admin"},
    S_DELIVERY: {"member_x", "client_a", "admin"},
    # Evidence: the member, validators, admins, and a client the member bid for (README).
    S_EVIDENCE: {"member_x", "validator", "admin", "client_a"},
    S_IBAN: {"member_x", "admin"},
    S_PAYOUT: {"member_x", "admin"},
    S_DISPUTE: {"client_a", "member_x", "admin"},
    S_DISPUTE_FILE: {"client_a", "member_x", "admin"},
    S_REFUND: {"client_a", "admin"},
}


# --- the world ---------------------------------------------------------------------------------


def _upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _store(record, name: str, data: bytes, content_type: str):
    from matching.evidence import check_upload

    upload = _upload(name, data, content_type)
    return record.store(upload, check_upload(upload))


def _governance(world) -> None:
    """A proposal, once the governance app has one (built by another issue)."""
    world.proposal_id = 0
    try:
        proposal_model = apps.get_model("governance", "Proposal")
    except LookupError:
        return
    now = timezone.now()
    proposal = proposal_model.objects.create(
        kind="general",
        status="draft",
        question="Faut-il un local à Liège ?",
        explanation="Une question aux membres.",
        opens_at=now + datetime.timedelta(days=7),
        closes_at=now + datetime.timedelta(days=14),
        quorum_percent=20,
        created_by=world.member_x,
    )
    world.proposal_id = proposal.pk


def build_world() -> SimpleNamespace:
    from marketplace.models import (
        BidMessage,
        DeliveryFile,
        DisputeEvidenceFile,
        DisputeReason,
        JobAttachment,
        Report,
    )
    from marketplace.services import disputes as dispute_services
    from marketplace.services import milestones as milestone_services
    from marketplace.services.bids import bid_accept
    from marketplace.services.moderation import report_create
    from matching.models import EvidenceFile
    from payments.models import BankStatement, Invoice, PayoutBatch, PayoutLine, Refund

    w = SimpleNamespace()
    w.client_a = ClientFactory(full_name="Cliente Alice")
    w.client_b = ClientFactory(full_name="Client Bruno")
    w.member_x = MemberFactory(member_profile__iban=S_IBAN, member_profile__display_name="Xavi")
    w.member_y = MemberFactory(member_profile__display_name="Yasmina")
    w.validator = ValidatorFactory()
    w.admin = AdminFactory()
    # Client A: a draft with an attachment, an open job with Y's bid, a job in contract with X
    w.job_draft = JobFactory(
        client=w.client_a,
        status="draft",
        published_at=None,
        title=f"Brouillon {S_DRAFT}",
        description=f"Projet confidentiel {S_DRAFT}",
    )
    w.attachment = _store(
        JobAttachment(job=w.job_draft), f"{S_DRAFT_FILE}.pdf", PDF_BYTES, "application/pdf"
    )
    w.job_open = JobFactory(client=w.client_a, title="Site vitrine ouvert")
    w.bid_y = make_bid(job=w.job_open, member=w.member_y.member_profile)
    type(w.bid_y).objects.filter(pk=w.bid_y.pk).update(cover_message=f"Offre de Y {S_BID_Y}")
    BidMessage.objects.create(bid=w.bid_y, sender=w.client_a, body=f"Question à Y {S_MESSAGE}")
    w.job_contract = JobFactory(client=w.client_a, title="Boutique en ligne sous contrat")
    bid_x = make_bid(job=w.job_contract, member=w.member_x.member_profile)
    type(bid_x).objects.filter(pk=bid_x.pk).update(cover_message=f"Offre de X {S_BID_X}")
    bid_x.refresh_from_db()
    w.bid_x = bid_x
    w.contract = bid_accept(bid=bid_x, client=w.client_a)
    w.m1 = w.contract.milestones.get(position=1)
    w.m2 = w.contract.milestones.get(position=2)
    w.payment = fund_milestone(w.m1, by=w.admin)
    x = w.member_x
    milestone_services.milestone_start(milestone=w.m1, member=x)
    milestone_services.milestone_deliver(
        milestone=w.m1,
        member=x,
        message=f"Livraison {S_DELIVERY}",
        files=[_upload(f"{S_DELIVERY}.png", PNG_BYTES, "image/png")],
    )
    w.delivery_file = DeliveryFile.objects.get()
    w.dispute = dispute_services.dispute_open(
        milestone=w.m1,
        by=w.client_a,
        reason=DisputeReason.NOT_AS_AGREED,
        account=f"Pas conforme {S_DISPUTE}",
        member_cents=20000,
    )
    dispute_services.dispute_add_evidence(
        dispute=w.dispute,
        by=w.client_a,
        text=f"Capture {S_DISPUTE}",
        files=[_upload(f"{S_DISPUTE_FILE}.pdf", PDF_BYTES, "application/pdf")],
    )
    w.dispute_file = DisputeEvidenceFile.objects.get()
    w.dispute_proposal = w.dispute.proposals.order_by("pk").first()
    w.invoice = Invoice.objects.get(client=w.client_a)
    # Member X's skill claim with an evidence file, and a language to confirm
    w.claim = SkillClaimFactory(member=x.member_profile)
    w.evidence_file = _store(
        EvidenceFile(claim=w.claim), f"{S_EVIDENCE}.pdf", PDF_BYTES, "application/pdf"
    )
    w.member_language = MemberLanguageFactory(member=x.member_profile)
    # Staff-side records: a payout batch to X, a refund to A, a bank statement, a report
    w.payout_batch = PayoutBatch.objects.create(
        rail="sepa",
        status="exported",
        message_id="SIRIUS-MATRIX-1",
        execution_date=timezone.localdate(),
        total_cents=1000,
        sepa_xml=f"<Document><IBAN>{S_IBAN}</IBAN><EndToEndId>{S_PAYOUT}</EndToEndId></Document>",
        created_by=w.admin,
    )
    PayoutLine.objects.create(
        batch=w.payout_batch,
        kind="member",
        member=x.member_profile,
        contract=w.contract,
        name="Xavi",
        iban=S_IBAN,
        amount_cents=1000,
        end_to_end_id=S_PAYOUT,
        status="pending",
    )
    w.refund = Refund.objects.create(
        payment=w.payment,
        amount_cents=100,
        reason=f"Geste commercial {S_REFUND}",
        status="pending",
        created_by=w.admin,
    )
    w.statement = BankStatement.objects.create(filename="extrait.csv", uploaded_by=w.admin)
    w.report = report_create(
        reporter=w.client_b, target=w.job_open, reason=Report.Reason.FAKE, details="Douteux."
    )
    _governance(w)
    return w


@dataclass
class Fixture:
    world: SimpleNamespace
    clients: dict[str, Client]


def _client_for(user) -> Client:
    browser = Client()
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is None:
        return browser
    browser.force_login(user)
    if user.is_staff or user.is_validator:
        # Staff must use a second factor, as the site requires (tests/test_admin_mfa.py).
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
        record_mfa(browser, user)
    return browser


@pytest.fixture(autouse=True)
def _plain_static_and_mail():
    """Replaces conftest's per-test storage: this module's files live for the whole module."""


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory):
    root = tmp_path_factory.mktemp("private")
    overrides = override_settings(
        PRIVATE_MEDIA_ROOT=root,
        STORAGES={
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": root},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    overrides.enable()
    with django_db_blocker.unblock():
        # Like Django's TestCase.setUpTestData: one transaction for the module, rolled back.
        atomic = transaction.atomic()
        atomic._from_testcase = True
        atomic.__enter__()
        try:
            world = build_world()
            clients = {
                role: _client_for(None if role == "anon" else getattr(world, role))
                for role in ROLES
            }
            yield Fixture(world=world, clients=clients)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            overrides.disable()


# --- the table ---------------------------------------------------------------------------------


def _expect(owners, *, ok=200, deny=404, anon=None, **others) -> dict[str, int]:
    """Owners get `ok`, everybody else `deny`, anonymous visitors (when not owners) the log-in
    page (302) unless `anon` says otherwise; keyword arguments override single roles."""
    expected = {role: (ok if role in owners else deny) for role in ROLES}
    if anon is not None:
        expected["anon"] = anon
    elif "anon" not in owners:
        expected["anon"] = 302
    expected.update(others)
    return expected


def public(ok=200, **others):
    return _expect(EVERYBODY, ok=ok, **others)


def logged_in(ok=200, **others):
    return _expect(LOGGED_IN, ok=ok, **others)


@dataclass
class Row:
    """A route: how to build its URL from the world, what a GET answers to each role, and on
    state-changing routes who may POST (everybody else's POST must change nothing)."""

    get: dict[str, int]
    kwargs: Callable[[SimpleNamespace], dict] = field(default=lambda w: {})
    post_owners: frozenset[str] | None = None  # None: not a state-changing route
    # Who may see the object without acting on it: their POST may come back as the page with
    # the refusal (200, 400, 409) — but must change nothing either.
    viewers: frozenset[str] = frozenset()
    query: str = ""
    path: str = ""  # for a route without a name
    why: str = ""


def row(get, kwargs=None, *, post=None, viewers=(), query="", path="", why=""):
    return Row(
        get=get,
        kwargs=kwargs or (lambda w: {}),
        post_owners=frozenset(post) if post is not None else None,
        viewers=frozenset(viewers) | {role for role, status in get.items() if status == 200},
        query=query,
        path=path,
        why=why,
    )


CA = {"client_a"}
MX = {"member_x"}
MY = {"member_y"}
CLIENTS = {"client_a", "client_b"}
MEMBERS = {"member_x", "member_y"}
CONTRACT_SIDES = {"client_a", "member_x"}


def job(name):
    return lambda w: {"job_id": getattr(w, name).pk}


def bid(name):
    return lambda w: {"bid_id": getattr(w, name).pk}


def contract(w):
    return {"contract_id": w.contract.pk}


def milestone(name):
    return lambda w: {"contract_id": w.contract.pk, "milestone_id": getattr(w, name).pk}


def api_milestone(name):
    return lambda w: {"milestone_id": getattr(w, name).pk}


def dispute(w):
    return {"dispute_id": w.dispute.pk}


ROUTES: dict[str, Row] = {}


VALIDATORS = {"validator", "admin"}
SIDES_AND_STAFF = CONTRACT_SIDES | STAFF
# What a GET to a POST-only page answers: 405 for everybody, before any look-up.
ALL_405 = public(ok=405)
NOT_FOUND = "/api/no-such-endpoint/"


def member_of(name):
    return lambda w: {"member_id": getattr(w, name).member_profile.pk}


def staff_404(ok=200, anon=404, **others):
    """Staff pages of the payments app: 404 for everybody else (anonymous visitors: 404, or the
    log-in page where the view asks for a log-in first)."""
    return _expect(STAFF, ok=ok, anon=anon, **others)


def api(owners, ok=200, deny=404, anon=401, **others):
    """API endpoints: anonymous callers get 401 (token authentication comes first)."""
    return _expect(owners, ok=ok, deny=deny, anon=anon, **others)


ROUTES.update(
    {
        # --- pages of the marketplace ---
        "home": row(public()),
        "dashboard": row(logged_in()),
        "client_profile_edit": row(_expect(CLIENTS, deny=403), post=CLIENTS),
        "member_profile_edit": row(_expect(MEMBERS, deny=403), post=MEMBERS),
        "member_profile_detail": row(public(), member_of("member_x")),
        "role_add": row(public(ok=405, anon=302), lambda w: {"role": "client"}, post=LOGGED_IN),
        "language_switch": row(ALL_405, post=EVERYBODY),
        "job_board": [
            row(public(), query="?q=confidentiel"),
            row(public(), query="?status=draft&q=Brouillon&sort=newest"),
        ],
        "job_create": row(_expect(CLIENTS, deny=403), post=CLIENTS),
        "job_detail": [
            row(public(), job("job_open")),
            row(_expect(CA | STAFF, anon=404), job("job_draft"), why="a draft is private"),
        ],
        # Role pages answer 403 to other roles ("this page is for clients"), the same for any id.
        "job_edit": row(_expect(CA, deny=403, client_b=404), job("job_draft"), post=CA),
        "job_submit": row(ALL_405, job("job_draft"), post=CA, viewers=CA | STAFF),
        "job_cancel": row(ALL_405, job("job_open"), post=CA),
        "job_invite": row(
            ALL_405,
            lambda w: {"job_id": w.job_open.pk, "member_id": w.member_x.member_profile.pk},
            post=CA,
        ),
        "member_jobs": row(_expect(MEMBERS, deny=403)),
        "moderation_job_ranking": row(_expect(STAFF, deny=403), job("job_open")),
        "job_attachment": row(_expect(CA | STAFF), lambda w: {"attachment_id": w.attachment.pk}),
        "client_jobs": row(_expect(CLIENTS, deny=403)),
        "bid_new": row(
            _expect(MEMBERS, deny=403, member_y=302),
            job("job_open"),
            post=MEMBERS,
            why="Y already bid: sent to the bid",
        ),
        "job_bids": row(_expect(CA), job("job_open")),
        "bid_detail": row(_expect(MY | CA | STAFF), bid("bid_y")),
        "bid_edit": row(_expect(MY, deny=403, member_x=404), bid("bid_y"), post=MY),
        "bid_withdraw": row(ALL_405, bid("bid_y"), post=MY, viewers=CA | STAFF),
        "bid_shortlist": row(ALL_405, bid("bid_y"), post=CA, viewers=MY | STAFF),
        "bid_messages": row(_expect(MY | CA | STAFF), bid("bid_y"), post=MY | CA),
        "bid_accept": row(ALL_405, bid("bid_y"), post=CA, viewers=MY | STAFF),
        "contract_detail": row(_expect(SIDES_AND_STAFF), contract),
        "my_contracts": row(logged_in()),
        "milestone_deliver": row(ALL_405, milestone("m1"), post=MX, viewers=CA | STAFF),
        "milestone_approve": row(ALL_405, milestone("m1"), post=CA, viewers=MX | STAFF),
        "milestone_request_changes": row(ALL_405, milestone("m1"), post=CA, viewers=MX | STAFF),
        "milestone_start": row(ALL_405, milestone("m2"), post=MX, viewers=CA | STAFF),
        "contract_cancel": row(ALL_405, contract, post=SIDES_AND_STAFF),
        "delivery_file": row(_expect(SIDES_AND_STAFF), lambda w: {"file_id": w.delivery_file.pk}),
        "notifications": row(logged_in()),
        "notification_bell": row(logged_in(anon=204), why="the bell is empty for visitors"),
        "review_write": row(
            _expect(CONTRACT_SIDES, admin=403), contract, post=CONTRACT_SIDES, viewers=STAFF
        ),
        "report_new": [
            row(
                logged_in(),
                lambda w: {"kind": "job", "object_id": w.job_open.pk},
                post=LOGGED_IN,
            ),
            row(
                _expect(CA | STAFF),
                lambda w: {"kind": "job", "object_id": w.job_draft.pk},
                post=CA | STAFF,
                why="nobody learns that a draft exists by reporting it",
            ),
            row(
                _expect(MY | CA | STAFF),
                lambda w: {"kind": "bid", "object_id": w.bid_y.pk},
                post=MY | CA | STAFF,
            ),
        ],
        "moderation_queue": row(_expect(STAFF, deny=403)),
        "moderation_job": row(_expect(STAFF, deny=403), job("job_draft"), post=STAFF),
        "moderation_report": row(
            _expect(STAFF, deny=403), lambda w: {"report_id": w.report.pk}, post=STAFF
        ),
        "moderation_user": row(
            _expect(STAFF, deny=403), lambda w: {"user_id": w.member_x.pk}, post=STAFF
        ),
        "moderation_log": row(_expect(STAFF, deny=403)),
        "dispute_open": row(
            _expect(CONTRACT_SIDES, admin=403), milestone("m2"), post=CONTRACT_SIDES
        ),
        "dispute_detail": row(_expect(SIDES_AND_STAFF), dispute),
        # The dispute's pages re-show the dispute with the refusal to those who may see it.
        "dispute_answer": row(ALL_405, dispute, post=MX, viewers=CA | STAFF),
        "dispute_evidence": row(ALL_405, dispute, post=CONTRACT_SIDES, viewers=STAFF),
        "dispute_propose": row(ALL_405, dispute, post=CONTRACT_SIDES, viewers=STAFF),
        "dispute_accept": row(
            ALL_405,
            lambda w: {"dispute_id": w.dispute.pk, "proposal_id": w.dispute_proposal.pk},
            post=MX,
            viewers=CA | STAFF,
        ),
        "dispute_decide": row(ALL_405, dispute, post=STAFF, viewers=CONTRACT_SIDES),
        "dispute_correct": row(
            ALL_405,
            lambda w: {"dispute_id": w.dispute.pk, "decision_id": 0},
            post=STAFF,
            viewers=CONTRACT_SIDES,
            why="no decision in the world: decision 0 does not exist",
        ),
        "dispute_evidence_file": row(
            _expect(SIDES_AND_STAFF), lambda w: {"file_id": w.dispute_file.pk}
        ),
        "dispute_queue": row(_expect(STAFF, deny=403)),
        "my_data": row(logged_in()),
        "my_data_export": row(logged_in()),
        "my_data_erase": row(logged_in(ok=405), post=LOGGED_IN),
        # --- skills and their validation ---
        "skill_search": row(public(), query="?q=css"),
        "my_skills": row(_expect(MEMBERS, deny=403)),
        "skill_claim_new": row(_expect(MEMBERS, deny=403), post=MEMBERS),
        "skill_claim_detail": row(
            _expect(MX, deny=403, member_y=404), lambda w: {"claim_id": w.claim.pk}, post=MX
        ),
        "skill_claim_withdraw": row(ALL_405, lambda w: {"claim_id": w.claim.pk}, post=MX),
        "validation_queue": row(_expect(VALIDATORS, deny=403)),
        "claim_review": row(
            _expect(VALIDATORS, deny=403), lambda w: {"claim_id": w.claim.pk}, post=VALIDATORS
        ),
        "claim_revoke": row(
            ALL_405, lambda w: {"claim_id": w.claim.pk}, post=STAFF, viewers={"validator"}
        ),
        "language_confirm": row(
            _expect(VALIDATORS, deny=403),
            lambda w: {"member_language_id": w.member_language.pk},
            post=VALIDATORS,
        ),
        "evidence_file": row(
            _expect(MX | VALIDATORS | CA), lambda w: {"file_id": w.evidence_file.pk}
        ),
        # --- payments ---
        "pay_milestone": row(_expect(CA), milestone("m2"), post=CA),
        "pay_card": row(
            _expect(CA, client_a=404),
            lambda w: {"payment_id": w.payment.pk},
            post=CA,
            why="the world's payment is a bank transfer: no card page for it",
        ),
        "stripe_return": row(_expect(CA | STAFF), lambda w: {"payment_id": w.payment.pk}),
        "stripe_webhook": row(
            ALL_405, post=EVERYBODY, why="signed by Stripe: tests/test_payments_webhook.py"
        ),
        "pay_bank_transfer": row(_expect(CA), milestone("m2"), post=CA),
        "bank_transfers": row(staff_404(anon=302)),
        "bank_transfer_mark_received": row(
            staff_404(anon=302), lambda w: {"payment_id": w.payment.pk}, post=STAFF
        ),
        "bank_statement_import": row(staff_404(anon=302), post=STAFF),
        "bank_statement_detail": row(
            staff_404(anon=302), lambda w: {"statement_id": w.statement.pk}
        ),
        "payouts": row(staff_404(), post=STAFF),
        "payout_batch": row(staff_404(), lambda w: {"batch_id": w.payout_batch.pk}),
        "payout_batch_file": row(staff_404(), lambda w: {"batch_id": w.payout_batch.pk}),
        "payout_batch_mark_sent": row(
            staff_404(ok=405), lambda w: {"batch_id": w.payout_batch.pk}, post=STAFF
        ),
        "payout_batch_cancel": row(
            staff_404(ok=405), lambda w: {"batch_id": w.payout_batch.pk}, post=STAFF
        ),
        "payout_batch_execute": row(
            staff_404(ok=405), lambda w: {"batch_id": w.payout_batch.pk}, post=STAFF
        ),
        "member_earnings": row(_expect(MEMBERS, deny=403)),
        "my_invoices": row(logged_in()),
        "invoice_pdf": row(_expect(CA | STAFF), lambda w: {"invoice_id": w.invoice.pk}),
        "invoice_ubl": row(
            _expect(CA | STAFF, ok=404),
            lambda w: {"invoice_id": w.invoice.pk},
            why="UBL only for Belgian VAT-registered clients; A is a private person",
        ),
        "milestone_refund": row(staff_404(anon=302), milestone("m1"), post=STAFF),
        "refunds_pending": row(staff_404(anon=302)),
        "refund_stripe_send": row(
            _expect(STAFF, ok=405, deny=405, anon=405),
            lambda w: {"refund_id": w.refund.pk},
            post=STAFF,
        ),
        "refund_iban": row(staff_404(anon=302), lambda w: {"refund_id": w.refund.pk}, post=STAFF),
        "solidarity_fund": row(staff_404(), post=STAFF),
        "solidarity_use_correct": row(
            staff_404(ok=404), lambda w: {"use_id": 0}, post=STAFF, why="no use recorded"
        ),
        # --- governance (votes, register, transparency) ---
        "governance:transparency": row(public()),
        "governance:decisions": row(public()),
        "governance:proposal_list": row(_expect(MEMBERS | STAFF, deny=403)),
        "governance:proposal_create": row(_expect(MEMBERS | STAFF, deny=403), post=MEMBERS | STAFF),
        "governance:proposal_detail": row(
            _expect(MEMBERS | STAFF), lambda w: {"proposal_id": w.proposal_id}
        ),
        "governance:proposal_vote": row(
            ALL_405, lambda w: {"proposal_id": w.proposal_id}, post=MEMBERS, viewers=STAFF
        ),
        "governance:proposal_sign": row(
            ALL_405, lambda w: {"proposal_id": w.proposal_id}, post=MEMBERS, viewers=STAFF
        ),
        "governance:proposal_schedule": row(
            ALL_405, lambda w: {"proposal_id": w.proposal_id}, post=STAFF, viewers=MEMBERS
        ),
        "governance:proposal_cancel": row(
            ALL_405, lambda w: {"proposal_id": w.proposal_id}, post=STAFF | MX, viewers=MY
        ),
        "governance:register_mine": row(
            _expect(MEMBERS, ok=302), why="a member is sent to their own entry"
        ),
        "governance:register_entry": row(_expect(STAFF | MX), member_of("member_x")),
        "governance:register_list": row(_expect(STAFF, deny=403)),
        "governance:register_export": row(_expect(STAFF, deny=403)),
        "governance:register_status_change": row(ALL_405, member_of("member_x"), post=STAFF),
        "governance:register_shares_change": row(ALL_405, member_of("member_x"), post=STAFF),
        "health-live": row(public()),
        "health": row(public()),
        # --- API ---
        "^api/": row(public(ok=404), path=NOT_FOUND, why="unknown API addresses: JSON 404"),
        "api-skill-list": row(public(), query="?q=css"),
        "api-skill-detail": row(public(), lambda w: {"pk": w.claim.skill_id}),
        "api-member-skills": row(public(), member_of("member_x")),
        "api-member-languages": row(public(), member_of("member_x")),
        "api-job-list": [
            row(public(), query="?q=confidentiel", post=CLIENTS),
            row(public(), query="?status=draft&q=Brouillon"),
            row(api(LOGGED_IN), query="?mine=true", why="each client's own jobs, drafts too"),
        ],
        "api-job-detail": [
            row(public(), job("job_open")),
            row(api(CA | STAFF, anon=404), job("job_draft")),
        ],
        "api-job-submit": row(api(CA, ok=405, deny=405, anon=405), job("job_draft"), post=CA),
        "api-job-cancel": row(api(CA, ok=405, deny=405, anon=405), job("job_open"), post=CA),
        "api-job-approve": row(api(STAFF, ok=405, deny=403), job("job_draft"), post=STAFF),
        "api-job-reject": row(api(STAFF, ok=405, deny=403), job("job_draft"), post=STAFF),
        "api-job-bids": row(
            api(LOGGED_IN),
            job("job_open"),
            post=MEMBERS,
            why="the client sees every bid, anybody else only their own (none, or Y's)",
        ),
        "api-bid-detail": row(api(MY | CA | STAFF), bid("bid_y")),
        "api-bid-withdraw": row(api(MY, ok=405, deny=405), bid("bid_y"), post=MY),
        "api-bid-accept": row(api(CA, ok=405, deny=405), bid("bid_y"), post=CA),
        "api-contract-list": row(api(LOGGED_IN)),
        "api-contract-detail": row(api(SIDES_AND_STAFF), contract),
        # The API checks the input before the service refuses a viewer who may not act: 400.
        "api-milestone-start": row(
            api(MX, ok=405, deny=405), api_milestone("m2"), post=MX, viewers=CA | STAFF
        ),
        "api-milestone-deliver": row(
            api(MX, ok=405, deny=405), api_milestone("m1"), post=MX, viewers=CA | STAFF
        ),
        "api-milestone-approve": row(
            api(CA, ok=405, deny=405), api_milestone("m1"), post=CA, viewers=MX | STAFF
        ),
        "api-milestone-request-changes": row(
            api(CA, ok=405, deny=405), api_milestone("m1"), post=CA, viewers=MX | STAFF
        ),
        "api-schema": row(public()),
        "api-docs": row(public()),
        # --- allauth: the main pages only (see the module's docstring) ---
        "account_login": row(_expect({"anon"}, deny=302), why="logged in: sent on"),
        "account_signup": row(_expect({"anon"}, deny=302), why="logged in: sent on"),
        "account_email": row(logged_in()),
        "account_change_password": row(logged_in()),
        "mfa_index": row(logged_in()),
    }
)

# --- the machinery -----------------------------------------------------------------------------


def walk_routes(resolver=None, prefix="", namespace=None):
    """(name or pattern, full pattern, view module) of every route the resolver knows."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk_routes(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            full = prefix + str(pattern.pattern)
            name = pattern.name
            if name and namespace:
                name = f"{namespace}:{name}"
            module = getattr(pattern.callback, "__module__", "") or ""
            yield name or full, full, module


def is_skipped(key: str, full: str, module: str) -> bool:
    if full.startswith("admin/"):
        return True  # Django's admin: its door is tested below
    return module.startswith("allauth.") and key not in ROUTES


def routes_to_check() -> list[str]:
    return sorted({key for key, full, module in walk_routes() if not is_skipped(key, full, module)})


ROUTE_KEYS = routes_to_check()

# The models whose rows a refused POST must leave exactly as they were (reference data and
# sessions aside).
_WATCHED_APPS = ("marketplace", "matching", "payments", "governance", "authtoken", "mfa")
_UNWATCHED = {"matching.language", "matching.skill", "matching.skillgroup"}


def table_fingerprints() -> dict[str, str]:
    fingerprints = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in _WATCHED_APPS or label in _UNWATCHED:
            continue
        rows = repr(list(model.objects.order_by("pk").values_list()))
        fingerprints[label] = hashlib.sha256(rows.encode()).hexdigest()
    return fingerprints


def database_fingerprint() -> str:
    return hashlib.sha256(repr(sorted(table_fingerprints().items())).encode()).hexdigest()


def _sqlite_changes() -> int | None:
    """Rows written on this connection so far (SQLite counts them for free), or None."""
    connection = transaction.get_connection()
    return getattr(connection.connection, "total_changes", None)


def _post_and_compare(browser: Client, url: str):
    """POST inside a savepoint; when anything was written, compare the watched tables after
    the POST with the same tables once the savepoint is rolled back (the state before).
    Returns the response and the labels of the tables that changed (empty: none)."""
    changes = _sqlite_changes()
    after = None
    atomic = transaction.atomic()
    atomic._from_testcase = True  # services open durable transactions, as under TestCase
    with atomic:
        response = browser.post(url, {})
        if changes is None or _sqlite_changes() != changes:
            after = table_fingerprints()
        transaction.set_rollback(True)
    if after is None:
        return response, []
    before = table_fingerprints()
    return response, sorted(label for label in after if after[label] != before.get(label))


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return headers + "\n" + content.decode("utf-8", errors="replace")


def leaked(role: str, text: str) -> list[str]:
    return [s for s, readers in SENTINEL_READERS.items() if role not in readers and s in text]


def _rows(key: str) -> list[Row]:
    value = ROUTES[key]
    return value if isinstance(value, list) else [value]


def _url(key: str, entry: Row, world) -> str:
    base = entry.path or reverse(key, kwargs=entry.kwargs(world))
    return base + entry.query


REFUSED_FOR_LOGGED_IN = {403, 404, 405}
REFUSED_FOR_ANONYMOUS = {302, 401, 403, 404, 405}


def _refused(role: str, response, viewers: frozenset[str]) -> bool:
    if role in viewers and response.status_code in (200, 400, 409):
        return True  # the page again, with the refusal; the database is checked separately
    if role == "anon":
        if response.status_code == 302:
            return response.url.startswith(reverse("account_login"))
        return response.status_code in REFUSED_FOR_ANONYMOUS
    return response.status_code in REFUSED_FOR_LOGGED_IN


# --- the tests ---------------------------------------------------------------------------------


def test_every_route_is_in_the_matrix():
    missing = [
        (key, full)
        for key, full, module in walk_routes()
        if not is_skipped(key, full, module) and key not in ROUTES
    ]
    assert not missing, (
        "Routes missing from ROUTES in tests/test_authorisation_matrix.py — add one line each "
        "(who gets what on GET, and who may POST on a state-changing route):\n"
        + "\n".join(
            f'    "{key}": row(_expect({{...owners}}), lambda w: {{...kwargs}}, post=...),'
            f"  # /{full}"
            for key, full in missing
        )
    )
    stale = sorted(set(ROUTES) - {key for key, _full, _module in walk_routes()})
    assert not stale, f"ROUTES names routes that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ROUTE_KEYS)
def test_route(matrix, key):
    if key not in ROUTES:
        pytest.fail(f"route {key!r} is not in ROUTES (see test_every_route_is_in_the_matrix)")
    world, clients = matrix.world, matrix.clients
    problems: list[str] = []
    for entry in _rows(key):
        url = _url(key, entry, world)
        # GET, by everybody
        for role in ROLES:
            response = clients[role].get(url)
            expected = entry.get[role]
            if response.status_code != expected:
                problems.append(f"GET {url} as {role}: {response.status_code}, expected {expected}")
            for sentinel in leaked(role, body_of(response)):
                problems.append(f"GET {url} as {role}: shows {sentinel}")
        # POST, by everybody who may not change this
        if entry.post_owners is None:
            continue
        for role in ROLES:
            if role in entry.post_owners:
                continue
            response, changed = _post_and_compare(clients[role], url)
            if not _refused(role, response, entry.viewers):
                problems.append(f"POST {url} as {role}: {response.status_code}, not refused")
            for sentinel in leaked(role, body_of(response)):
                problems.append(f"POST {url} as {role}: shows {sentinel}")
            if changed:
                problems.append(f"POST {url} as {role}: CHANGED THE DATABASE ({changed})")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_only_staff_with_mfa_reach_the_admin(matrix):
    clients = matrix.clients
    anonymous = clients["anon"].get("/admin/")
    assert anonymous.status_code == 302
    for role in ("client_a", "client_b", "member_x", "member_y", "validator"):
        assert clients[role].get("/admin/", follow=True).status_code == 403, role
        assert clients[role].get("/admin/marketplace/memberprofile/").status_code in (302, 403)
    assert clients["admin"].get("/admin/").status_code == 200
    # Staff without the second factor in this session are sent to it
    admin_without_mfa = _client_for(None)
    admin_without_mfa.force_login(matrix.world.admin)
    assert admin_without_mfa.get("/admin/").status_code == 302


# Where each sentinel shows to someone allowed to read it: proof that it was planted and that
# the search for it in the answers above can fail.
SHOWN_TO_READERS = [
    (S_DRAFT, "client_a", lambda w: reverse("job_detail", args=[w.job_draft.pk])),
    (S_DRAFT_FILE, "client_a", lambda w: reverse("job_detail", args=[w.job_draft.pk])),
    (S_BID_Y, "client_a", lambda w: reverse("bid_detail", args=[w.bid_y.pk])),
    (S_BID_Y, "member_y", lambda w: reverse("bid_detail", args=[w.bid_y.pk])),
    (S_MESSAGE, "member_y", lambda w: reverse("bid_messages", args=[w.bid_y.pk])),
    (S_BID_X, "member_x", lambda w: reverse("bid_detail", args=[w.bid_x.pk])),
    (S_DELIVERY, "client_a", lambda w: reverse("contract_detail", args=[w.contract.pk])),
    (S_EVIDENCE, "member_x", lambda w: reverse("skill_claim_detail", args=[w.claim.pk])),
    (S_EVIDENCE, "validator", lambda w: reverse("claim_review", args=[w.claim.pk])),
    (S_IBAN, "member_x", lambda w: reverse("member_profile_edit")),
    (S_PAYOUT, "admin", lambda w: reverse("payout_batch", args=[w.payout_batch.pk])),
    (S_DISPUTE, "member_x", lambda w: reverse("dispute_detail", args=[w.dispute.pk])),
    (S_DISPUTE_FILE, "member_x", lambda w: reverse("dispute_detail", args=[w.dispute.pk])),
    (S_REFUND, "admin", lambda w: reverse("refunds_pending")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("sentinel", "role", "url"), SHOWN_TO_READERS)
def test_sentinels_show_to_their_readers(matrix, sentinel, role, url):
    response = matrix.clients[role].get(url(matrix.world))
    assert response.status_code == 200
    assert sentinel in body_of(response)
    assert leaked(role, body_of(response)) == []


@pytest.mark.django_db
def test_a_post_that_writes_is_seen(matrix):
    url = reverse("bid_shortlist", args=[matrix.world.bid_y.pk])
    before = database_fingerprint()
    atomic = transaction.atomic()
    atomic._from_testcase = True
    with atomic:
        changes = _sqlite_changes()
        matrix.clients["client_a"].post(url, {"shortlisted": "1"})
        assert changes is None or _sqlite_changes() != changes
        transaction.set_rollback(True)
    assert database_fingerprint() == before  # rolled back: the next check starts clean


@pytest.mark.django_db
def test_the_database_fingerprint_sees_a_change(matrix):
    before = database_fingerprint()
    response = matrix.clients["client_a"].post(
        reverse("bid_shortlist", args=[matrix.world.bid_y.pk]), {"shortlisted": "1"}
    )
    assert response.status_code in (200, 302)
    assert database_fingerprint() != before
