import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from marketplace import milestone_states
from marketplace.milestone_states import IllegalTransition
from marketplace.models import (
    ContractEvent,
    DeliveryFile,
    Milestone,
    MilestoneStatus,
    Notification,
)
from marketplace.services import bids
from marketplace.services import milestones as services
from tests.factories import (
    EXE_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    AdminFactory,
    ClientFactory,
    MemberFactory,
    fund_milestone,
    make_bid,
)
from tests.test_admin_mfa import record_mfa

pytestmark = pytest.mark.django_db
S = MilestoneStatus


@pytest.fixture
def contract():
    bid = make_bid()
    return bids.bid_accept(bid=bid, client=bid.job.client)


@pytest.fixture
def first(contract):
    return contract.milestones.get(position=1)


def member_of(contract):
    return contract.member.user


def pdf(name="livrable.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def kinds(contract):
    return list(contract.events.values_list("kind", flat=True))


def to_status(milestone, status):
    """Walk a milestone from where it is along the legal path up to `status`, through the
    services."""
    contract = milestone.contract
    milestone.refresh_from_db()
    path = [S.AWAITING_FUNDING, S.FUNDED, S.IN_PROGRESS, S.SUBMITTED, S.APPROVED]
    for step in path[path.index(milestone.status) + 1 : path.index(status) + 1]:
        if step == S.FUNDED:
            fund_milestone(milestone)
        elif step == S.IN_PROGRESS:
            services.milestone_start(milestone=milestone, member=member_of(contract))
        elif step == S.SUBMITTED:
            services.milestone_deliver(
                milestone=milestone, member=member_of(contract), message="Voici les maquettes."
            )
        else:
            services.milestone_approve(milestone=milestone, client=contract.client)
    milestone.refresh_from_db()
    return milestone


# The state machine itself


@pytest.mark.parametrize(
    ("current", "wanted"),
    [(current, wanted) for current in S for wanted in S],
)
def test_the_state_machine_allows_only_what_it_lists(current, wanted):
    milestone = Milestone(status=current)
    if wanted in milestone_states.ALLOWED[current]:
        milestone_states.transition(milestone, wanted)
        assert milestone.status == wanted
    else:
        with pytest.raises(IllegalTransition):
            milestone_states.transition(milestone, wanted)
        assert milestone.status == current


def test_submission_resets_the_clock_and_the_reminders():
    now = timezone.now()
    milestone = Milestone(status=S.IN_PROGRESS, reminders_sent=2)
    milestone_states.transition(milestone, S.SUBMITTED, now=now)
    assert (milestone.submitted_at, milestone.reminders_sent) == (now, 0)
    milestone_states.transition(milestone, S.IN_PROGRESS)
    assert milestone.submitted_at is None


# The services, step by step


def test_the_whole_path_writes_one_event_per_step(contract, first):
    to_status(first, S.APPROVED)
    # Approval releases the held funds in the same transaction (payments.services.funds).
    assert first.status == S.RELEASED and first.approved_at is not None
    assert kinds(contract) == [
        "contract_created",
        "funded",
        "started",
        "delivered",
        "approved",
        "released",
    ]
    contract.refresh_from_db()
    assert contract.status == "active"  # the second milestone is still open


def test_only_staff_or_the_payments_flow_mark_a_milestone_paid(contract, first):
    from payments.services import funds

    payment = funds.payment_create(milestone=first, client=contract.client, method="bank_transfer")
    for user in (contract.client, member_of(contract)):
        with pytest.raises(PermissionDenied):
            funds.payment_succeeded(payment=payment, by=user)
    funds.payment_succeeded(payment=payment, by=AdminFactory())
    first.refresh_from_db()
    assert first.status == S.FUNDED


@pytest.mark.parametrize(
    "step",
    ["start", "deliver", "approve", "changes"],
)
def test_steps_refused_before_funding(contract, first, step):
    member, client = member_of(contract), contract.client
    call = {
        "start": lambda: services.milestone_start(milestone=first, member=member),
        "deliver": lambda: services.milestone_deliver(milestone=first, member=member, message="x"),
        "approve": lambda: services.milestone_approve(milestone=first, client=client),
        "changes": lambda: services.milestone_request_changes(
            milestone=first, client=client, reason="Non"
        ),
    }[step]
    with pytest.raises(IllegalTransition):
        call()
    first.refresh_from_db()
    assert first.status == S.AWAITING_FUNDING
    assert kinds(contract) == ["contract_created"]


def test_a_milestone_cannot_be_paid_twice_or_approved_twice(contract, first):
    to_status(first, S.APPROVED)
    with pytest.raises(IllegalTransition):
        services.milestone_mark_funded(milestone=first)
    with pytest.raises(IllegalTransition):
        services.milestone_approve(milestone=first, client=contract.client)
    with pytest.raises(IllegalTransition):
        services.milestone_start(milestone=first, member=member_of(contract))


def test_each_side_does_only_its_own_steps(contract, first):
    other_member, other_client = MemberFactory(), ClientFactory()
    to_status(first, S.FUNDED)
    for user in (contract.client, other_member):
        with pytest.raises(PermissionDenied):
            services.milestone_start(milestone=first, member=user)
    services.milestone_start(milestone=first, member=member_of(contract))
    with pytest.raises(PermissionDenied):
        services.milestone_deliver(milestone=first, member=contract.client, message="x")
    services.milestone_deliver(milestone=first, member=member_of(contract), message="Voilà")
    for user in (member_of(contract), other_client):
        with pytest.raises(PermissionDenied):
            services.milestone_approve(milestone=first, client=user)
        with pytest.raises(PermissionDenied):
            services.milestone_request_changes(milestone=first, client=user, reason="Non")
    first.refresh_from_db()
    assert first.status == S.SUBMITTED


def test_a_delivery_keeps_its_message_links_and_files(contract, first):
    to_status(first, S.IN_PROGRESS)
    png = SimpleUploadedFile("capture.png", PNG_BYTES, content_type="image/png")
    delivery = services.milestone_deliver(
        milestone=first,
        member=member_of(contract),
        message="Les maquettes sont prêtes.",
        links=["https://example.be/maquettes"],
        files=[pdf(), png],
    )
    first.refresh_from_db()
    assert first.status == S.SUBMITTED and first.submitted_at is not None
    assert delivery.links == ["https://example.be/maquettes"]
    files = sorted(delivery.files.all(), key=lambda f: f.content_type)
    assert [(f.original_name, f.content_type) for f in files] == [
        ("livrable.pdf", "application/pdf"),
        ("capture.png", "image/png"),
    ]
    assert files[0].file.read() == PDF_BYTES and len(files[0].sha256) == 64


def test_a_delivery_refuses_a_bad_file_a_bad_link_and_no_message(contract, first):
    to_status(first, S.IN_PROGRESS)
    exe = SimpleUploadedFile("facture.pdf", EXE_BYTES, content_type="application/pdf")
    with pytest.raises(ValidationError) as refused:
        services.milestone_deliver(
            milestone=first,
            member=member_of(contract),
            message="  ",
            links=["javascript:alert(1)"],
            files=[exe],
        )
    assert set(refused.value.message_dict) == {"message", "links", "files"}
    first.refresh_from_db()
    assert first.status == S.IN_PROGRESS
    assert not DeliveryFile.objects.exists()
    assert kinds(contract)[-1] == "started"


def test_asking_for_changes_needs_a_reason_and_sends_it_back(contract, first):
    to_status(first, S.SUBMITTED)
    with pytest.raises(ValidationError):
        services.milestone_request_changes(milestone=first, client=contract.client, reason=" ")
    first.refresh_from_db()
    assert first.status == S.SUBMITTED
    services.milestone_request_changes(
        milestone=first, client=contract.client, reason="Le logo est flou."
    )
    first.refresh_from_db()
    assert first.status == S.IN_PROGRESS and first.submitted_at is None
    event = contract.events.last()
    assert (event.kind, event.note) == ("changes_requested", "Le logo est flou.")
    assert Notification.objects.filter(
        user=member_of(contract), message__contains="Le logo est flou."
    ).exists()
    # The member delivers again: the clock starts again.
    services.milestone_deliver(milestone=first, member=member_of(contract), message="Corrigé")
    first.refresh_from_db()
    assert first.status == S.SUBMITTED and first.deliveries.count() == 2


def test_the_last_approval_completes_the_contract_and_the_job(contract):
    first, second = contract.milestones.order_by("position")
    to_status(first, S.APPROVED)
    to_status(second, S.APPROVED)
    contract.refresh_from_db()
    contract.job.refresh_from_db()
    assert contract.status == "completed" and contract.completed_at is not None
    assert contract.job.status == "completed"
    assert kinds(contract)[-3:] == ["approved", "released", "contract_completed"]
    with pytest.raises(ValidationError):
        services.milestone_mark_funded(milestone=first)  # the contract is closed


def test_notices_leave_only_after_commit(contract, first, django_capture_on_commit_callbacks):
    to_status(first, S.IN_PROGRESS)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.milestone_deliver(milestone=first, member=member_of(contract), message="Voilà")
    assert mail.outbox == [] and len(callbacks) == 1
    assert Notification.objects.filter(user=contract.client, url__contains="/contracts/").exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.milestone_request_changes(milestone=first, client=contract.client, reason="Non")
    assert [m.to for m in mail.outbox] == [[member_of(contract).email]]


def test_a_rolled_back_change_sends_nothing(contract, first, django_capture_on_commit_callbacks):
    to_status(first, S.SUBMITTED)
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(PermissionDenied),
    ):
        services.milestone_approve(milestone=first, client=member_of(contract))
    assert callbacks == [] and mail.outbox == []


