"""The public solidarity dashboard: where the solidarity share goes, how the work is spread.

Public (no log-in), read-only. The figures and their charts are cached for a few minutes per
language (the charts carry translated labels and localised numbers); recording or correcting a
use of the fund drops the cache (payments.services.solidarity)."""

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.translation import get_language, get_language_bidi
from django.utils.translation import gettext as _

from governance import charts
from governance.selectors_transparency import (
    CACHE_SECONDS,
    MIN_MEMBERS_PER_BAND,
    EarningsBand,
    TransparencyDashboard,
    transparency_cache_key,
    transparency_dashboard,
)
from marketplace.templatetags.money import euros


def band_label(band: EarningsBand) -> str:
    if band.is_nothing:
        return _("nothing")
    if band.high_cents is None:
        return _("%(low)s or more") % {"low": euros(band.low_cents)}
    # Bands follow each other: the lower bound belongs to the band, the upper one to the next.
    if band.low_cents == 1:  # right after the band of those who earned nothing
        return _("more than 0 € and under %(high)s") % {"high": euros(band.high_cents)}
    return _("%(low)s to under %(high)s") % {
        "low": euros(band.low_cents),
        "high": euros(band.high_cents),
    }


def _fund_chart(dashboard: TransparencyDashboard, *, rtl: bool):
    return charts.column_chart(
        chart_id="chart-fund",
        title=_("The solidarity fund, month by month"),
        description=_(
            "Money collected and used per month over the last twelve months: %(collected)s "
            "collected, %(used)s used. The table below gives every figure."
        )
        % {
            "collected": euros(dashboard.collected_12_months_cents),
            "used": euros(dashboard.used_12_months_cents),
        },
        categories=[
            (date_format(month.month, "M"), date_format(month.month, "Y"))
            for month in dashboard.months
        ],
        series=[
            charts.Series(_("Collected"), [m.collected_cents for m in dashboard.months]),
            charts.Series(_("Used"), [m.used_cents for m in dashboard.months]),
        ],
        value_label=euros,
        rtl=rtl,
    )


def _categories_chart(dashboard: TransparencyDashboard, *, rtl: bool):
    return charts.bar_chart(
        chart_id="chart-categories",
        title=_("What the solidarity fund paid for"),
        description=_("Amount used per category since the start: %(list)s.")
        % {
            "list": "; ".join(
                f"{row.label} {euros(row.amount_cents)}" for row in dashboard.categories
            )
        },
        rows=[(row.label, row.amount_cents) for row in dashboard.categories],
        value_label=euros,
        rtl=rtl,
    )


def _bands_chart(dashboard: TransparencyDashboard, *, rtl: bool):
    return charts.bar_chart(
        chart_id="chart-bands",
        title=_("Members per band of earnings over the last twelve months"),
        description=_("Number of cooperative members per band of earnings: %(list)s.")
        % {"list": "; ".join(f"{band_label(band)}: {band.members}" for band in dashboard.bands)},
        rows=[(band_label(band), band.members) for band in dashboard.bands],
        value_label=str,
        rtl=rtl,
    )


def _page_parts() -> dict:
    """The figures and the drawn charts, cached per language."""
    key = transparency_cache_key(get_language())
    parts = cache.get(key)
    if parts is None:
        dashboard = transparency_dashboard()
        rtl = get_language_bidi()
        parts = {
            "dashboard": dashboard,
            "bands": [(band_label(band), band) for band in dashboard.bands],
            "fund_chart": _fund_chart(dashboard, rtl=rtl),
            "categories_chart": _categories_chart(dashboard, rtl=rtl)
            if dashboard.categories
            else "",
            "bands_chart": _bands_chart(dashboard, rtl=rtl) if dashboard.bands else "",
        }
        cache.set(key, parts, CACHE_SECONDS)
    return parts


def transparency(request: HttpRequest) -> HttpResponse:
    try:
        decisions_url = reverse("governance:decisions")
    except NoReverseMatch:  # the votes pages are not installed
        decisions_url = None
    return TemplateResponse(
        request,
        "governance/transparency.html",
        {
            **_page_parts(),
            "decisions_url": decisions_url,
            "min_band": MIN_MEMBERS_PER_BAND,
            "cache_minutes": CACHE_SECONDS // 60,
        },
    )
