"""Belgian structured communications (OGM/VCS): 10 digits and their mod-97 check, shown as
``+++DDD/DDDD/DDDDD+++``. The arithmetic is python-stdnum's (``stdnum.be.ogm_vcs``); this module
says how Sirius writes them and how it reads back what banks print.

We store the 12 digits only. Banks print them in many ways — ``+++123/4567/89002+++``,
``***123/4567/89002***``, ``123/4567/89002``, ``123 4567 89002``, ``123456789002`` — and the
reader accepts exactly these: a field whose characters, once the ``+``, ``*``, ``/`` and spaces
are removed, are 12 digits with a correct check; or a longer text holding exactly one
communication written between its ``+++``/``***`` markers. Nothing else is read as one (no
partial numbers, no digits picked out of a sentence): reconciliation never guesses.
"""

import re

from stdnum.be import ogm_vcs

# The separators banks print around and inside a structured communication.
_SEPARATORS = re.compile(r"[+*/\s]")
# A communication written with its markers inside a longer text ("Paiement +++123/...+++").
_MARKED = re.compile(r"(?:\+{3}|\*{3})\s*(\d{3})\s*/\s*(\d{4})\s*/\s*(\d{5})\s*(?:\+{3}|\*{3})")


def check_digits(base: str) -> str:
    """The two check digits of a 10-digit base: base mod 97, or 97 when that is 0."""
    if len(base) != 10 or not base.isdigit():
        raise ValueError("a structured communication's base is 10 digits")
    return ogm_vcs.calc_check_digits(base)


def is_valid(digits: str) -> bool:
    """12 digits whose last two are the check of the first ten."""
    return len(digits) == 12 and digits.isdigit() and ogm_vcs.is_valid(digits)


def format_communication(digits: str) -> str:
    """``123456789002`` → ``+++123/4567/89002+++``; ValueError for anything not valid."""
    if not is_valid(digits):
        raise ValueError(f"not a valid structured communication: {digits!r}")
    return f"+++{ogm_vcs.format(digits)}+++"


def parse_communication(text: str) -> str | None:
    """The 12 digits of the structured communication in ``text`` as a bank prints it, or None
    when ``text`` does not hold exactly one valid structured communication."""
    if not text:
        return None
    compact = _SEPARATORS.sub("", text)
    if len(compact) == 12 and compact.isdigit():
        return compact if is_valid(compact) else None
    found = {"".join(match.groups()) for match in _MARKED.finditer(text)}
    if len(found) != 1:
        return None
    digits = found.pop()
    return digits if is_valid(digits) else None
