"""Every field that people type and the site shows back, filled with hostile text
(tests/xss_corpus.py), then every page, API answer and export that shows it, checked for a
payload that came alive: an element, an event handler, a javascript: link, an evaluated
template, a spreadsheet formula.

The world is made through the services where they accept the text (so that the derived fields,
such as a job's rendered description or a notification, are what production makes), and
written straight into the row where a form would have refused it first: the pages must stay
safe even for text that got in some other way (an import, the admin, an older version)."""

import csv
import datetime
import io
import json
import re
from dataclasses import dataclass, field

import html5lib
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from governance import services as governance_services
from governance.models import ProposalKind
from marketplace.models import (
    Bid,
    BidMilestone,
    ClientProfile,
    Contract,
    Delivery,
    DeliveryFile,
    JobAttachment,
    Milestone,
    Report,
    Review,
)
from marketplace.services import bids as bid_services
from marketplace.services import disputes as dispute_services
from marketplace.services import jobs as job_services
from marketplace.services import milestones as milestone_services
from marketplace.services.moderation import report_create
from marketplace.services.notifications import notify
from matching import services as matching_services
from matching.models import Skill
from tests.factories import (
    PDF_BYTES,
    AdminFactory,
    ClientFactory,
    JobFactory,
    MemberFactory,
    approve_milestone,
    fund_milestone,
    make_bid,
)
from tests.test_admin_mfa import record_mfa
from tests.xss_corpus import (
    DEBUG_TAG_OUTPUT,
    EVALUATED_TEMPLATE,
    FORMULA_STARTS,
    HOSTILE_LINKS,
    MARKER,
    PAYLOADS,
    Payload,
)

pytestmark = pytest.mark.django_db

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}
LIVE_URL = re.compile(r"^(?:javascript|vbscript|data):", re.IGNORECASE)
# Tags that run, load or restyle something: one carrying the marker came from a payload.
ACTIVE_TAGS = {
    "script",
    "iframe",
    "frame",
    "object",
    "embed",
    "svg",
    "math",
    "img",
    "style",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "textarea",
    "video",
    "audio",
}
NAMESPACE = re.compile(r"^\{[^}]*\}")


def file_named(name: str) -> SimpleUploadedFile:
    # Django keeps only the last path segment of an upload's name, as a browser sends it.
    return SimpleUploadedFile(f"{name}.pdf", PDF_BYTES, content_type="application/pdf")


def _local(tag) -> str:
    return NAMESPACE.sub("", tag) if isinstance(tag, str) else ""


def clean_url(value: str) -> str:
    # Browsers ignore whitespace and control characters inside a scheme ("java\tscript:").
    return re.sub(r"[\x00-\x20]", "", value)


def _without_csrf_token(name: str, value: str) -> str:
    """The page's own CSRF token (random letters, so it may spell the marker) is not payload."""
    if name == "hx-headers":
        try:
            headers = json.loads(value)
        except ValueError:
            return value
        if isinstance(headers, dict):
            headers.pop("X-CSRFToken", None)
            return json.dumps(headers)
    return value


def leaks_in_html(html: str) -> list[str]:
    """What in this page a payload made live (an empty list when nothing)."""
    problems = []
    document = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    for element in document.iter():
        tag = _local(element.tag)
        if not tag:
            continue
        for name, value in element.attrib.items():
            name = _local(name).lower()
            if name.startswith("on"):
                problems.append(f"<{tag} {name}={value!r}>: an event handler")
            if name == "srcdoc":
                problems.append(f"<{tag} srcdoc>: a document in an attribute")
            if name in URL_ATTRIBUTES and LIVE_URL.match(clean_url(value)):
                problems.append(f"<{tag} {name}={value!r}>: a live link")
            if name.startswith("hx-") and MARKER in _without_csrf_token(name, value):
                problems.append(f"<{tag} {name}={value!r}>: an htmx request from the payload")
        if tag == "meta" and element.get("http-equiv", "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>: a redirection")
        if tag in ACTIVE_TAGS:
            attributes = " ".join(
                value for name, value in element.attrib.items() if name not in ("value",)
            )
            text = "".join(element.itertext()) if tag in ("script", "style") else ""
            if MARKER in attributes or MARKER in text or "alert(" in text:
                problems.append(f"<{tag}>: an element made by the payload")
        if tag == "base":
            problems.append(f"<base href={element.get('href')!r}>: another base address")
    text = "".join(document.itertext())
    if EVALUATED_TEMPLATE in text:
        problems.append("the template variable in the text was evaluated")
    if DEBUG_TAG_OUTPUT in text:
        problems.append("the {% debug %} tag in the text was evaluated")
    return problems


