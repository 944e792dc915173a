"""A member's statement: what each released milestone brought them and what was paid out.

Read from the ledger (the release or settlement posting of each milestone, with its
solidarity share and the member's part) and from the payout lines; three queries whatever
the length of the history.
"""

from dataclasses import dataclass

from django.db.models import IntegerField, OuterRef, Q, Subquery, Sum

from marketplace.models import MemberProfile
from payments.models import (
    AccountKind,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PayoutLine,
    PayoutLineKind,
    PayoutLineStatus,
)
from payments.selectors.payouts import EARNING_KINDS


@dataclass(frozen=True)
class ReleasedMilestone:
    transaction: LedgerTransaction  # with milestone, contract and job
    released_at: object
    gross_cents: int
    vat_cents: int
    net_cents: int
    solidarity_cents: int
    member_cents: int
    # A split (dispute decision, agreement): the part of the payment, VAT included, owed back
    # to the client rather than released.
    refunded_cents: int = 0

    @property
    def milestone(self):
        return self.transaction.milestone

    @property
    def contract(self):
        return self.transaction.contract


@dataclass(frozen=True)
class MemberStatement:
    releases: list[ReleasedMilestone]
    payouts: list[PayoutLine]  # with their batch
    earned_cents: int
    solidarity_cents: int
    paid_cents: int
    in_transit_cents: int
    balance_cents: int


def _funding(field: str) -> Subquery:
    return Subquery(
        Payment.objects.filter(milestone_id=OuterRef("milestone_id"), funded_milestone=True)
        .order_by()
        .values(field)[:1],
        output_field=IntegerField(),
    )


def member_statement(member: MemberProfile) -> MemberStatement:
    account = LedgerAccount.objects.filter(kind=AccountKind.MEMBER_PAYABLE, member=member).first()
    releases: list[ReleasedMilestone] = []
    if account is not None:
        transactions = (
            LedgerTransaction.objects.filter(
                kind__in=EARNING_KINDS,
                milestone__isnull=False,
                pk__in=LedgerEntry.objects.filter(account=account, amount_cents__gt=0).values(
                    "transaction_id"
                ),
            )
            .select_related("milestone", "contract__job")
            .annotate(
                member_cents=Sum("entries__amount_cents", filter=Q(entries__account=account)),
                solidarity_cents=Sum(
                    "entries__amount_cents",
                    filter=Q(entries__account__kind=AccountKind.SOLIDARITY_FUND),
                ),
                refunded_cents=Sum(
                    "entries__amount_cents",
                    filter=Q(entries__account__kind=AccountKind.CLIENT_REFUND_PAYABLE),
                ),
                gross_cents=_funding("gross_cents"),
                vat_cents=_funding("vat_cents"),
                net_cents=_funding("net_cents"),
            )
            .order_by("-created_at", "-pk")
        )
        releases = [
            ReleasedMilestone(
                transaction=tx,
                released_at=tx.created_at,
                gross_cents=tx.gross_cents or 0,
                vat_cents=tx.vat_cents or 0,
                net_cents=tx.net_cents or 0,
                solidarity_cents=tx.solidarity_cents or 0,
                member_cents=tx.member_cents or 0,
                refunded_cents=tx.refunded_cents or 0,
            )
            for tx in transactions
        ]
    payouts = list(
        PayoutLine.objects.filter(member=member, kind=PayoutLineKind.MEMBER)
        .select_related("batch", "contract__job")
        .order_by("-batch__created_at", "-pk")
    )
    return MemberStatement(
        releases=releases,
        payouts=payouts,
        earned_cents=sum(row.member_cents for row in releases),
        solidarity_cents=sum(row.solidarity_cents for row in releases),
        paid_cents=sum(p.amount_cents for p in payouts if p.status == PayoutLineStatus.SENT),
        in_transit_cents=sum(
            p.amount_cents for p in payouts if p.status == PayoutLineStatus.PENDING
        ),
        balance_cents=account.balance_cents if account is not None else 0,
    )
