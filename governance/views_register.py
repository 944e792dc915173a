"""The member register: the admins' list with filters and its CSV export for the general
assembly, one member's entry (admins, and the member for their own; anybody else 404), and the
admins' forms to record a status change or a share movement (governance.services)."""

import csv

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from governance import selectors, services
from governance.access import access_register_entry, member_profile_of, staff_required
from governance.forms import (
    MembershipChangeForm,
    RegisterFilterForm,
    SharesForm,
    add_service_errors,
)
from marketplace.access import is_moderator
from marketplace.models import MemberProfile

REGISTER_PAGE_SIZE = 100


def _filters(request: HttpRequest) -> tuple[RegisterFilterForm, dict]:
    form = RegisterFilterForm(request.GET or None)
    if form.is_valid():
        return form, {"status": form.cleaned_data["status"], "query": form.cleaned_data["q"]}
    return form, {}


@staff_required
def register_list(request: HttpRequest) -> HttpResponse:
    """A page of the register at a time (a cooperative of thousands would otherwise be one page
    of thousands of rows); the count and the shares are those of every member filtered."""
    form, filters = _filters(request)
    members = selectors.register_members(**filters)
    page = Paginator(members, REGISTER_PAGE_SIZE).get_page(request.GET.get("page"))
    export = request.GET.copy()
    export.pop("page", None)
    context = {
        "filter_form": form,
        "members": list(page.object_list),
        "page": page,
        "people": page.paginator.count,
        "share_value_cents": selectors.share_value_cents(),
        "total_shares": selectors.register_shares_total(members),
        "export_query": export.urlencode(),
    }
    return TemplateResponse(request, "governance/register_list.html", context)


def _csv_cell(value) -> str:
    """Names are typed by people: a cell a spreadsheet would run as a formula is quoted."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


@staff_required
def register_export(request: HttpRequest) -> HttpResponse:
    """The register for the general assembly: one line per member, with the status history."""
    _form, filters = _filters(request)
    value = selectors.share_value_cents()
    statuses = dict(MemberProfile.Membership.choices)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"sirius-member-register-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # spreadsheets then read the accents right
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Register number"),
            _("Name"),
            _("E-mail"),
            _("Status"),
            _("Status since"),
            _("Joining date"),
            _("Shares held"),
            _("Value of the shares (EUR)"),
            _("Status history"),
        ]
    )
    for member in selectors.register_members_with_history(**filters):
        history = "; ".join(
            f"{change.effective_on.isoformat()} {statuses.get(change.status, change.status)}"
            for change in member.membership_changes.all()
        )
        writer.writerow(
            [
                member.pk,
                _csv_cell(member.user.full_name or member.display_name),
                _csv_cell(member.user.email),
                statuses.get(member.membership_status, member.membership_status),
                member.membership_since.isoformat(),
                member.joined_on.isoformat() if member.joined_on else "",
                member.shares_held,
                f"{member.shares_held * value / 100:.2f}",
                history,
            ]
        )
    return response


def _render_entry(request: HttpRequest, member: MemberProfile, **bound) -> TemplateResponse:
    staff = is_moderator(request.user)
    context = {
        "entry": selectors.register_entry(member),
        "member": member,
        "is_staff_viewer": staff,
        "status_form": (bound.get("status") or MembershipChangeForm()) if staff else None,
        "shares_form": (bound.get("shares") or SharesForm()) if staff else None,
    }
    return TemplateResponse(request, "governance/register_entry.html", context)


def register_entry(request: HttpRequest, member_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    member = access_register_entry(viewer=request.user, member_id=member_id)
    return _render_entry(request, member)


def register_mine(request: HttpRequest) -> HttpResponse:
    """The dashboard's link: the viewer's own entry."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    profile = member_profile_of(request.user)
    if profile is None:
        raise Http404
    return redirect("governance:register_entry", member_id=profile.pk)


@require_POST
@staff_required
def register_status_change(request: HttpRequest, member_id: int) -> HttpResponse:
    member = access_register_entry(viewer=request.user, member_id=member_id)
    form = MembershipChangeForm(request.POST)
    if form.is_valid():
        try:
            services.membership_status_change(
                member=member,
                status=form.cleaned_data["status"],
                effective_on=form.cleaned_data["effective_on"],
                reason=form.cleaned_data["reason"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The status change is recorded in the register."))
            return redirect("governance:register_entry", member_id=member.pk)
    return _render_entry(request, member, status=form)


@require_POST
@staff_required
def register_shares_change(request: HttpRequest, member_id: int) -> HttpResponse:
    member = access_register_entry(viewer=request.user, member_id=member_id)
    form = SharesForm(request.POST)
    if form.is_valid():
        try:
            services.member_shares_change(
                member=member,
                shares=form.cleaned_data["shares"],
                effective_on=form.cleaned_data["effective_on"],
                reason=form.cleaned_data["reason"],
                recorded_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The share movement is recorded in the register."))
            return redirect("governance:register_entry", member_id=member.pk)
    return _render_entry(request, member, shares=form)