def leaks_in_fragment(html: str) -> list[str]:
    return leaks_in_html(f"<!DOCTYPE html><html><body>{html}</body></html>")


# --- The world: one of everything people write, all of it hostile ------------------------------


@dataclass
class World:
    payload: Payload
    client_user: object
    member_user: object
    admin: object
    pages: dict[str, list[tuple[object, str]]] = field(default_factory=dict)


def build_world(payload: Payload) -> World:
    text = payload.text
    # Names and profiles: the client's name and organisation, the member's name, display name,
    # bio; links are checked where they are typed (see the tests below), so a valid one here.
    client_user = ClientFactory(full_name=text)
    ClientProfile.objects.filter(user=client_user).update(
        kind=ClientProfile.Kind.ORGANISATION,
        organisation_name=text,
        vat_number="BE0417497106",
        city=text,
        street=text,
    )
    member_user = MemberFactory(full_name=text)
    member = member_user.member_profile
    member.display_name = text
    member.bio = text
    member.portfolio_links = ["https://example.org/portfolio"]
    member.save()
    other_member = MemberFactory().member_profile
    admin = AdminFactory(full_name=text)

    # A job, its description rendered the way the service renders it, an attachment named by
    # its client, a moderator's reason on another job.
    job = JobFactory(client=client_user, title=text, description=text)
    job_services._add_attachments(job, [file_named(text)])
    JobAttachment.objects.filter(job=job).update(original_name=text)
    public_job = JobFactory(client=client_user, title=text, description=text)
    rejected = JobFactory(client=client_user, title=text, description=text, status="rejected")
    type(rejected).objects.filter(pk=rejected.pk).update(rejection_reason=text)

    # A bid with its milestones and a message, another member's bid, then the contract.
    bid = make_bid(job=job, member=member)
    Bid.objects.filter(pk=bid.pk).update(cover_message=text)
    BidMilestone.objects.filter(bid=bid).update(title=text)
    make_bid(job=job, member=other_member)
    bid_services.bid_message_send(bid=bid, sender=client_user, body=text)
    bid_services.bid_message_send(bid=bid, sender=member_user, body=text)
    bid.refresh_from_db()
    contract = bid_services.bid_accept(bid=bid, client=client_user)
    first, second = list(contract.milestones.order_by("position"))

    # A delivery with a message and a file named by the member, sent back with a reason.
    fund_milestone(first)
    first.refresh_from_db()
    milestone_services.milestone_start(milestone=first, member=member_user)
    milestone_services.milestone_deliver(
        milestone=first,
        member=member_user,
        message="Voici le travail.",
        links=["https://example.org/delivery"],
        files=[file_named(text)],
    )
    Delivery.objects.filter(milestone=first).update(message=text)
    DeliveryFile.objects.filter(delivery__milestone=first).update(original_name=text)
    milestone_services.milestone_request_changes(
        milestone=Milestone.objects.get(pk=first.pk), client=client_user, reason=text
    )

    # A dispute on the second milestone: the account, the answer and evidence with a file.
    fund_milestone(second)
    dispute = dispute_services.dispute_open(
        milestone=Milestone.objects.get(pk=second.pk),
        by=client_user,
        reason="quality",
        account="Le site ne fonctionne pas.",
        member_cents=0,
    )
    type(dispute).objects.filter(pk=dispute.pk).update(account=text, answer=text)
    evidence = dispute_services.dispute_add_evidence(
        dispute=dispute, by=client_user, text="Captures.", files=[file_named(text)]
    )
    type(evidence).objects.filter(pk=evidence.pk).update(text=text)
    evidence.files.update(original_name=text)

    # A completed contract between the two, reviewed both ways.
    done_bid = make_bid(job=JobFactory(client=client_user, title=text), member=member)
    done = bid_services.bid_accept(bid=done_bid, client=client_user)
    for milestone in done.milestones.all():
        fund_milestone(milestone)
        approve_milestone(Milestone.objects.get(pk=milestone.pk))
    for author, subject in ((client_user, member_user), (member_user, client_user)):
        Review.objects.create(
            contract=done,
            author=author,
            subject=subject,
            rating=4,
            text=text,
            published_at=timezone.now(),
        )

    # A report to the moderators, a notification quoting the text.
    report = report_create(reporter=member_user, target=job, reason="spam", details="Spam.")
    Report.objects.filter(pk=report.pk).update(details=text)
    notify(user=client_user, message="%(text)s", params={"text": text}, url="/", email=False)
    notify(user=member_user, message="%(text)s", params={"text": text}, url="/", email=False)

    # A skill claimed with evidence named by the member.
    claim = matching_services.skill_claim_create(
        member=member,
        skill=Skill.objects.get(label_en="style sheet languages"),
        self_level="intermediate",
        description=text,
        links=["https://example.org/evidence"],
        files=[file_named(text)],
    )
    claim.files.update(original_name=text)

    # A general question put to the general assembly.
    now = timezone.now()
    proposal = governance_services.proposal_create(
        author=admin,
        data=governance_services.ProposalInput(
            kind=ProposalKind.GENERAL,
            question="Faut-il une assemblée en ligne ?",
            explanation="Pourquoi nous votons.",
            opens_at=now + datetime.timedelta(days=1),
            closes_at=now + datetime.timedelta(days=8),
            quorum_percent=25,
            options=["Oui", "Non"],
        ),
    )
    type(proposal).objects.filter(pk=proposal.pk).update(question=text, explanation=text)
    proposal.options.filter(label="Oui").update(label=text)

    world = World(payload, client_user, member_user, admin)
    anonymous = None
    world.pages = {
        "anonymous": [
            (anonymous, reverse("home")),
            (anonymous, reverse("job_board")),
            (anonymous, reverse("job_detail", args=[public_job.pk])),
            (anonymous, reverse("member_profile_detail", args=[member.pk])),
        ],
        "client": [
            (client_user, reverse("dashboard")),
            (client_user, reverse("client_jobs")),
            (client_user, reverse("job_detail", args=[job.pk])),
            (client_user, reverse("job_detail", args=[rejected.pk])),
            (client_user, reverse("job_edit", args=[rejected.pk])),
            (client_user, reverse("job_bids", args=[job.pk])),
            (client_user, reverse("bid_detail", args=[bid.pk])),
            (client_user, reverse("contract_detail", args=[contract.pk])),
            (client_user, reverse("contract_detail", args=[done.pk])),
            (client_user, reverse("my_contracts")),
            (client_user, reverse("notifications")),
            (client_user, reverse("notification_bell")),
            (client_user, reverse("dispute_detail", args=[dispute.pk])),
            (client_user, reverse("client_profile_edit")),
            (client_user, reverse("member_profile_detail", args=[member.pk])),
        ],
        "member": [
            (member_user, reverse("dashboard")),
            (member_user, reverse("member_jobs")),
            (member_user, reverse("job_board")),
            (member_user, reverse("job_detail", args=[job.pk])),
            (member_user, reverse("bid_detail", args=[bid.pk])),
            (member_user, reverse("contract_detail", args=[contract.pk])),
            (member_user, reverse("contract_detail", args=[done.pk])),
            (member_user, reverse("dispute_detail", args=[dispute.pk])),
            (member_user, reverse("member_profile_edit")),
            (member_user, reverse("my_skills")),
            (member_user, reverse("skill_claim_detail", args=[claim.pk])),
            (member_user, reverse("notifications")),
            (member_user, reverse("governance:proposal_list")),
            (member_user, reverse("governance:proposal_detail", args=[proposal.pk])),
            (member_user, reverse("governance:register_entry", args=[member.pk])),
        ],
        "staff": [
            (admin, reverse("moderation_queue")),
            (admin, reverse("moderation_job", args=[job.pk])),
            (admin, reverse("moderation_report", args=[report.pk])),
            (admin, reverse("moderation_user", args=[member_user.pk])),
            (admin, reverse("moderation_user", args=[client_user.pk])),
            (admin, reverse("moderation_log")),
            (admin, reverse("validation_queue")),
            (admin, reverse("claim_review", args=[claim.pk])),
            (admin, reverse("dispute_queue")),
            (admin, reverse("dispute_detail", args=[dispute.pk])),
            (admin, reverse("governance:register_list")),
            (admin, reverse("governance:register_entry", args=[member.pk])),
            (admin, reverse("governance:proposal_detail", args=[proposal.pk])),
            (admin, reverse("governance:proposal_list")),
        ],
    }
    world.job, world.bid, world.contract, world.member = public_job, bid, contract, member
    return world


