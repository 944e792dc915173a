"""Pages of bids: a member offers, edits, withdraws; the client compares, shortlists, talks and
accepts. Every bid is fetched through marketplace.access; every change goes through
marketplace.services.bids, whose errors are shown as messages, never as an error page."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from marketplace import access
from marketplace.forms_bids import (
    BidForm,
    BidMessageForm,
    BidMilestoneFormSet,
    bid_input,
    milestones_initial,
)
from marketplace.models import Bid, BidStatus, Job, JobStatus, MemberProfile, Role
from marketplace.services import bids as bid_services
from matching.models import MemberLanguage, SkillClaim

SORTS = {
    "shortlisted": gettext_lazy("shortlisted first"),
    "score": gettext_lazy("best fit"),
    "price": gettext_lazy("lowest price"),
    "date": gettext_lazy("oldest first"),
}


def _bid_forms(request: HttpRequest, job: Job, bid: Bid | None):
    data = request.POST if request.method == "POST" else None
    form = BidForm(data, job=job, initial=BidForm.initial_for(bid) if bid else None)
    milestones = BidMilestoneFormSet(
        data, prefix="milestones", initial=milestones_initial(bid), bid_form=form
    )
    return form, milestones


def _member_fit(member: MemberProfile, job: Job) -> dict:
    """How well the member fits the job, in plain words. Members without the essential skills
    may still bid: they see it here, and the client sees it too."""
    from matching.candidates import score_member_for_job
    from matching.explain import Explainer

    ranked = score_member_for_job(member, job)
    if ranked is None:
        return {"eligible": False}
    return {"eligible": True, "score": ranked.score, "why": Explainer().text(ranked)}


def _render_bid_form(request, *, job, form, milestones, bid=None, fit=None) -> HttpResponse:
    context = {"job": job, "bid": bid, "form": form, "milestones": milestones, "fit": fit}
    return TemplateResponse(request, "marketplace/bid_form.html", context)


def _job_open_for_bids(request: HttpRequest, job: Job) -> bool:
    if job.status == JobStatus.PUBLISHED and not job.is_hidden:
        return True
    messages.error(request, _("This job no longer takes bids."))
    return False


@access.role_required(Role.MEMBER)
def bid_new(request: HttpRequest, job_id: int) -> HttpResponse:
    member = access.access_member_profile_of(request.user)
    job = access.access_job(viewer=request.user, job_id=job_id)
    if not _job_open_for_bids(request, job):
        return redirect("job_detail", job_id=job.pk)
    if request.method == "GET":
        own = Bid.objects.filter(job=job, member=member, status=BidStatus.ACTIVE).first()
        if own is not None:
            messages.info(request, _("You already have a bid on this job: edit it here."))
            return redirect("bid_edit", bid_id=own.pk)
    form, milestones = _bid_forms(request, job, None)
    if request.method == "POST" and form.is_valid() and milestones.is_valid():
        try:
            bid = bid_services.bid_submit(member=member, job=job, data=bid_input(form, milestones))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your bid is sent to the client."))
            return redirect("bid_detail", bid_id=bid.pk)
    return _render_bid_form(
        request, job=job, form=form, milestones=milestones, fit=_member_fit(member, job)
    )


@access.role_required(Role.MEMBER)
def bid_edit(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    if bid.member.user_id != request.user.pk:
        raise PermissionDenied(_("Only the member who made this bid can change it."))
    if bid.status != BidStatus.ACTIVE or bid.job.status != JobStatus.PUBLISHED:
        messages.error(request, _("This bid can no longer be changed."))
        return redirect("bid_detail", bid_id=bid.pk)
    form, milestones = _bid_forms(request, bid.job, bid)
    if request.method == "POST" and form.is_valid() and milestones.is_valid():
        try:
            bid_services.bid_update(bid=bid, member=bid.member, data=bid_input(form, milestones))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your bid is updated."))
            return redirect("bid_detail", bid_id=bid.pk)
    return _render_bid_form(request, job=bid.job, form=form, milestones=milestones, bid=bid)


@require_POST
@access.role_required(Role.MEMBER)
def bid_withdraw(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    if bid.member.user_id != request.user.pk:
        raise PermissionDenied(_("Only the member who made this bid can withdraw it."))
    try:
        bid_services.bid_withdraw(bid=bid, member=bid.member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your bid is withdrawn."))
    return redirect("bid_detail", bid_id=bid.pk)


@dataclass
class BidRow:
    """A bid as the client compares it: the bid, and how well its member fits the job."""

    bid: Bid
    score: float | None
    why: str
    rating: float | None = None


def _bid_rows(job: Job) -> list[BidRow]:
    """The job's bids with their members' fit, in a number of queries that does not grow with
    the number of bids: the candidates are loaded in bulk and scored in Python."""
    from matching.candidates import job_needs, load_candidates
    from matching.explain import Explainer
    from matching.ranking import score, weights
    from matching.selectors import current_validation_q

    bids = list(
        Bid.objects.filter(job=job)
        .exclude(status=BidStatus.WITHDRAWN)
        .select_related("member")
        .prefetch_related(
            "milestones",
            Prefetch(
                "member__languages",
                queryset=MemberLanguage.objects.select_related("language").order_by(
                    "language__code"
                ),
            ),
            Prefetch(
                "member__skill_claims",
                queryset=SkillClaim.objects.filter(current_validation_q())
                .select_related("skill")
                .order_by("skill__label_en"),
                to_attr="validated_claims",
            ),
        )
    )
    if not bids:
        return []
    skills, languages = job_needs(job)
    members = {bid.member.pk: bid.member for bid in bids}
    candidates = load_candidates(
        [
            {"pk": m.pk, "display_name": m.display_name, "availability": m.availability}
            for m in members.values()
        ],
        [need.skill_id for need in skills],
        [need.language_id for need in languages],
    )
    w = weights()
    ranked = {c.member_id: score(c, skills, languages, w) for c in candidates}
    ratings = {c.member_id: c.average_rating for c in candidates}
    explainer = Explainer()
    rows = []
    for bid in bids:
        fit = ranked[bid.member_id]
        rows.append(
            BidRow(
                bid=bid,
                score=fit.score if fit else None,
                why=explainer.text(fit) if fit else "",
                rating=ratings.get(bid.member_id),
            )
        )
    return rows


def _sorted_rows(rows: list[BidRow], sort: str) -> list[BidRow]:
    def by_score(row: BidRow):
        return -row.score if row.score is not None else float("inf")

    keys = {
        "price": lambda row: (row.bid.price_cents, row.bid.created_at),
        "score": lambda row: (by_score(row), row.bid.created_at),
        "date": lambda row: (row.bid.created_at, row.bid.pk),
        "shortlisted": lambda row: (not row.bid.shortlisted, by_score(row), row.bid.created_at),
    }
    return sorted(rows, key=keys[sort])


@login_required
def job_bids(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access.access_own_job(user=request.user, job_id=job_id)
    sort = request.GET.get("sort", "shortlisted")
    if sort not in SORTS:
        sort = "shortlisted"
    rows = _sorted_rows(_bid_rows(job), sort)
    context = {
        "job": job,
        "rows": rows,
        "sort": sort,
        "sorts": SORTS.items(),
        "can_accept": job.status == JobStatus.PUBLISHED,
    }
    return TemplateResponse(request, "marketplace/job_bids.html", context)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
@login_required
def bid_shortlist(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    shortlisted = request.POST.get("shortlisted") == "1"
    bid = bid_services.bid_shortlist(bid=bid, client=request.user, shortlisted=shortlisted)
    if request.htmx:
        return TemplateResponse(
            request, "marketplace/includes/bid_shortlist.html", {"bid": bid, "next": ""}
        )
    return redirect(_safe_next(request, reverse("job_bids", args=[bid.job_id])))


def _thread(bid: Bid):
    return bid.messages.select_related("sender")


@login_required
def bid_detail(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    is_client = bid.job.client_id == request.user.pk
    is_bidder = bid.member.user_id == request.user.pk
    can_talk = is_client or is_bidder
    form = BidMessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_talk:
            raise PermissionDenied
        if form.is_valid():
            try:
                message = bid_services.bid_message_send(
                    bid=bid, sender=request.user, body=form.cleaned_data["body"]
                )
            except ValidationError as error:
                form.add_error("body", error)
            else:
                if request.htmx:
                    context = {"bid": bid, "form": BidMessageForm(), "message": message}
                    return TemplateResponse(
                        request, "marketplace/includes/bid_message_sent.html", context
                    )
                messages.success(request, _("Your message is sent."))
                return redirect(reverse("bid_detail", args=[bid.pk]) + "#thread")
        if request.htmx:
            return TemplateResponse(
                request, "marketplace/bid_detail.html#message_form", {"bid": bid, "form": form}
            )
    is_open = bid.status == BidStatus.ACTIVE and bid.job.status == JobStatus.PUBLISHED
    context = {
        "bid": bid,
        "job": bid.job,
        "thread": _thread(bid),
        "form": form,
        "is_client": is_client,
        "is_bidder": is_bidder,
        "can_talk": can_talk,
        "can_accept": is_client and is_open,
        "can_change": is_bidder and is_open,
    }
    return TemplateResponse(request, "marketplace/bid_detail.html", context)


@require_GET
@login_required
def bid_messages(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    context = {"bid": bid, "thread": _thread(bid)}
    return TemplateResponse(request, "marketplace/bid_detail.html#thread", context)


@require_POST
@login_required
def bid_accept(request: HttpRequest, bid_id: int) -> HttpResponse:
    bid = access.access_bid(viewer=request.user, bid_id=bid_id)
    try:
        contract = bid_services.bid_accept(bid=bid, client=request.user)
    except ValidationError as error:  # AlreadyDecided included: the other accept won
        messages.error(request, " ".join(error.messages))
        return redirect("job_bids", job_id=bid.job_id)
    messages.success(
        request,
        _("You accepted the offer of %(name)s. Next step: pay the first milestone.")
        % {"name": bid.member.display_name},
    )
    return redirect("contract_detail", contract_id=contract.pk)
