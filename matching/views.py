import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace import access as marketplace_access
from marketplace.models import Role
from marketplace.private_files import private_file_response
from matching import access, selectors, services
from matching.forms import (
    DecisionForm,
    EvidenceForm,
    LanguageConfirmForm,
    RevokeForm,
    SkillClaimForm,
)
from matching.search import skill_search

PICKER_TARGET = re.compile(r"id_[A-Za-z0-9_-]{1,60}")


def skill_search_view(request: HttpRequest) -> HttpResponse:
    """The autocomplete behind every skill picker (an htmx partial), and a plain search page
    for browsers without JavaScript."""
    query = request.GET.get("q", "")[:100]
    target = request.GET.get("target", "")
    context = {
        "query": query,
        "skills": skill_search(query=query),
        # The id of the <select> to fill in (data-skill-target, read by static/js/skill_picker.js);
        # only a plain field id is accepted.
        "target": target if PICKER_TARGET.fullmatch(target) else "",
    }
    if request.htmx:
        return TemplateResponse(request, "matching/skill_search.html#results", context)
    return TemplateResponse(request, "matching/skill_search.html", context)


def _validator_required(request: HttpRequest) -> None:
    if not access.is_validator(request.user):
        raise PermissionDenied(_("This page is for validators."))


@marketplace_access.role_required(Role.MEMBER)
def my_skills(request: HttpRequest) -> HttpResponse:
    member = marketplace_access.access_member_profile_of(request.user)
    context = {"claims": selectors.member_claims(member=member)}
    return TemplateResponse(request, "matching/my_skills.html", context)


@marketplace_access.role_required(Role.MEMBER)
def skill_claim_new(request: HttpRequest) -> HttpResponse:
    member = marketplace_access.access_member_profile_of(request.user)
    form = SkillClaimForm(request.POST or None, request.FILES or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.skill_claim_create(
                member=member,
                skill=form.cleaned_data["skill"],
                self_level=form.cleaned_data["self_level"],
                description=form.cleaned_data["description"],
                links=form.cleaned_data["links"],
                files=form.cleaned_data["files"],
            )
        except ValidationError as error:
            form.add_error("skill" if error.code == "duplicate_claim" else None, error)
        else:
            messages.success(request, _("Your claim is sent to the validators."))
            return redirect("skill_claim_detail", claim_id=claim.pk)
    return TemplateResponse(request, "matching/skill_claim_form.html", {"form": form})


@marketplace_access.role_required(Role.MEMBER)
def skill_claim_detail(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = access.access_own_claim(user=request.user, claim_id=claim_id)
    form = EvidenceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.skill_claim_add_evidence(
                claim=claim,
                member=claim.member,
                links=form.cleaned_data["links"],
                files=form.cleaned_data["files"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your evidence is added; the claim is back in the queue."))
            return redirect("skill_claim_detail", claim_id=claim.pk)
    context = {
        "claim": claim,
        "decisions": selectors.claim_decisions(claim=claim),
        "evidence_form": form,
        "can_add_evidence": claim.status in ("pending", "more_evidence"),
    }
    return TemplateResponse(request, "matching/skill_claim_detail.html", context)


@require_POST
@marketplace_access.role_required(Role.MEMBER)
def skill_claim_withdraw(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = access.access_own_claim(user=request.user, claim_id=claim_id)
    try:
        services.skill_claim_withdraw(claim=claim, member=claim.member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your claim is withdrawn."))
    return redirect("my_skills")


@login_required
def validation_queue(request: HttpRequest) -> HttpResponse:
    _validator_required(request)
    context = {
        "claims": selectors.validation_queue(validator=request.user),
        "languages": selectors.languages_to_confirm(validator=request.user)[:50],
    }
    return TemplateResponse(request, "matching/validation_queue.html", context)


@login_required
def claim_review(request: HttpRequest, claim_id: int) -> HttpResponse:
    claim = access.access_claim_for_review(user=request.user, claim_id=claim_id)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.skill_claim_decide(
                claim=claim,
                validator=request.user,
                decision=services.DecisionInput(
                    kind=form.cleaned_data["kind"],
                    level=form.cleaned_data["level"],
                    comment=form.cleaned_data["comment"],
                    expires_on=form.cleaned_data["expires_on"],
                ),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Your decision is recorded."))
            return redirect("validation_queue")
    context = {
        "claim": claim,
        "decisions": selectors.claim_decisions(claim=claim),
        "form": form,
        "revoke_form": RevokeForm() if request.user.is_staff else None,
    }
    return TemplateResponse(request, "matching/claim_review.html", context)


@require_POST
@login_required
def claim_revoke(request: HttpRequest, claim_id: int) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied(_("Only admins can revoke a validation."))
    claim = access.access_claim_for_review(user=request.user, claim_id=claim_id)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.skill_validation_revoke(
                claim=claim, admin=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The validation is revoked."))
            return redirect("claim_review", claim_id=claim.pk)
    context = {
        "claim": claim,
        "decisions": selectors.claim_decisions(claim=claim),
        "form": DecisionForm(),
        "revoke_form": form,
    }
    return TemplateResponse(request, "matching/claim_review.html", context, status=400)


@login_required
def language_confirm(request: HttpRequest, member_language_id: int) -> HttpResponse:
    member_language = access.access_member_language_for_review(
        user=request.user, member_language_id=member_language_id
    )
    form = LanguageConfirmForm(request.POST or None, initial={"level": member_language.level})
    if request.method == "POST" and form.is_valid():
        services.language_level_confirm(
            member_language=member_language,
            validator=request.user,
            level=form.cleaned_data["level"],
            comment=form.cleaned_data["comment"],
        )
        messages.success(request, _("The language level is confirmed."))
        return redirect("validation_queue")
    context = {"member_language": member_language, "form": form}
    return TemplateResponse(request, "matching/language_confirm.html", context)


@login_required
def evidence_file_download(request: HttpRequest, file_id: int) -> HttpResponse:
    evidence_file = access.access_evidence_file(user=request.user, file_id=file_id)
    return private_file_response(evidence_file)
