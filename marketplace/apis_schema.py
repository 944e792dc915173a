"""The API's contract with its OpenAPI schema, written once: what every operation may answer
besides its success, and input that the server accepts exactly as the schema describes it
(strict pagination, booleans, money, non-blank text), plus the JSON 404 for any other address
under /api/.

drf-spectacular documents the responses a view declares; the answers that DRF itself gives on
the way in (a bad token, a missing permission, an invalid filter or cursor, an object the viewer
may not see) would otherwise be missing from the schema, and clients generated from it, and
schemathesis (tests/test_schemathesis.py), would rightly call them undocumented."""

import re
from decimal import Decimal

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from marketplace.forms_jobs import MAX_EUROS


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()


class SiriusAutoSchema(AutoSchema):
    """Adds the error responses DRF gives before or around a view's own code:

    - 401 everywhere: a wrong or expired token is refused even where no log-in is needed;
    - 403 for writes and for views with a permission (CSRF, role, "not yours to do");
    - 404 for a path with an id (the object does not exist or is not the viewer's) and for
      paginated lists (an invalid cursor);
    - 400 for a request with a body or query parameters (invalid input)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses

        def add(code: str, serializer) -> None:
            if code not in responses:
                responses[code] = self._get_response_for_code(serializer, code, None, direction)

        add("401", ErrorOutput)
        if self.method not in permissions.SAFE_METHODS or not self._allows_anybody():
            add("403", ErrorOutput)
        if "{" in self.path or self._get_pagination_parameters():
            add("404", ErrorOutput)
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer()
        if has_body or self._has_query_parameters():
            add("400", OpenApiTypes.OBJECT)
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        # drf-spectacular leaves out the bounds of a nested list (min_length, max_length).
        if isinstance(field, serializers.ListSerializer | serializers.ListField):
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        # An uploaded file, not its address (drf-spectacular says "uri" unless components are
        # split by direction).
        if isinstance(field, serializers.FileField):
            schema.update(type="string", format="binary")
        # DRF refuses the NUL character in any text (databases cannot store it); a field with
        # its own pattern (text_field) already says so.
        if (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and "format" not in schema
            and not any(isinstance(v, RegexValidator) for v in field.validators)
        ):
            schema["pattern"] = without_nul(schema.get("pattern"))
        return schema

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") in ("number", "integer", "boolean") or "format" in schema:
                # An empty value is no filter at all (django-filter, like an HTML form).
                parameter["schema"] = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
                continue
            if schema.get("type") != "string":
                continue
            if "enum" in schema:
                # An empty choice is "any" (the value an HTML form sends for "all").
                if "" not in schema["enum"]:
                    schema["enum"] = [*schema["enum"], ""]
            else:
                # Django's form fields refuse the NUL character in any text.
                schema["pattern"] = without_nul(schema.get("pattern"))
        return parameters

    def _allows_anybody(self) -> bool:
        return all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())

    def _has_query_parameters(self) -> bool:
        if self._get_pagination_parameters() or self._get_filter_parameters():
            return True
        return any(
            getattr(parameter, "location", "query") == "query"
            for parameter in self.get_override_parameters()
        )


class StrictCursorPagination(CursorPagination):
    """Cursor pagination that refuses a page size it cannot use (DRF silently falls back to
    the default), so that the schema's "integer, at least 1" is what the server enforces.
    A page size above max_page_size is cut down to it, as the schema says."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        if self.page_size_query_param and self.page_size_query_param in request.query_params:
            values = request.query_params.getlist(self.page_size_query_param)
            if len(values) != 1 or not values[0].isascii() or not values[0].isdigit():
                raise ValidationError({self.page_size_query_param: [_("Give a whole number.")]})
            size = int(values[0])
            if size < 1:
                raise ValidationError({self.page_size_query_param: [_("Give at least 1.")]})
            return min(size, self.max_page_size)
        return self.page_size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Results per page (at most {self.max_page_size}; more is cut down to it)."
                )
        return parameters


# --- Input fields whose schema says exactly what the server accepts -----------------------------

# Text without the NUL character, which Django and DRF refuse (databases cannot store it).
NO_NUL = r"^[^\x00]*$"


def without_nul(pattern: str | None) -> str:
    return pattern or NO_NUL


# Python's str.strip() (which DRF applies to text) removes \x1c-\x1f too; JSON Schema's \s does
# not know them, so they are spelt out for the two to agree.
VISIBLE_CHARACTER = r"^[^\x00]*[^\s\x00\x1c-\x1f][^\x00]*$"


def text_field(*, max_length: int, **kwargs) -> serializers.CharField:
    """Text that must hold at least one visible character once trimmed."""
    return serializers.CharField(
        max_length=max_length,
        validators=[
            RegexValidator(VISIBLE_CHARACTER, message=gettext_lazy("Write something here."))
        ],
        **kwargs,
    )


# Whole euros from 1 to 100 000, with at most two decimals ("1", "800.5", "1500.00").
EUROS_PATTERN = r"^0*(?:[1-9][0-9]{0,4}(?:\.[0-9]{1,2})?|100000(?:\.0{1,2})?)$"


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": EUROS_PATTERN, "example": "1500.00"}
)
class EurosField(serializers.DecimalField):
    """Euros as a decimal string, from 1 to MAX_EUROS. DRF's DecimalField also takes JSON
    numbers, surrounding spaces and exponents; the schema says a string of this pattern, so
    the server says the same."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_digits=8, decimal_places=2, min_value=Decimal("1"), max_value=MAX_EUROS, **kwargs
        )

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str) or not re.fullmatch(EUROS_PATTERN, data):
            raise ValidationError(
                _("Give an amount in euros between 1 and 100 000, such as “1500.00”.")
            )
        return super().to_internal_value(data)


# The largest id a database integer holds (SQLite and PostgreSQL bigint alike).
MAX_DATABASE_ID = 2**63 - 1


class StrictBooleanField(forms.Field):
    """`true` or `false`, as the schema writes a boolean; django-filter's own field takes
    "null", "unknown", "2"... as "no filter", which the schema does not allow."""

    def to_python(self, value) -> bool | None:
        if value in (None, ""):
            return None
        if value in ("true", "True", "1"):
            return True
        if value in ("false", "False", "0"):
            return False
        raise forms.ValidationError(_("Give true or false."), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


@csrf_exempt  # it changes nothing: a POST to a wrong address gets the same 404, not a CSRF 403
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """An address under /api/ that no operation answers (a malformed id, a typo): the API's
    JSON 404, as DRF writes it, rather than the site's HTML page."""
    return JsonResponse({"detail": _("Not found.")}, status=404)