# Automatic approval


def run_at(first, days, hours=0):
    return services.milestones_auto_approve(
        now=first.submitted_at + datetime.timedelta(days=days, hours=hours)
    )


def test_auto_approval_after_14_days_with_two_reminders_each_once(
    contract, first, django_capture_on_commit_callbacks
):
    first = to_status(first, S.SUBMITTED)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_at(first, 6) == 0
        first.refresh_from_db()
        assert first.reminders_sent == 0
        assert run_at(first, 7) == 0
        assert run_at(first, 7, hours=1) == 0
        first.refresh_from_db()
        assert first.reminders_sent == 1
        assert run_at(first, 12) == 0
        assert run_at(first, 13) == 0
        first.refresh_from_db()
        assert (first.status, first.reminders_sent) == (S.SUBMITTED, 2)
        assert run_at(first, 14) == 1
        assert run_at(first, 14, hours=1) == 0
    first.refresh_from_db()
    assert first.status == S.RELEASED
    assert kinds(contract).count("approval_reminder") == 2
    assert kinds(contract).count("auto_approved") == 1
    assert contract.events.get(kind="auto_approved").actor is None
    assert [m.to for m in mail.outbox] == [
        [contract.client.email],
        [contract.client.email],
        [member_of(contract).email],
    ]


