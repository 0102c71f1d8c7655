"""Vectorised French formatting of values for the explanation sentences (Python only for rare rows)."""

from __future__ import annotations

from functools import cache

import polars as pl

from rules.types import Type

# An empty value (a missing column, a division by zero, a key outside a table) in an explanation:
# the same dash as everywhere else in the French texts (`uptake/french.py`).
MISSING = "—"


# Integers strictly between -TABLE_LIMIT and TABLE_LIMIT are written from two small tables (the
# sign and thousands, then the last three digits): two gathers and a concatenation. Larger ones,
# rare in amounts, are formatted by Python on those rows only: polars computes every branch of an
# expression on every row. (Measured at 2M households: one table of the 200,000 texts cost 0.4 s
# more, polars handling the large literal on every batch; composing every number from its digit
# groups cost as much.)
TABLE_LIMIT = 1_000_000


def french_integer(expr: pl.Expr) -> pl.Expr:
    """A number rounded to the unit with spaces between thousands: 1020.4 → "1 020", -3 → "-3".

    An empty value, an infinity or NaN gives null (shown as `MISSING` by `display`): casting them
    to an integer would raise and stop the whole run.
    """
    # A non-strict cast turns those into null at no extra cost (measured: a `when(is_finite)`
    # guard made every explanation slower).
    value = expr.round(0).cast(pl.Int64, strict=False)
    magnitude = value.abs()
    inside = magnitude < TABLE_LIMIT
    thousands = magnitude // 1000
    leading = pl.when(inside).then(thousands + pl.when(value < 0).then(1000).otherwise(0))
    last = magnitude % 1000 + pl.when(thousands > 0).then(1000).otherwise(0)
    signs_and_thousands, last_digits = _tables()
    tabled = pl.concat_str([pl.lit(signs_and_thousands).gather(leading), pl.lit(last_digits).gather(last)])
    outside: pl.Expr = pl.when(~inside).then(value)
    large = outside.map_batches(_large_integers, return_dtype=pl.String, is_elementwise=True)
    return pl.coalesce(tabled, large)


def french_number(expr: pl.Expr, decimals: int = 0) -> pl.Expr:
    """A number with at most `decimals` decimals after a comma, trailing zeros dropped:
    1.5 → "1,5", 2.0 → "2", 1234.25 (2) → "1 234,25"; null when empty, infinite or NaN.

    With no decimals this is `french_integer`, its table fast path untouched: most numbers shown
    are whole euros. The decimal part is only computed for the rare values kept by `arrondi(x, n)`.
    """
    if decimals <= 0:
        return french_integer(expr)
    scale = 10**decimals
    scaled = (expr * scale).round(0).cast(pl.Int64, strict=False)
    magnitude = scaled.abs()
    fraction = (magnitude % scale).cast(pl.String).str.zfill(decimals).str.strip_chars_end("0")
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = french_integer(magnitude // scale)
    decimal_part = pl.when(magnitude % scale != 0).then(pl.lit(",") + fraction).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, decimal_part])


def _grouped(number: int) -> str:
    return f"{number:,}".replace(",", " ")


@cache
def _tables() -> tuple[pl.Series, pl.Series]:
    """The sign and thousands of a number below a million ("", "1 ", … then "-", "-1 ", …), and its
    last three digits (alone "7", then after thousands "007")."""
    thousands = ["", *(f"{k} " for k in range(1, 1000))]
    signs_and_thousands = pl.Series([*thousands, *(f"-{text}" for text in thousands)], dtype=pl.String)
    last_digits = pl.Series([*(str(k) for k in range(1000)), *(f"{k:03d}" for k in range(1000))])
    return signs_and_thousands, last_digits


def _large_integers(values: pl.Series) -> pl.Series:
    """The texts of the non-null values of a batch (the integers outside the tables), null elsewhere."""
    if values.null_count() == len(values):
        return pl.repeat(None, len(values), dtype=pl.String, eager=True)
    return values.map_elements(_grouped, return_dtype=pl.String, skip_nulls=True)


def display(expr: pl.Expr, kind: Type) -> pl.Expr:
    """The French text of a value of type `kind`; `MISSING` (« — ») when empty or not computable."""
    if kind.kind == "nombre":
        text = french_number(expr, kind.decimals)
    elif kind.kind == "booleen":
        text = pl.when(expr).then(pl.lit("oui")).when(expr.not_()).then(pl.lit("non")).otherwise(None)
    elif kind.kind == "date":
        text = expr.dt.strftime("%d/%m/%Y")
    else:
        text = expr.cast(pl.String)
    return text.fill_null(MISSING)
