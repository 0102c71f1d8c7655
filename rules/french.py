"""French writing of numbers and dates in plain Python, for texts shown one at a time.

Kept apart from `rules.formatting` (the same writing as polars expressions, for whole columns) so
that a command printing a month or a count does not import polars.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# A number's groups of thousands (`1 048`, `12 345 678`), not a year followed by an amount (`2024 500`).
_GROUPED = re.compile(r"(?<![\d,])\d{1,3}(?: \d{3})+(?![\d])")
_BEFORE_EURO = re.compile(r"(?<=\d) (?=€)")


def french_month(day: dt.date) -> str:
    """`2025-06-01` → `juin 2025`."""
    return f"{MONTHS_FR[day.month - 1]} {day.year}"


def french_date(day: dt.date) -> str:
    """`2026-03-10` → `10 mars 2026`."""
    return f"{day.day} {french_month(day)}"


def french_decimal(number: float, decimals: int = 2) -> str:
    """`1234.5` → `1 234,5`: at most `decimals` decimals, trailing zeros dropped."""
    text = f"{number:,.{decimals}f}".replace(",", " ").replace(".", ",")
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return "0" if text == "-0" else text


def french_euros(number: float) -> str:
    """An amount in euros: whole `10`, else to the cent `454,10` (never `454,1`); no sign `€`."""
    if number == int(number):
        return french_decimal(number, 0)
    return f"{number:,.2f}".replace(",", " ").replace(".", ",")


def unbreakable_numbers(text: str | None) -> str:
    """A text written with ordinary spaces (`1 048 € par mois`: explanations, SMS) as a web page or a
    letter shows it: the spaces between a number's groups of thousands made narrow no-break spaces, the
    one before `€` a no-break space, so that a line never breaks inside an amount. None → ''.

    Never for an SMS: these spaces are not in the GSM 7-bit alphabet, and one of them would make the
    whole message UCS-2 (70 characters a part instead of 160)."""
    if not text:
        return ""
    grouped = _GROUPED.sub(lambda number: number.group().replace(" ", "\u202f"), text)
    return _BEFORE_EURO.sub("\u00a0", grouped)