def test_a_skipped_pass_sends_one_reminder_not_two(contract, first):
    first = to_status(first, S.SUBMITTED)
    assert run_at(first, 12, hours=1) == 0
    first.refresh_from_db()
    assert first.reminders_sent == 2
    assert kinds(contract).count("approval_reminder") == 1


def test_the_delay_is_a_setting(contract, first, settings):
    settings.MILESTONE_AUTO_APPROVE_DAYS = 3
    first = to_status(first, S.SUBMITTED)
    assert run_at(first, 2) == 0
    assert run_at(first, 3) == 1


def test_run_periodic_approves_and_counts(contract, first, monkeypatch):
    first = to_status(first, S.SUBMITTED)
    later = first.submitted_at + datetime.timedelta(days=15)
    monkeypatch.setattr(timezone, "now", lambda: later)
    from io import StringIO

    out = StringIO()
    call_command("run_periodic", stdout=out)
    assert "1 milestone(s) approved automatically" in out.getvalue()
    first.refresh_from_db()
    assert first.status == S.RELEASED


# Cancellation


def test_either_side_may_cancel_before_any_payment(contract):
    services.contract_cancel(contract=contract, by=member_of(contract), reason="Empêchement")
    contract.refresh_from_db()
    assert contract.status == "cancelled"
    assert set(contract.milestones.values_list("status", flat=True)) == {S.CANCELLED}
    assert kinds(contract)[-1] == "contract_cancelled"
    assert Notification.objects.filter(
        user=contract.client, message__contains="Empêchement"
    ).exists()
    with pytest.raises(ValidationError):
        services.contract_cancel(contract=contract, by=contract.client, reason="Encore")


