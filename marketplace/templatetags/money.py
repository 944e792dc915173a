"""Money shown to people: cents as euros, the Belgian way (1 500,50 € in French)."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def euros(cents: int | None) -> str:
    if cents is None:
        return ""
    value = Decimal(cents) / 100
    places = 0 if cents % 100 == 0 else 2
    return f"{number_format(value, decimal_pos=places, force_grouping=True)} €"


@register.simple_tag
def job_budget(job) -> str:
    if job.budget_type == "fixed":
        return _("%(low)s – %(high)s") % {
            "low": euros(job.budget_min_cents),
            "high": euros(job.budget_max_cents),
        }
    return _("%(rate)s/h × %(hours)s h") % {
        "rate": euros(job.hourly_rate_cents),
        "hours": job.estimated_hours,
    }
