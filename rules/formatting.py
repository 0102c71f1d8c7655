"""Vectorised French formatting of values for the explanation sentences (no Python per row)."""

from __future__ import annotations

import polars as pl

from rules.types import Type

MISSING = "non renseigné"


def french_integer(expr: pl.Expr) -> pl.Expr:
    """A number rounded to the unit with spaces between thousands: 1020.4 → "1 020", -3 → "-3"."""
    value = expr.round(0).cast(pl.Int64)
    magnitude = value.abs()
    units = (magnitude % 1000).cast(pl.String)
    thousands = ((magnitude // 1000) % 1000).cast(pl.String)
    millions = (magnitude // 1_000_000).cast(pl.String)
    body = (
        pl.when(magnitude >= 1_000_000)
        .then(pl.concat_str([millions, pl.lit(" "), thousands.str.zfill(3), pl.lit(" "), units.str.zfill(3)]))
        .when(magnitude >= 1000)
        .then(pl.concat_str([(magnitude // 1000).cast(pl.String), pl.lit(" "), units.str.zfill(3)]))
        .otherwise(units)
    )
    return pl.when(value < 0).then(pl.concat_str([pl.lit("-"), body])).otherwise(body)


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
