"""Countries a billing address may be in: the EU and its close neighbours (ISO 3166-1 alpha-2).

The cooperative invoices from Belgium; VAT rules differ inside and outside the EU, so the
country is a closed list rather than free text."""

from django.utils.translation import gettext_lazy as _

COUNTRY_CHOICES = [
    ("BE", _("Belgium")),
    ("NL", _("Netherlands")),
    ("LU", _("Luxembourg")),
    ("FR", _("France")),
    ("DE", _("Germany")),
    ("AT", _("Austria")),
    ("BG", _("Bulgaria")),
    ("HR", _("Croatia")),
    ("CY", _("Cyprus")),
    ("CZ", _("Czechia")),
    ("DK", _("Denmark")),
    ("EE", _("Estonia")),
    ("FI", _("Finland")),
    ("GR", _("Greece")),
    ("HU", _("Hungary")),
    ("IE", _("Ireland")),
    ("IT", _("Italy")),
    ("LV", _("Latvia")),
    ("LT", _("Lithuania")),
    ("MT", _("Malta")),
    ("PL", _("Poland")),
    ("PT", _("Portugal")),
    ("RO", _("Romania")),
    ("SK", _("Slovakia")),
    ("SI", _("Slovenia")),
    ("ES", _("Spain")),
    ("SE", _("Sweden")),
    ("NO", _("Norway")),
    ("IS", _("Iceland")),
    ("LI", _("Liechtenstein")),
    ("CH", _("Switzerland")),
    ("GB", _("United Kingdom")),
]
