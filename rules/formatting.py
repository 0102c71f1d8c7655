"""Vectorised French formatting of values for the explanation sentences (no Python per row)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import polars as pl

from rules.types import Type

MISSING = "non renseigné"


# Integers strictly between -TABLE_LIMIT and TABLE_LIMIT are formatted by a lookup in a table of
# their texts (a gather, as cheap as a plain cast: measured five times faster than composing the
# text for each row); larger ones, rare in amounts, are composed.
TABLE_LIMIT = 100_000


def french_integer(expr: pl.Expr) -> pl.Expr:
    """A number rounded to the unit with spaces between thousands: 1020.4 → "1 020", -3 → "-3"."""
    value = expr.round(0).cast(pl.Int64)
    inside = value.abs() < TABLE_LIMIT
    looked_up = pl.lit(_formatted_range()).gather(pl.when(inside).then(value + (TABLE_LIMIT - 1)))
    return pl.coalesce(looked_up, _grouped_integer(pl.when(~inside).then(value)))


@cache
def _formatted_range() -> pl.Series:
    """The texts of the integers from -TABLE_LIMIT + 1 to TABLE_LIMIT - 1, in order."""
    integers = pl.int_range(-TABLE_LIMIT + 1, TABLE_LIMIT, dtype=pl.Int64)
    return pl.select(_grouped_integer(integers).alias("texte")).to_series()


def _grouped_integer(expr: pl.Expr) -> pl.Expr:
    """The text of `french_integer`, computed with integer arithmetic and string pieces.

    Built from pieces that are null where they do not apply (sign, leading groups), joined with
    `ignore_nulls`: each row formats its groups once (measured 20 % faster than choosing between
    whole formatted alternatives, which polars computes for every row).
    """
    value = expr.round(0).cast(pl.Int64)
    magnitude = value.abs()
    thousands = magnitude // 1000
    leading = (
        pl.when(magnitude >= 1_000_000)
        .then(
            pl.concat_str(
                [
                    (magnitude // 1_000_000).cast(pl.String),
                    pl.lit(" "),
                    (thousands % 1000).cast(pl.String).str.zfill(3),
                    pl.lit(" "),
                ]
            )
        )
        .when(magnitude >= 1000)
        .then(pl.concat_str([thousands.cast(pl.String), pl.lit(" ")]))
    )
    units = (magnitude % 1000).cast(pl.String)
    last = pl.when(magnitude >= 1000).then(units.str.zfill(3)).otherwise(units)
    sign = pl.when(value < 0).then(pl.lit("-"))
    return pl.when(value.is_not_null()).then(pl.concat_str([sign, leading, last], ignore_nulls=True))


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
