"""Forms of the bank-transfer pages: the amount an admin saw arrive, and a statement file."""

from django import forms
from django.utils.translation import gettext_lazy as _

from payments.bank_csv import (
    MAX_STATEMENT_BYTES,
    LineProblem,
    StatementFile,
    StatementFileError,
    parse_amount_cents,
    read_statement,
)


class MarkReceivedForm(forms.Form):
    """The amount is typed, not confirmed with a click: the admin copies what the bank shows,
    and the service accepts it only when it is exactly the amount to pay."""

    amount = forms.CharField(
        label=_("Amount received (€)"),
        max_length=20,
        help_text=_("As shown on the cooperative's account, e.g. 1210,50."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, payment_id: int, **kwargs):
        # One form per payment on the same page: the prefix keeps their ids apart.
        kwargs.setdefault("prefix", f"payment-{payment_id}")
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> int:
        try:
            cents = parse_amount_cents(self.cleaned_data["amount"])
        except ValueError as error:
            raise forms.ValidationError(
                _("Type an amount in euros, e.g. 1210,50."), code="invalid"
            ) from error
        if cents <= 0:
            raise forms.ValidationError(_("Type the amount received."), code="invalid")
        return cents


class BankStatementUploadForm(forms.Form):
    """Reads the file while validating it: what cannot be read at all is an error next to the
    field; the lines that cannot be read are kept in ``problems`` with their line numbers."""

    statement = forms.FileField(
        label=_("Bank statement (CSV)"),
        help_text=_(
            "A CSV export of the cooperative's account, UTF-8, at most 2 MB, with the columns "
            "date, amount, communication, counterparty name, counterparty IBAN and bank "
            "reference (separated by ; or ,)."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems: list[LineProblem] = []
        self.filename = ""

    def clean_statement(self) -> StatementFile:
        upload = self.cleaned_data["statement"]
        if upload.size > MAX_STATEMENT_BYTES:
            raise forms.ValidationError(
                _("The file is too big (at most 2 MB): export a shorter period."), code="size"
            )
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(
                _("Choose a CSV file (its name ends in .csv)."), code="not_csv"
            )
        try:
            statement = read_statement(upload.read())
        except StatementFileError as error:
            raise forms.ValidationError(str(error), code="unreadable") from error
        self.problems = statement.problems
        if not statement.rows:
            raise forms.ValidationError(
                _("No line of this file could be read: see the problems listed below."),
                code="no_rows",
            )
        self.filename = upload.name
        return statement
