"""Reading a CSV statement of the cooperative's bank account.

The format (what Belgian banks' CSV exports all carry, under their own column names):

* UTF-8 text, with or without a byte-order mark; fields separated by ``;`` or ``,`` (the
  header line says which); quoted fields as usual in CSV. At most ``MAX_STATEMENT_BYTES``.
* A header line naming six columns, in any order, in English, French or Dutch, case and accents
  ignored (``COLUMN_NAMES`` lists the accepted names); other columns are ignored:
  date · amount · communication · counterparty name · counterparty IBAN · bank reference.
* Dates as ``2026-03-31``, ``31/03/2026``, ``31-03-2026`` or ``31.03.2026`` (day first, as
  Belgian banks write them).
* Amounts in euros with a decimal comma or point (``1210,50``, ``1.210,50``, ``1210.50``,
  ``-45,00``, ``+1 210,50``); money that left the account is negative. An amount with more than
  two decimals, or whose separator could mean thousands or decimals (``1,210``), is refused.
* Every line needs a date and an amount; the other fields may be empty.

File-level problems (not UTF-8 text, empty, a required column missing) raise
``StatementFileError``; a malformed line is reported with its line number and the others are
still read (``StatementFile.problems``).
"""

import csv
import datetime
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.structured_communication import parse_communication

MAX_STATEMENT_BYTES = 2 * 1024 * 1024

# Our field → the header names banks use for it (compared without case and accents).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "booked_on": (
        "date",
        "booking date",
        "date comptable",
        "date de comptabilisation",
        "date valeur",
        "date d'execution",
        "datum",
        "boekingsdatum",
        "valutadatum",
        "uitvoeringsdatum",
    ),
    "amount": ("amount", "montant", "bedrag"),
    "communication": (
        "communication",
        "structured communication",
        "communication structuree",
        "message",
        "mededeling",
        "gestructureerde mededeling",
        "remittance information",
    ),
    "counterparty_name": (
        "counterparty name",
        "counterparty",
        "name",
        "nom de la contrepartie",
        "contrepartie",
        "nom",
        "naam tegenpartij",
        "tegenpartij",
        "naam",
    ),
    "counterparty_iban": (
        "counterparty iban",
        "counterparty account",
        "iban",
        "compte contrepartie",
        "compte de la contrepartie",
        "numero de compte de la contrepartie",
        "rekening tegenpartij",
        "rekeningnummer tegenpartij",
    ),
    "bank_reference": (
        "bank reference",
        "reference",
        "reference bancaire",
        "transaction id",
        "numero de sequence",
        "numero d'extrait",
        "referentie",
        "volgnummer",
    ),
}
REQUIRED_COLUMNS = tuple(COLUMN_NAMES)
COLUMN_LABELS = {
    "booked_on": gettext_lazy("date"),
    "amount": gettext_lazy("amount"),
    "communication": gettext_lazy("communication"),
    "counterparty_name": gettext_lazy("counterparty name"),
    "counterparty_iban": gettext_lazy("counterparty IBAN"),
    "bank_reference": gettext_lazy("bank reference"),
}

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
_AMOUNT = re.compile(r"^[+-]?[0-9.,]+$")


class StatementFileError(ValueError):
    """The file as a whole cannot be read as a statement; the message says why, for people."""


@dataclass(frozen=True)
class StatementRow:
    line_number: int
    booked_on: datetime.date
    amount_cents: int
    communication: str
    counterparty_name: str
    counterparty_iban: str
    bank_reference: str

    @property
    def structured_communication(self) -> str | None:
        return parse_communication(self.communication)

    @property
    def fingerprint(self) -> str:
        """sha256 of the fields that identify a bank line: the same line exported in two
        statements (overlapping periods, a file imported twice) has the same fingerprint."""
        communication = self.structured_communication or " ".join(self.communication.split())
        parts = [
            self.booked_on.isoformat(),
            str(self.amount_cents),
            communication,
            self.counterparty_iban,
            self.bank_reference,
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class LineProblem:
    line_number: int
    message: str


@dataclass
class StatementFile:
    rows: list[StatementRow] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)


def _plain(name: str) -> str:
    """A header name without case, accents, BOM, or repeated and surrounding spaces."""
    decomposed = unicodedata.normalize("NFKD", name.replace("\ufeff", ""))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    stripped = stripped.replace("’", "'").replace("_", " ")
    return " ".join(stripped.casefold().split())


_FIELD_OF_NAME = {name: key for key, names in COLUMN_NAMES.items() for name in names}


