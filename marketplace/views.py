from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace import access, selectors, services
from marketplace.forms import (
    ClientProfileForm,
    LanguageSwitchForm,
    MemberLanguageFormSet,
    MemberProfileForm,
)
from marketplace.models import Role


def home(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "marketplace/home.html")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    member_profile = getattr(user, "member_profile", None) if user.is_member else None
    context = {
        "client_profile": getattr(user, "client_profile", None) if user.is_client else None,
        "member_profile": member_profile,
        "fits": selectors.member_dashboard_fits(member=member_profile) if member_profile else [],
    }
    return TemplateResponse(request, "marketplace/dashboard.html", context)


@access.role_required(Role.CLIENT)
def client_profile_edit(request: HttpRequest) -> HttpResponse:
    profile = access.access_client_profile_of(request.user)
    form = ClientProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "preferred_languages"}
        services.client_profile_update(
            profile=profile,
            fields=fields,
            preferred_languages=form.cleaned_data["preferred_languages"],
        )
        messages.success(request, _("Your client profile is saved."))
        return redirect("client_profile_edit")
    return TemplateResponse(request, "marketplace/client_profile_form.html", {"form": form})


@access.role_required(Role.MEMBER)
def member_profile_edit(request: HttpRequest) -> HttpResponse:
    profile = access.access_member_profile_of(request.user)
    data = request.POST if request.method == "POST" else None
    form = MemberProfileForm(data, instance=profile)
    language_forms = MemberLanguageFormSet(
        data,
        instance=profile,
        queryset=selectors.member_languages(profile=profile),
        prefix="languages",
    )
    if data is not None and form.is_valid() and language_forms.is_valid():
        languages = [
            services.LanguageLevel(
                language=f.cleaned_data["language"], level=f.cleaned_data["level"]
            )
            for f in language_forms.forms
            if f not in language_forms.deleted_forms and f.cleaned_data.get("language")
        ]
        services.member_profile_update(
            profile=profile,
            fields={name: form.cleaned_data[name] for name in form.Meta.fields},
            hourly_rate_cents=form.hourly_rate_cents(),
            languages=languages,
        )
        messages.success(request, _("Your member profile is saved."))
        return redirect("member_profile_edit")
    context = {"form": form, "language_forms": language_forms, "profile": profile}
    return TemplateResponse(request, "marketplace/member_profile_form.html", context)


def member_profile_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    from marketplace.services.reviews import published_reviews_about
    from matching import selectors as matching_selectors

    profile = access.access_public_member_profile(viewer=request.user, member_id=member_id)
    context = {
        "profile": profile,
        "languages": selectors.member_languages(profile=profile),
        "validated_skills": matching_selectors.validated_skills(member=profile),
        "claimed_skills": matching_selectors.unvalidated_skills(member=profile),
        "reviews": published_reviews_about(profile.user)[:20],
    }
    return TemplateResponse(request, "marketplace/member_profile_detail.html", context)


@login_required
@require_POST
def role_add(request: HttpRequest, role: str) -> HttpResponse:
    if role == Role.CLIENT:
        services.user_become_client(user=request.user)
        messages.success(request, _("You can now post jobs as a client."))
        return redirect("client_profile_edit")
    if role == Role.MEMBER:
        services.user_apply_for_membership(user=request.user)
        messages.success(
            request,
            _("Your application to join the cooperative is registered. Complete your profile."),
        )
        return redirect("member_profile_edit")
    return redirect("dashboard")


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Like Django's set_language, and also remembered on the account of a logged-in user."""
    form = LanguageSwitchForm(request.POST)
    next_url = request.POST.get("next") or request.headers.get("referer") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if form.is_valid():
        from django.conf import settings

        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            services.user_set_language(user=request.user, language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=False,
        )
    return response