def browser_for(user) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        browser.force_login(user)
        if user.is_staff:
            record_mfa(browser, user)
    return browser


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_no_payload_comes_alive_on_any_page(payload):
    world = build_world(payload)
    browsers: dict = {}
    leaks, rendered = [], 0
    for audience, pages in world.pages.items():
        for user, url in pages:
            browser = browsers.get(user) or browsers.setdefault(user, browser_for(user))
            response = browser.get(url)
            if response.status_code != 200:
                leaks.append(f"{audience} {url}: answered {response.status_code}, not shown")
                continue
            rendered += 1
            leaks += [f"{audience} {url}: {problem}" for problem in leaks_in_html(response.text)]
    assert not leaks, "\n".join(leaks)
    assert rendered == sum(len(pages) for pages in world.pages.values())


def test_api_answers_are_json_that_a_browser_will_not_sniff_as_html():
    world = build_world(
        Payload("script", "<script>alert('XSS')</script><img src=x onerror=alert('XSS')>")
    )
    api = browser_for(world.client_user)
    for url in (
        f"/api/jobs/{world.job.pk}/",
        "/api/jobs/?mine=true",
        f"/api/jobs/{world.job.pk}/bids/",
        f"/api/bids/{world.bid.pk}/",
        f"/api/contracts/{world.contract.pk}/",
        f"/api/members/{world.member.pk}/languages/",
    ):
        response = api.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/json", url
        assert response["X-Content-Type-Options"] == "nosniff", url
    job = api.get(f"/api/jobs/{world.job.pk}/").json()
    assert job["title"] == world.payload.text  # the text as typed: escaping is the page's job
    assert leaks_in_fragment(job["description_html"]) == []


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_rendered_descriptions_are_sanitised(payload):
    from marketplace.content import render_markdown

    assert leaks_in_fragment(render_markdown(payload.text)) == []


