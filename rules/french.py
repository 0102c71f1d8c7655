"""French writing of numbers and dates in plain Python, for texts shown one at a time.

Kept apart from `rules.formatting` (the same writing as polars expressions, for whole columns) so
that a command printing a month or a count does not import polars.
"""

from __future__ import annotations

import datetime as dt

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