def test_cancelling_needs_a_reason_and_a_side(contract):
    with pytest.raises(ValidationError):
        services.contract_cancel(contract=contract, by=contract.client, reason="")
    for user in (ClientFactory(), MemberFactory(), AdminFactory()):
        with pytest.raises(PermissionDenied):
            services.contract_cancel(contract=contract, by=user, reason="Non")
    contract.refresh_from_db()
    assert contract.status == "active"


def test_after_a_payment_cancelling_goes_through_the_cooperative(contract, first):
    to_status(first, S.FUNDED)
    with pytest.raises(ValidationError) as refused:
        services.contract_cancel(contract=contract, by=contract.client, reason="Plus besoin")
    assert refused.value.code == "funded"
    contract.refresh_from_db()
    assert contract.status == "active"
    assert kinds(contract)[-1] == "funded"


# Pages


def page(client, contract, user):
    client.force_login(user)
    return client.get(reverse("contract_detail", args=[contract.pk]))


def test_the_page_shows_each_side_its_own_actions(client, contract, first):
    start = reverse("milestone_start", args=[contract.pk, first.pk])
    cancel = reverse("contract_cancel", args=[contract.pk])
    html = page(client, contract, member_of(contract)).content.decode()
    assert cancel in html and start not in html
    to_status(first, S.FUNDED)
    html = page(client, contract, member_of(contract)).content.decode()
    assert start in html and cancel not in html
    assert start not in page(client, contract, contract.client).content.decode()
    to_status(first, S.SUBMITTED)
    approve = reverse("milestone_approve", args=[contract.pk, first.pk])
    changes = reverse("milestone_request_changes", args=[contract.pk, first.pk])
    html = page(client, contract, contract.client).content.decode()
    assert approve in html and changes in html
    html = page(client, contract, member_of(contract)).content.decode()
    assert approve not in html and changes not in html


def test_the_page_tells_the_history_in_words(client, contract, first):
    to_status(first, S.SUBMITTED)
    response = page(client, contract, contract.client)
    assert [entry.event.kind for entry in response.context["timeline"]] == [
        "contract_created",
        "funded",
        "started",
        "delivered",
    ]
    sentences = [entry.sentence for entry in response.context["timeline"]]
    assert all(first.title in sentence for sentence in sentences[1:])
    assert sentences[3] in response.content.decode()


def test_admins_see_the_timeline_without_actions(client, contract, first):
    to_status(first, S.SUBMITTED)
    admin = AdminFactory()
    client.force_login(admin)
    record_mfa(client, admin)
    response = client.get(reverse("contract_detail", args=[contract.pk]))
    assert response.status_code == 200 and len(response.context["timeline"]) == 4
    assert reverse("milestone_approve", args=[contract.pk, first.pk]) not in (
        response.content.decode()
    )