CSV_PAYLOADS = [p for p in PAYLOADS if p.name.startswith("csv_")] + [
    Payload("csv_tab", "\t=1+1 XSS"),
    Payload("csv_carriage_return", "\r=1+1 XSS"),
]


@pytest.mark.parametrize("payload", CSV_PAYLOADS, ids=[p.name for p in CSV_PAYLOADS])
def test_member_register_export_neutralises_formulas(payload):
    member_user = MemberFactory(full_name=payload.text, email="formula@example.be")
    member_user.member_profile.display_name = payload.text
    member_user.member_profile.save()
    admin = AdminFactory()

    response = browser_for(admin).get(reverse("governance:register_export"))

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(MARKER in cell for cell in cells), "the member is not in the export"
    formulas = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert formulas == []


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_hostile_links_are_refused_where_they_are_typed_or_shown_inert(link):
    member_user = MemberFactory()
    browser = browser_for(member_user)
    profile_form = {
        "display_name": "Amina",
        "bio": "",
        "portfolio_links": link,
        "availability": "available",
    }
    browser.post(reverse("member_profile_edit"), profile_form)
    member_user.member_profile.refresh_from_db()
    stored = member_user.member_profile.portfolio_links
    page = browser.get(reverse("member_profile_detail", args=[member_user.member_profile.pk]))
    assert leaks_in_html(page.text) == []
    assert all(LIVE_URL.match(clean_url(saved)) is None for saved in stored)

    # The same through the API's delivery of a milestone.
    contract = make_contract_for(member_user)
    milestone = contract.milestones.order_by("position").first()
    fund_milestone(milestone)
    milestone_services.milestone_start(
        milestone=Milestone.objects.get(pk=milestone.pk), member=member_user
    )
    response = browser.post(
        f"/api/milestones/{milestone.pk}/deliver/",
        {"message": "Voici.", "links": [link]},
        content_type="application/json",
    )
    if LIVE_URL.match(clean_url(link)):
        assert response.status_code == 400
        assert "links" in response.json()
    page = browser_for(contract.client).get(reverse("contract_detail", args=[contract.pk]))
    assert leaks_in_html(page.text) == []


