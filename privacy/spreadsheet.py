"""Text that a spreadsheet would run as a formula, made inert (CSV and formula injection).

Every CSV or spreadsheet uptake writes may be opened in Excel or LibreOffice, and some of their text
comes from outside: names and addresses of the contact directory, notes and reasons typed in the web
application. A cell starting with `=`, `+`, `-` or `@` is a formula there (`=HYPERLINK(…)` can send
the row's phone number away on a click), so such text is written with a leading apostrophe, the
spreadsheets' own mark for "this is text" (OWASP's advice). A signed number (`+33 6 12 34 56 78`,
`-12,5`) is not a formula and is kept as it is: the SMS provider reads the numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import TextIO

import polars as pl

_FORMULA = r"^[=@\t\r]|^[+-]"
_SIGNED_NUMBER = r"^[+-][\d\s.,]*$"
_SIGNED_NUMBER_RE = re.compile(_SIGNED_NUMBER)
_STARTS = ("=", "@", "\t", "\r", "+", "-")


def inert(text: str) -> str:
    """`text` as a spreadsheet shows it without running it: a leading `'` where it would be a formula."""
    if text.startswith(_STARTS) and not _SIGNED_NUMBER_RE.match(text):
        return f"'{text}"
    return text


def inert_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `frame` made inert (see `inert`); other columns unchanged."""
    texts = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    if not texts:
        return frame
    return frame.with_columns(
        pl.when(
            pl.col(name).cast(pl.String).str.contains(_FORMULA)
            & ~pl.col(name).cast(pl.String).str.contains(_SIGNED_NUMBER)
        )
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in texts
    )


class InertWriter:
    """A French CSV writer (`;`, one line per row) whose text cells are made inert (see `inert`)."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, delimiter=";", lineterminator="\n")

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row, its text cells made inert."""
        self._writer.writerow(inert(cell) if isinstance(cell, str) else cell for cell in row)