def test_start_deliver_and_approve_through_the_pages(client, contract, first):
    to_status(first, S.FUNDED)
    client.force_login(member_of(contract))
    response = client.post(reverse("milestone_start", args=[contract.pk, first.pk]))
    assert response.status_code == 302
    prefix = f"milestone-{first.pk}"
    response = client.post(
        reverse("milestone_deliver", args=[contract.pk, first.pk]),
        {
            f"{prefix}-message": "Les maquettes.",
            f"{prefix}-links": "https://example.be/a\nhttps://example.be/b",
            f"{prefix}-files": [pdf()],
        },
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == S.SUBMITTED
    delivery = first.deliveries.get()
    assert delivery.links == ["https://example.be/a", "https://example.be/b"]
    stored = delivery.files.get()
    client.force_login(contract.client)
    html = client.get(reverse("contract_detail", args=[contract.pk])).content.decode()
    assert reverse("delivery_file", args=[stored.pk]) in html and "https://example.be/b" in html
    file_response = client.get(reverse("delivery_file", args=[stored.pk]))
    assert file_response.status_code == 200
    assert b"".join(file_response.streaming_content) == PDF_BYTES
    response = client.post(reverse("milestone_approve", args=[contract.pk, first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == S.RELEASED


def test_a_bad_delivery_shows_the_error_by_its_field(client, contract, first):
    to_status(first, S.IN_PROGRESS)
    client.force_login(member_of(contract))
    prefix = f"milestone-{first.pk}"
    exe = SimpleUploadedFile("facture.pdf", EXE_BYTES, content_type="application/pdf")
    response = client.post(
        reverse("milestone_deliver", args=[contract.pk, first.pk]),
        {f"{prefix}-message": "Voilà", f"{prefix}-links": "", f"{prefix}-files": [exe]},
    )
    assert response.status_code == 200
    form = response.context["rows"][0].deliver_form
    assert "files" in form.errors and form["message"].value() == "Voilà"
    first.refresh_from_db()
    assert first.status == S.IN_PROGRESS


def test_asking_for_changes_without_a_reason_shows_the_error(client, contract, first):
    to_status(first, S.SUBMITTED)
    client.force_login(contract.client)
    url = reverse("milestone_request_changes", args=[contract.pk, first.pk])
    response = client.post(url, {f"milestone-{first.pk}-reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["rows"][0].changes_form.errors
    response = client.post(url, {f"milestone-{first.pk}-reason": "Plus grand"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == S.IN_PROGRESS


def test_refused_steps_are_messages_and_wrong_sides_are_403(client, contract, first):
    client.force_login(member_of(contract))
    response = client.post(reverse("milestone_start", args=[contract.pk, first.pk]), follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    client.force_login(contract.client)
    response = client.post(reverse("milestone_start", args=[contract.pk, first.pk]))
    assert response.status_code == 403
    assert client.get(reverse("milestone_approve", args=[contract.pk, first.pk])).status_code == 405
    first.refresh_from_db()
    assert first.status == S.AWAITING_FUNDING


def test_cancel_through_the_page(client, contract, first):
    client.force_login(contract.client)
    url = reverse("contract_cancel", args=[contract.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["cancel_form"].errors
    response = client.post(url, {"reason": "Projet abandonné"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == "cancelled"


def test_cancel_after_payment_is_refused_with_a_message(client, contract, first):
    to_status(first, S.FUNDED)
    client.force_login(member_of(contract))
    response = client.post(
        reverse("contract_cancel", args=[contract.pk]), {"reason": "Non"}, follow=True
    )
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    contract.refresh_from_db()
    assert contract.status == "active"


def test_strangers_get_404_on_everything(client, contract, first):
    to_status(first, S.IN_PROGRESS)
    delivery = services.milestone_deliver(
        milestone=first, member=member_of(contract), message="Voilà", files=[pdf()]
    )
    stored = delivery.files.get()
    for stranger in (ClientFactory(), MemberFactory()):
        client.force_login(stranger)
        assert client.get(reverse("contract_detail", args=[contract.pk])).status_code == 404
        assert client.get(reverse("delivery_file", args=[stored.pk])).status_code == 404
        for name in ("milestone_approve", "milestone_start"):
            url = reverse(name, args=[contract.pk, first.pk])
            assert client.post(url).status_code == 404
        url = reverse("contract_cancel", args=[contract.pk])
        assert client.post(url, {"reason": "x"}).status_code == 404
    contract.refresh_from_db()
    assert contract.status == "active"
    assert ContractEvent.objects.filter(contract=contract).count() == 4


def test_a_milestone_of_another_contract_is_not_found(client, contract, first):
    other = bids.bid_accept(bid=(bid := make_bid()), client=bid.job.client)
    client.force_login(contract.client)
    other_milestone = other.milestones.first()
    url = reverse("milestone_approve", args=[contract.pk, other_milestone.pk])
    assert client.post(url).status_code == 404


def test_the_contract_page_query_count_does_not_grow_with_deliveries(
    client, contract, first, django_assert_max_num_queries
):
    to_status(first, S.IN_PROGRESS)
    services.milestone_deliver(
        milestone=first, member=member_of(contract), message="1", files=[pdf()]
    )
    client.force_login(contract.client)
    client.get(reverse("contract_detail", args=[contract.pk]))
    with django_assert_max_num_queries(20) as captured:
        client.get(reverse("contract_detail", args=[contract.pk]))
    baseline = len(captured)
    services.milestone_request_changes(milestone=first, client=contract.client, reason="x")
    for _ in range(3):
        services.milestone_deliver(
            milestone=first, member=member_of(contract), message="2", files=[pdf(), pdf()]
        )
        first.refresh_from_db()
        if first.status == S.SUBMITTED:
            services.milestone_request_changes(milestone=first, client=contract.client, reason="y")
    with django_assert_max_num_queries(baseline):
        client.get(reverse("contract_detail", args=[contract.pk]))