def parse_amount_cents(text: str) -> int:
    """Euros as banks and people write them → cents. ValueError when unclear or malformed."""
    value = "".join(text.split()).replace("€", "").replace("EUR", "").replace("eur", "")
    if not value or not _AMOUNT.match(value):
        raise ValueError(text)
    sign = ""
    if value[0] in "+-":
        sign, value = value[0], value[1:]
    comma, point = value.rfind(","), value.rfind(".")
    if comma >= 0 and point >= 0:
        decimal_separator = "," if comma > point else "."
        thousands = "." if decimal_separator == "," else ","
        whole, _sep, decimals = value.rpartition(decimal_separator)
        groups = whole.split(thousands)
        if (
            decimal_separator in whole
            or not all(len(group) == 3 for group in groups[1:])
            or not 1 <= len(groups[0]) <= 3
        ):
            raise ValueError(text)
        whole = "".join(groups)
    elif comma >= 0 or point >= 0:
        separator = "," if comma >= 0 else "."
        if value.count(separator) > 1:
            raise ValueError(text)
        whole, _sep, decimals = value.partition(separator)
        if len(decimals) == 3:
            # "1,210" or "1.210": thousands or decimals? We do not guess.
            raise ValueError(text)
    else:
        whole, decimals = value, ""
    if not whole.isdigit() or (decimals and not decimals.isdigit()) or len(decimals) > 2:
        raise ValueError(text)
    try:
        amount = Decimal(f"{sign}{whole}.{decimals or '0'}")
    except InvalidOperation as error:
        raise ValueError(text) from error
    return int(amount * 100)


def parse_date(text: str) -> datetime.date:
    value = text.strip()
    for date_format in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, date_format).date()
        except ValueError:
            continue
    raise ValueError(text)


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise StatementFileError(_("This is not a CSV file: save the statement as CSV."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StatementFileError(
            _("This file is not UTF-8 text: export the statement as CSV in UTF-8.")
        ) from error


def _columns(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = _FIELD_OF_NAME.get(_plain(name))
        if key is not None and key not in positions:
            positions[key] = index
    return positions


def _header_and_delimiter(text: str) -> tuple[str, dict[str, int]]:
    """The delimiter (``;`` or ``,``) whose reading of the first line finds the most columns."""
    first_line = next(iter(text.splitlines()), "")
    best: tuple[str, dict[str, int]] = (";", {})
    for delimiter in (";", ","):
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        positions = _columns(header)
        if len(positions) > len(best[1]):
            best = (delimiter, positions)
    return best


def read_statement(data: bytes) -> StatementFile:
    """The lines of a statement file; StatementFileError when the file cannot be read at all."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementFileError(
            _("The file is too big (at most %(size)s MB).")
            % {"size": MAX_STATEMENT_BYTES // (1024 * 1024)}
        )
    text = _decode(data)
    if not text.strip():
        raise StatementFileError(_("The file is empty."))
    delimiter, positions = _header_and_delimiter(text)
    missing = [key for key in REQUIRED_COLUMNS if key not in positions]
    if missing:
        raise StatementFileError(
            _(
                "The first line must name the columns; missing: %(missing)s. "
                "Expected: date, amount, communication, counterparty name, counterparty IBAN, "
                "bank reference (separated by ; or ,)."
            )
            % {"missing": ", ".join(str(COLUMN_LABELS[key]) for key in missing)}
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)  # the header
    statement = StatementFile()
    width = max(positions.values()) + 1
    try:
        for record in reader:
            line_number = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) < width:
                statement.problems.append(
                    LineProblem(line_number, _("This line has fewer columns than the header."))
                )
                continue
            statement_row = _row(line_number, record, positions, statement.problems)
            if statement_row is not None:
                statement.rows.append(statement_row)
    except csv.Error as error:
        statement.problems.append(
            LineProblem(
                reader.line_num, _("This line cannot be read: %(error)s") % {"error": error}
            )
        )
    if not statement.rows and not statement.problems:
        raise StatementFileError(_("The file has a header but no lines."))
    return statement


def _row(
    line_number: int, record: list[str], positions: dict[str, int], problems: list[LineProblem]
) -> StatementRow | None:
    def cell(key: str) -> str:
        return record[positions[key]].strip()

    try:
        booked_on = parse_date(cell("booked_on"))
    except ValueError:
        problems.append(
            LineProblem(
                line_number,
                _("The date “%(value)s” is not understood (use 31/03/2026 or 2026-03-31).")
                % {"value": cell("booked_on")},
            )
        )
        return None
    try:
        amount_cents = parse_amount_cents(cell("amount"))
    except ValueError:
        problems.append(
            LineProblem(
                line_number,
                _("The amount “%(value)s” is not understood (use 1210,50 or 1210.50).")
                % {"value": cell("amount")},
            )
        )
        return None
    too_long = [
        (key, limit)
        for key, limit in (
            ("communication", 200),
            ("counterparty_name", 200),
            ("counterparty_iban", 34 + 8),  # IBANs are printed with spaces
            ("bank_reference", 100),
        )
        if len(cell(key)) > limit
    ]
    if too_long:
        problems.append(
            LineProblem(
                line_number,
                _("The %(column)s is too long.") % {"column": COLUMN_LABELS[too_long[0][0]]},
            )
        )
        return None
    iban = "".join(cell("counterparty_iban").split()).upper()
    if len(iban) > 34:
        problems.append(LineProblem(line_number, _("The counterparty IBAN is too long.")))
        return None
    return StatementRow(
        line_number=line_number,
        booked_on=booked_on,
        amount_cents=amount_cents,
        communication=cell("communication"),
        counterparty_name=cell("counterparty_name"),
        counterparty_iban=iban,
        bank_reference=cell("bank_reference"),
    )
