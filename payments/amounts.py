"""Amounts, written once: VAT, the solidarity share and the splits of a milestone.

Rounding rule (the only one in the project): a percentage of an amount in cents is rounded
half up to the nearest cent, ``(cents * basis_points + 5000) // 10000``, and the *other* part
is always obtained by subtraction, never rounded on its own. So a split's parts add up to the
whole exactly: cents never appear or vanish.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from stdnum.eu import vat as eu_vat

from payments.models import VatCategory

STANDARD_VAT_BP = 2100  # 21 % — Belgian standard rate on web services
REVERSE_CHARGE_MENTION = _("Reverse charge – VAT Directive 2006/112/EC, art. 196")
# XI (Northern Ireland) is in the EU VAT area for goods only, not for services.
EU_COUNTRIES = frozenset(eu_vat.MEMBER_STATES) - {"be", "xi"}


def percent_of(cents: int, basis_points: int) -> int:
    """``basis_points`` / 10000 of ``cents``, rounded half up to the cent."""
    if cents < 0 or basis_points < 0:
        raise ValueError("amounts and rates are not negative")
    return (cents * basis_points + 5000) // 10000


@dataclass(frozen=True)
class VatTreatment:
    category: str
    rate_bp: int
    exemption_reason: str = ""


def vat_treatment_for(client_profile) -> VatTreatment:
    """21 % for Belgian clients and private people; reverse charge for a business in another EU
    member state with a valid VAT number (art. 196). Anything else: 21 %, the safe default."""
    if client_profile is not None and client_profile.kind == "organisation":
        number = (client_profile.vat_number or "").replace(" ", "").upper()
        prefix = number[:2].lower()
        # Greece's VAT prefix is EL, its ISO country code GR.
        if prefix == "el":
            prefix = "gr"
        if prefix in EU_COUNTRIES and eu_vat.is_valid(number):
            return VatTreatment(
                category=VatCategory.REVERSE_CHARGE,
                rate_bp=0,
                exemption_reason=str(REVERSE_CHARGE_MENTION),
            )
    return VatTreatment(category=VatCategory.STANDARD, rate_bp=STANDARD_VAT_BP)


@dataclass(frozen=True)
class Gross:
    net_cents: int
    vat_cents: int
    gross_cents: int


def gross_for(net_cents: int, treatment: VatTreatment) -> Gross:
    vat = percent_of(net_cents, treatment.rate_bp)
    return Gross(net_cents=net_cents, vat_cents=vat, gross_cents=net_cents + vat)


@dataclass(frozen=True)
class Release:
    solidarity_cents: int
    member_cents: int


def release_split(member_part_cents: int, solidarity_rate_bp: int) -> Release:
    """What the member's part of a milestone becomes: the solidarity share and the rest."""
    share = percent_of(member_part_cents, solidarity_rate_bp)
    return Release(solidarity_cents=share, member_cents=member_part_cents - share)


def format_eur(cents: int) -> str:
    """€ 1 234,56 style amounts are the templates' job; this is for logs and files."""
    return f"{cents / 100:.2f}"
