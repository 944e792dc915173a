"""Admin pages of the payments app. Money rows are records: the admin shows them, and every
change goes through the payments services (pages for reconciliation, payouts and refunds),
never through a raw edit here."""

from django.contrib import admin

from matching.admin import ReadOnlyAdmin
from payments.models import (
    BankStatement,
    BankStatementLine,
    ConnectedAccount,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payment,
    PayoutBatch,
    PayoutLine,
    Refund,
    SolidarityRate,
    SolidarityUse,
    StripeEvent,
)


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    fields = ["account", "amount_cents"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "balance_cents", "allow_negative"]
    list_filter = ["kind"]
    search_fields = ["code"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "idempotency_key", "contract", "memo"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "memo"]
    inlines = [LedgerEntryInline]
    list_select_related = ["contract__job"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "account", "amount_cents"]
    search_fields = ["account__code", "transaction__idempotency_key"]
    list_select_related = ["transaction", "account"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "created_at",
        "client",
        "method",
        "status",
        "gross_cents",
        "structured_communication",
        "funded_milestone",
    ]
    list_filter = ["method", "status"]
    search_fields = ["structured_communication", "stripe_payment_intent_id", "client__email"]
    list_select_related = ["client"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at", "payment", "amount_cents", "status"]
    list_filter = ["status"]
    search_fields = ["reason", "stripe_refund_id"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_type", "event_id", "status", "attempts"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "event_type"]


class BankStatementLineInline(admin.TabularInline):
    model = BankStatementLine
    extra = 0
    fields = ["line_number", "booked_on", "amount_cents", "communication", "status", "payment"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ["uploaded_at", "filename", "uploaded_by"]
    search_fields = ["filename"]
    inlines = [BankStatementLineInline]


@admin.register(BankStatementLine)
class BankStatementLineAdmin(ReadOnlyAdmin):
    list_display = ["statement", "line_number", "booked_on", "amount_cents", "status"]
    list_filter = ["status"]
    search_fields = ["communication", "counterparty_name", "bank_reference"]


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "message_id", "rail", "status", "total_cents"]
    list_filter = ["rail", "status"]
    search_fields = ["message_id"]
    exclude = ["sepa_xml"]


@admin.register(PayoutLine)
class PayoutLineAdmin(ReadOnlyAdmin):
    list_display = ["batch", "kind", "name", "amount_cents", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "end_to_end_id"]


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = ["member", "stripe_account_id", "payouts_enabled"]
    search_fields = ["stripe_account_id", "member__display_name"]
    raw_id_fields = ["member"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "description", "quantity", "unit_price_cents", "net_cents"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "issue_date", "client", "gross_cents"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "client__email", "structured_communication"]
    inlines = [InvoiceLineInline]
    list_select_related = ["client"]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "position", "description", "net_cents"]
    search_fields = ["description", "invoice__number"]


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(ReadOnlyAdmin):
    list_display = ["year", "last_number"]
    search_fields = ["year"]


@admin.register(SolidarityRate)
class SolidarityRateAdmin(ReadOnlyAdmin):
    """Rates are added by the statutes' default and by closed votes (governance), never here."""

    list_display = ["effective_from", "rate_bp", "source"]
    search_fields = ["source"]


@admin.register(SolidarityUse)
class SolidarityUseAdmin(ReadOnlyAdmin):
    """Uses are recorded and corrected (by reversal) on the staff page "Solidarity fund"."""

    list_display = ["spent_on", "category", "amount_cents", "description", "posted_by"]
    list_filter = ["category"]
    search_fields = ["description"]
    list_select_related = ["posted_by"]
