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


# The communes of the arrondissement of Liège (and a few neighbours) where clients work,
# with their main postal code. Stored by key; shown with the name.
LIEGE_AREA_COMMUNES = [
    ("liege", "Liège", "4000"),
    ("ans", "Ans", "4430"),
    ("awans", "Awans", "4340"),
    ("aywaille", "Aywaille", "4920"),
    ("bassenge", "Bassenge", "4690"),
    ("beyne-heusay", "Beyne-Heusay", "4610"),
    ("blegny", "Blegny", "4670"),
    ("chaudfontaine", "Chaudfontaine", "4050"),
    ("comblain-au-pont", "Comblain-au-Pont", "4170"),
    ("dalhem", "Dalhem", "4607"),
    ("esneux", "Esneux", "4130"),
    ("flemalle", "Flémalle", "4400"),
    ("fleron", "Fléron", "4620"),
    ("grace-hollogne", "Grâce-Hollogne", "4460"),
    ("herstal", "Herstal", "4040"),
    ("huy", "Huy", "4500"),
    ("juprelle", "Juprelle", "4450"),
    ("neupre", "Neupré", "4120"),
    ("oupeye", "Oupeye", "4680"),
    ("saint-nicolas", "Saint-Nicolas", "4420"),
    ("seraing", "Seraing", "4100"),
    ("soumagne", "Soumagne", "4630"),
    ("sprimont", "Sprimont", "4140"),
    ("trooz", "Trooz", "4870"),
    ("verviers", "Verviers", "4800"),
    ("vise", "Visé", "4600"),
    ("waremme", "Waremme", "4300"),
]
COMMUNE_CHOICES = [(key, f"{name} ({postcode})") for key, name, postcode in LIEGE_AREA_COMMUNES]
