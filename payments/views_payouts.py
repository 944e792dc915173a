"""Paying members: the staff pages of payout batches, and each member's own statement.

Staff pages answer 404 to everybody else, anonymous visitors included, before anything else
(payments.access: not even the method is checked first); every change goes through
payments.services.payouts, and a refused step comes back as a message or a form error."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from marketplace.access import access_member_profile_of, role_required
from marketplace.models import Role
from payments.access import access_payout_batch, require_staff
from payments.forms_payouts import PayoutBatchForm, PayoutCancelForm
from payments.models import PayoutBatchStatus, PayoutLineStatus, PayoutRail
from payments.selectors import payouts as selectors
from payments.selectors.statements import member_statement
from payments.services import payouts as services


def _before(request: HttpRequest) -> int | None:
    try:
        return int(request.GET["before"])
    except (KeyError, ValueError):
        return None


def payouts(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    payables = selectors.payable_members()
    form = PayoutBatchForm(
        request.POST or None,
        member_choices=[(row.member_id, row.display_name) for row in payables],
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = services.payout_batch_create(
                rail=form.cleaned_data["rail"],
                by=request.user,
                execution_date=form.cleaned_data["execution_date"],
                member_ids=form.cleaned_data["members"],
                include_refunds=form.cleaned_data["include_refunds"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The payout batch is ready."))
            for skipped in created.skipped:
                messages.warning(
                    request,
                    _("Not paid: %(name)s (%(reason)s).")
                    % {"name": skipped.name, "reason": skipped.reason},
                )
            return redirect("payout_batch", batch_id=created.batch.pk)
    if form.is_bound:
        selected = set(form["members"].value() or [])
    else:
        selected = {str(row.member_id) for row in payables}
    page = selectors.payout_batches_page(before=_before(request))
    context = {
        "form": form,
        "payables": payables,
        "selected": selected,
        "refunds": [
            (refund, selectors.mask_iban(refund.iban) if refund.iban else "")
            for refund in selectors.pending_bank_refunds()
        ],
        "batches": page.batches,
        "next_before": page.next_before,
    }
    return TemplateResponse(request, "payments/payouts/payouts.html", context)


def _render_batch(
    request: HttpRequest, batch, *, cancel_form: PayoutCancelForm | None = None, status=200
) -> HttpResponse:
    lines = selectors.payout_batch_lines(batch)
    exported = batch.status == PayoutBatchStatus.EXPORTED
    context = {
        "batch": batch,
        "lines": lines,
        # IBANs stay in the file; pages show their last four characters only.
        "rows": [(line, selectors.mask_iban(line.iban) if line.iban else "") for line in lines],
        "is_sepa": batch.rail == PayoutRail.SEPA,
        "can_mark_sent": exported and batch.rail == PayoutRail.SEPA,
        "can_cancel": exported and batch.rail == PayoutRail.SEPA,
        "can_execute": exported
        and batch.rail == PayoutRail.STRIPE_CONNECT
        and any(line.status == PayoutLineStatus.PENDING for line in lines),
        "cancel_form": cancel_form or PayoutCancelForm(),
    }
    return TemplateResponse(request, "payments/payouts/batch_detail.html", context, status=status)


def payout_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_payout_batch(viewer=request.user, batch_id=batch_id)
    return _render_batch(request, batch)


def payout_batch_file(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_payout_batch(viewer=request.user, batch_id=batch_id)
    if not batch.sepa_xml:
        raise Http404
    response = HttpResponse(batch.sepa_xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.message_id}.xml"'
    return response


def payout_batch_mark_sent(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_payout_batch(viewer=request.user, batch_id=batch_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.payout_batch_mark_sent(batch=batch, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The batch is marked sent."))
    return redirect("payout_batch", batch_id=batch.pk)


def payout_batch_cancel(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_payout_batch(viewer=request.user, batch_id=batch_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = PayoutCancelForm(request.POST)
    if not form.is_valid():
        return _render_batch(request, batch, cancel_form=form, status=400)
    try:
        services.payout_batch_cancel(
            batch=batch, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _render_batch(request, batch, cancel_form=form, status=400)
    messages.success(request, _("The batch is cancelled: the amounts are payable again."))
    return redirect("payout_batch", batch_id=batch.pk)


def payout_batch_execute(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_payout_batch(viewer=request.user, batch_id=batch_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        batch = services.payout_batch_execute_connect(batch=batch, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("payout_batch", batch_id=batch.pk)
    counts = dict.fromkeys(PayoutLineStatus.values, 0)
    for status in batch.lines.values_list("status", flat=True):
        counts[status] += 1
    messages.info(
        request,
        _("Transfers: %(sent)s made, %(failed)s refused, %(pending)s without an answer yet.")
        % {
            "sent": counts[PayoutLineStatus.SENT],
            "failed": counts[PayoutLineStatus.FAILED],
            "pending": counts[PayoutLineStatus.PENDING],
        },
    )
    return redirect("payout_batch", batch_id=batch.pk)


@role_required(Role.MEMBER)
def member_earnings(request: HttpRequest) -> HttpResponse:
    member = access_member_profile_of(request.user)
    context = {"member": member, "statement": member_statement(member)}
    return TemplateResponse(request, "payments/earnings.html", context)