def make_contract_for(member_user) -> Contract:
    bid = make_bid(member=member_user.member_profile)
    return bid_services.bid_accept(bid=bid, client=bid.job.client)


@pytest.mark.parametrize("payload", PAYLOADS[:6] + PAYLOADS[-5:], ids=lambda p: p.name)
def test_invoices_carry_the_text_as_text(payload):
    """The buyer's name and organisation and the job's title go into the invoice PDF and the
    Peppol UBL: the PDF is still made (ReportLab reads markup in its paragraphs) and the XML
    holds the text as text, not as elements."""
    from payments.models import Invoice

    world_client = ClientFactory(full_name=payload.text)
    ClientProfile.objects.filter(user=world_client).update(
        kind=ClientProfile.Kind.ORGANISATION,
        organisation_name=payload.text,
        vat_number="BE0417497106",
    )
    bid = make_bid(job=JobFactory(client=world_client, title=payload.text))
    contract = bid_services.bid_accept(bid=bid, client=world_client)
    fund_milestone(contract.milestones.order_by("position").first())
    invoices = Invoice.objects.all()
    assert invoices.exists()
    browser = browser_for(world_client)
    for invoice in invoices:
        pdf = browser.get(reverse("invoice_pdf", args=[invoice.pk]))
        if pdf.status_code == 404:  # another party's invoice (the cooperative's own)
            continue
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        ubl = browser.get(reverse("invoice_ubl", args=[invoice.pk]))
        assert ubl.status_code == 200
        tree = etree.fromstring(ubl.content)
        for element in tree.iter():
            assert MARKER not in _local(element.tag)
            assert all(MARKER not in _local(name) for name in element.attrib)


LIVE_WHEN_UNESCAPED = [
    "script",
    "script_upper",
    "img_onerror",
    "svg_onload",
    "iframe_srcdoc",
    "markdown_html",
    "textarea_breakout",
    "title_breakout",
    "style_breakout",
    "comment_breakout",
    "meta_refresh",
    "base_href",
]


@pytest.mark.parametrize("name", LIVE_WHEN_UNESCAPED)
def test_the_check_sees_a_payload_that_is_not_escaped(name):
    """The detector itself: each payload pasted raw into a page, or into an attribute, is seen."""
    text = next(p.text for p in PAYLOADS if p.name == name)
    assert leaks_in_fragment(text)
    assert leaks_in_fragment(f'<a href="{PAYLOADS[7].text}">x</a>')
    assert leaks_in_fragment(f'<input value="{PAYLOADS[3].text}">')
    assert leaks_in_fragment(f"<p>{EVALUATED_TEMPLATE}</p>")
