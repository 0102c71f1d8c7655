"""Vectorised French formatting of values for the explanation sentences (Python only for rare rows)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial

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
# Where the last digits' table holds `MISSING`, after its 2,000 digit texts.
MISSING_LAST = 2000


def french_integer(expr: pl.Expr) -> pl.Expr:
    """A number rounded to the unit with spaces between thousands: 1020.4 → "1 020", -3 → "-3".

    An empty value, an infinity or NaN gives null (shown as `MISSING` by `display`): casting them
    to an integer would raise and stop the whole run.
    """
    value, inside, leading, last = _integer_indices(expr)
    signs_and_thousands, last_digits = _tables()
    tabled = pl.concat_str([pl.lit(signs_and_thousands).gather(leading), pl.lit(last_digits).gather(last)])
    outside: pl.Expr = pl.when(~inside).then(value)
    large = outside.map_batches(_large_integers, return_dtype=pl.String, is_elementwise=True)
    return pl.coalesce(tabled, large)


def _integer_indices(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """The integer value of `expr`, whether it is inside the tables, and its two positions in them
    (the first null outside)."""
    # A non-strict cast turns an empty value, an infinity or NaN into null at no extra cost
    # (measured: a `when(is_finite)` guard made every explanation slower).
    value = expr.round(0).cast(pl.Int64, strict=False)
    magnitude = value.abs()
    inside = magnitude < TABLE_LIMIT
    thousands = magnitude // 1000
    leading = pl.when(inside).then(thousands + pl.when(value < 0).then(1000).otherwise(0))
    last = magnitude % 1000 + pl.when(thousands > 0).then(1000).otherwise(0)
    return value, inside, leading, last


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
    last three digits (alone "7", then after thousands "007"), then `MISSING` (at `MISSING_LAST`)."""
    thousands = ["", *(f"{k} " for k in range(1, 1000))]
    signs_and_thousands = pl.Series([*thousands, *(f"-{text}" for text in thousands)], dtype=pl.String)
    last_digits = pl.Series([*(str(k) for k in range(1000)), *(f"{k:03d}" for k in range(1000)), MISSING])
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


# A piece of a sentence: a literal text, or a value and its type.
Piece = str | tuple[pl.Expr, Type]


def sentence(pieces: Sequence[Piece]) -> pl.Expr:
    """The concatenation of `pieces`, each value written by `display`.

    Whole numbers go straight into the sentence from the tables, an empty one as `MISSING`, with no
    text of the number alone in between. A sentence with a number outside the tables (a million or
    more) is then empty: those sentences alone are written again, by `display`, in one Python call
    per batch that holds any. (Measured at 14M households: a fallback per number, `pl.coalesce`
    with the large ones' texts, computed for every row, cost 0.6 s of the national run.)
    """
    signs_and_thousands, last_digits = _tables()
    fast: list[pl.Expr] = []
    values: list[pl.Expr] = []
    exact: list[pl.Expr] = []
    for piece in pieces:
        if isinstance(piece, str):
            fast.append(pl.lit(piece))
            exact.append(pl.lit(piece))
            continue
        expr, kind = piece
        column = f"__valeur_{len(values)}"
        values.append(expr.alias(column))
        exact.append(display(pl.col(column), kind))
        if kind.kind == "nombre" and kind.decimals <= 0:
            value, _, leading, last = _integer_indices(expr)
            empty = value.is_null()
            fast.append(pl.lit(signs_and_thousands).gather(pl.when(empty).then(0).otherwise(leading)))
            fast.append(pl.lit(last_digits).gather(pl.when(empty).then(MISSING_LAST).otherwise(last)))
        else:
            fast.append(display(expr, kind))
    if not values:
        return pl.concat_str(fast) if fast else pl.lit("")
    watched = pl.struct(pl.concat_str(fast).alias("__texte"), *values)
    return watched.map_batches(
        partial(_rewrite_large, pl.concat_str(exact)), return_dtype=pl.String, is_elementwise=True
    )


def _rewrite_large(exact: pl.Expr, batch: pl.Series) -> pl.Series:
    """The batch's sentences, those left empty (a number outside the tables) written by `exact`."""
    texts = batch.struct.field("__texte")
    empty = texts.is_null()
    if not empty.any():
        return texts
    rows = batch.struct.unnest().filter(empty)
    return texts.scatter(empty.arg_true(), rows.select(exact).to_series())
