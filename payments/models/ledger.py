"""The cooperative's double-entry ledger, in integer cents (EUR).

Sign convention (written once, here): an entry's amount is added to its account's balance.
*Internal* accounts are what the cooperative owes or keeps — funds held for a contract, what is
payable to a member or back to a client, the solidarity fund, VAT due to the state — and their
balance never goes below zero (a CHECK constraint on the balance). *External* accounts mirror
money held outside our books — at Stripe, at the bank — as the negative of what arrived there:
a card payment of €121 posts -12100 on the Stripe clearing account and +12100 spread over
internal accounts. Every transaction sums to zero (a deferred constraint trigger on PostgreSQL,
and the posting service everywhere); posted transactions and entries are never updated or
deleted (triggers on both databases): corrections are new, reversing transactions.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    CLIENT_FUNDS_HELD = "client_held", _("client funds held for a contract")
    MEMBER_PAYABLE = "member_payable", _("payable to a member")
    CLIENT_REFUND_PAYABLE = "refund_payable", _("refund payable to a client")
    PAYOUTS_IN_TRANSIT = "payouts_transit", _("payouts exported, not yet confirmed sent")
    SOLIDARITY_FUND = "solidarity", _("solidarity fund")
    VAT_PAYABLE = "vat_payable", _("VAT payable")
    STRIPE_CLEARING = "stripe", _("Stripe clearing (external)")
    BANK = "bank", _("bank account (external)")
    # What the solidarity fund paid for, outside our books (training, equipment...): its
    # balance is everything the fund has spent, net of corrections (payments.SolidarityUse).
    SOLIDARITY_SPENT = "solidarity_spent", _("solidarity fund spending (external)")


# Accounts that mirror money outside our books: the only ones allowed below zero.
EXTERNAL_KINDS = frozenset(
    {AccountKind.STRIPE_CLEARING, AccountKind.BANK, AccountKind.SOLIDARITY_SPENT}
)


class LedgerAccount(models.Model):
    """One account of the ledger. ``code`` names it uniquely, e.g. ``client_held:contract:42``.

    ``balance_cents`` is the sum of the account's entries, kept in the same database
    transaction as each posting so that the non-negative rule is a CHECK constraint."""

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    contract = models.ForeignKey(
        "marketplace.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    member = models.ForeignKey(
        "marketplace.MemberProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_accounts",
    )
    allow_negative = models.BooleanField(default=False)
    balance_cents = models.BigIntegerField(_("balance (cents)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(allow_negative=True) | models.Q(balance_cents__gte=0),
                name="ledger_account_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class TransactionKind(models.TextChoices):
    FUNDING = "funding", _("client payment received")
    RELEASE = "release", _("funds released on approval")
    SETTLEMENT = "settlement", _("split decided or agreed")
    REFUND_DUE = "refund_due", _("refund owed to the client")
    REFUND_SENT = "refund_sent", _("refund paid back")
    PAYOUT_EXPORTED = "payout_exported", _("payout exported to the bank")
    PAYOUT_SENT = "payout_sent", _("payout sent")
    PAYOUT_CANCELLED = "payout_cancelled", _("payout cancelled")
    CONNECT_TRANSFER = "connect_transfer", _("Stripe Connect transfer")
    SOLIDARITY_SPENT = "solidarity_spent", _("solidarity fund spending")
    REVERSAL = "reversal", _("correction (reversal)")


class LedgerTransaction(models.Model):
    """One balanced posting. ``idempotency_key`` makes a retry return the first posting."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=TransactionKind.choices)
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    contract = models.ForeignKey(
        "marketplace.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_transactions",
    )
    milestone = models.ForeignKey(
        "marketplace.Milestone",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_transactions",
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        indexes = [models.Index(fields=["kind", "created_at"], name="ledger_tx_kind_date")]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class LedgerEntry(models.Model):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount_cents = models.BigIntegerField(_("amount (cents)"))

    class Meta:
        ordering = ["transaction_id", "pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount_cents=0), name="ledger_entry_not_zero"
            ),
        ]
        indexes = [models.Index(fields=["account", "transaction"], name="ledger_entry_account")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount_cents:+d}"
