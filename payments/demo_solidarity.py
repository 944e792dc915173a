"""Demo: a few uses of the solidarity fund (one of them corrected), so that the public
solidarity page has something to show. Through the same services as the staff page; once
only, and never more than the fund holds."""

import datetime
import uuid

from django.utils import timezone

from payments.models import AccountKind, SolidarityUse
from payments.selectors.ledger import account_balance
from payments.services.solidarity import solidarity_use_correct, solidarity_use_record

# (days ago, category, description, share of the fund's balance in per cent)
DEMO_USES = [
    (40, "training", "Formation à l'accessibilité numérique (WCAG) pour quatre membres", 30),
    (25, "equipment", "Deux ordinateurs portables reconditionnés prêtés aux nouveaux membres", 25),
    (10, "hardship", "Avance à un membre en attente d'un paiement client", 15),
]


def seed_solidarity_uses(*, admin) -> None:
    if SolidarityUse.objects.exists():
        return
    balance = account_balance(AccountKind.SOLIDARITY_FUND)
    if balance < 1000:  # nothing released yet: nothing to spend
        return
    today = timezone.localdate()
    recorded = []
    for days_ago, category, description, percent in DEMO_USES:
        recorded.append(
            solidarity_use_record(
                by=admin,
                spent_on=today - datetime.timedelta(days=days_ago),
                category=category,
                description=description,
                amount_cents=balance * percent // 100,
                request_key=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sirius-demo-use-{category}")),
            )
        )
    solidarity_use_correct(use=recorded[-1], by=admin, reason="Encodé deux fois par erreur")
