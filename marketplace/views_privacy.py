"""'My data': download everything the site holds about you, or erase your account (GDPR)."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from marketplace.selectors.privacy import erasure_blockers, personal_data_export
from marketplace.services.privacy import account_erase


class ErasureForm(forms.Form):
    """Re-authentication and an explicit confirmation before an erasure."""

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("To be sure it is you."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand that my account will be erased for good and that I will not be able "
            "to log in again."
        ),
        error_messages={"required": gettext_lazy("Tick this box to confirm.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("This is not your password."), code="password")
        return password


def _page(request: HttpRequest, form: ErasureForm, status: int = 200) -> TemplateResponse:
    context = {"form": form, "blockers": erasure_blockers(user=request.user)}
    return TemplateResponse(request, "marketplace/privacy/my_data.html", context, status=status)


@login_required
@never_cache
def my_data(request: HttpRequest) -> HttpResponse:
    return _page(request, ErasureForm(user=request.user))


@login_required
@never_cache
def my_data_export(request: HttpRequest) -> HttpResponse:
    data = personal_data_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"sirius-my-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@never_cache
@require_http_methods(["POST"])
def my_data_erase(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ErasureForm(request.POST, user=user)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        account_erase(user=user, requested_by=user)
    except ValidationError as error:
        form.add_error(None, error)
        return _page(request, form, status=409)
    logout(request)
    messages.success(request, _("Your account is erased. Thank you for your work with Sirius."))
    return redirect("home")
