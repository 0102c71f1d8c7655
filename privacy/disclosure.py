"""Disclosure control: the one function every published aggregate goes through.

Primary suppression hides every count from 1 to `threshold - 1` (zeros too with `suppress_zeros`).
Secondary suppression protects them from the margins: the table is assumed to be published with its
row totals (sum of the count columns) and column totals (sum over the rows), so a row or a column with
exactly one hidden cell would give it away by subtraction; the next smallest cell of that row or column
is hidden too, and this is repeated until no row or column has exactly one hidden cell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import polars as pl

from privacy.errors import PrivacyError, located

DEFAULT_THRESHOLD = 11
THRESHOLD_ENV = "UPTAKE_SEUIL_SECRET"


class ThresholdInvalid(PrivacyError):
    """The configured disclosure threshold is not a whole number of at least 1."""

    def __init__(self, written: str) -> None:
        super().__init__(
            located(
                THRESHOLD_ENV,
                None,
                f"« {written} » n'est pas un seuil de secret statistique",
                f"donnez un nombre entier d'au moins 1 (par défaut {DEFAULT_THRESHOLD})",
            )
        )


def configured_threshold(environ: Mapping[str, str] | None = None) -> int:
    """The threshold the Caf set for every published figure (`UPTAKE_SEUIL_SECRET`), else the default:
    the web pages, `uptake report` and the scheduled report publish the same cells."""
    written = (os.environ if environ is None else environ).get(THRESHOLD_ENV, "").strip()
    if not written:
        return DEFAULT_THRESHOLD
    if not (written.isascii() and written.isdigit()) or int(written) < 1:
        raise ThresholdInvalid(written)
    return int(written)


def _smallest_other(
    values: dict[tuple[int, int], int], cells: Sequence[tuple[int, int]], hidden: set[tuple[int, int]]
) -> tuple[int, int] | None:
    candidates = [cell for cell in cells if cell not in hidden and cell in values]
    return min(candidates, key=lambda cell: (values[cell], cell)) if candidates else None


def suppression_mask(
    frame: pl.DataFrame,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    margins: bool = True,
    suppress_zeros: bool = False,
) -> set[tuple[int, str]]:
    """The cells (row index, column name) that `suppress_small_counts` hides."""
    missing = [c for c in count_columns if c not in frame.columns]
    if missing:
        raise PrivacyError(f"colonnes de comptage absentes du tableau : {', '.join(missing)}")
    if threshold < 1:
        raise PrivacyError(f"seuil de secret statistique invalide ({threshold}) : donnez un entier ≥ 1")
    values: dict[tuple[int, int], int] = {}
    for j, name in enumerate(count_columns):
        for i, value in enumerate(frame.get_column(name).to_list()):
            if value is not None:
                values[(i, j)] = int(value)
    low = 0 if suppress_zeros else 1
    hidden = {cell for cell, value in values.items() if low <= value < threshold}
    rows = [[(i, j) for j in range(len(count_columns))] for i in range(frame.height)]
    columns = [[(i, j) for i in range(frame.height)] for j in range(len(count_columns))]
    lines = (rows if len(count_columns) > 1 else []) + (columns if frame.height > 1 else [])
    changed = margins
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) == 1:
                extra = _smallest_other(values, line, hidden)
                if extra is not None:
                    hidden.add(extra)
                    changed = True
    return {(i, count_columns[j]) for i, j in hidden}


def suppress_small_counts(
    frame: pl.DataFrame,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    margins: bool = True,
    suppress_zeros: bool = False,
) -> pl.DataFrame:
    """`frame` with small counts (and what would reveal them through the margins) set to null.

    `frame` holds one row per category (e.g. per commune) and no total row or column; `count_columns`
    are the published counts. Null means "secret statistique". Other columns (labels, means computed
    elsewhere) are left as they are: a mean over a hidden group must be hidden by its producer.
    """
    mask = suppression_mask(frame, count_columns, threshold, margins=margins, suppress_zeros=suppress_zeros)
    if not mask:
        return frame
    index = pl.int_range(pl.len())
    updates = []
    for name in count_columns:
        rows = sorted(i for i, column in mask if column == name)
        updates.append(pl.when(index.is_in(rows)).then(None).otherwise(pl.col(name)).alias(name))
    return frame.with_columns(updates)
