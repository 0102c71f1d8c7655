"""Vectorised French formatting of values for the explanation sentences (Python only for rare rows)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from rules.types import Type

MISSING = "non renseigné"


# Integers strictly between -TABLE_LIMIT and TABLE_LIMIT are formatted by a lookup in a table of
# their texts (a gather, as cheap as a plain cast). Larger ones, rare in amounts, are formatted by
# Python on those rows only: polars computes every branch of an expression on every row, and the
# earlier vectorised composition of large numbers took 85 % of the formatting time of all rows.
TABLE_LIMIT = 100_000


def french_integer(expr: pl.Expr) -> pl.Expr:
    """A number rounded to the unit with spaces between thousands: 1020.4 → "1 020", -3 → "-3"."""
    value = expr.round(0).cast(pl.Int64)
    inside = value.abs() < TABLE_LIMIT
    looked_up = pl.lit(_formatted_range()).gather(pl.when(inside).then(value + (TABLE_LIMIT - 1)))
    outside: pl.Expr = pl.when(~inside).then(value)
    large = outside.map_batches(_large_integers, return_dtype=pl.String, is_elementwise=True)
    return pl.coalesce(looked_up, large)


def _grouped(number: int) -> str:
    return f"{number:,}".replace(",", " ")


@cache
def _formatted_range() -> pl.Series:
    """The texts of the integers from -TABLE_LIMIT + 1 to TABLE_LIMIT - 1, in order."""
    return pl.Series("texte", [_grouped(n) for n in range(-TABLE_LIMIT + 1, TABLE_LIMIT)], dtype=pl.String)


def _large_integers(values: pl.Series) -> pl.Series:
    """The texts of the non-null values of a batch (the integers outside the table), null elsewhere."""
    if values.null_count() == len(values):
        return pl.repeat(None, len(values), dtype=pl.String, eager=True)
    return values.map_elements(_grouped, return_dtype=pl.String, skip_nulls=True)


def display(expr: pl.Expr, kind: Type) -> pl.Expr:
    """The French text of a value of type `kind`; `non renseigné` when null."""
    if kind.kind == "nombre":
        text = french_integer(expr)
    elif kind.kind == "booleen":
        text = pl.when(expr).then(pl.lit("oui")).when(expr.not_()).then(pl.lit("non")).otherwise(None)
    elif kind.kind == "date":
        text = expr.dt.strftime("%d/%m/%Y")
    else:
        text = expr.cast(pl.String)
    return text.fill_null(MISSING)


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
