"""Checks decided first on whole-file bounds (one reference month, latest event date) still find every
offending row when the bounds say rows may fail."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from detection.validation import ExtractRejected, validate_extract
from tests.detection.conftest import WriteExtract, valid_frame


def _rejection(
    frame: pl.DataFrame, extract_file: WriteExtract, shape: str
) -> dict[str, tuple[int, tuple[int, ...]]]:
    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame, shape))
    return {p.code: (p.rows, p.first_rows) for p in caught.value.problems}


@pytest.mark.parametrize("shape", ["parquet", "csv"])
def test_a_month_not_on_the_first_day_is_found_among_several_months(
    extract_file: WriteExtract, shape: str
) -> None:
    months = [dt.date(2024, 3, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 15), dt.date(2024, 3, 1), None]
    frame = valid_frame().with_columns(pl.Series("mois_reference", months, pl.Date))

    found = _rejection(frame, extract_file, shape)

    assert found["mois_pas_premier_jour"] == (1, (3,))
    assert found["mois_reference_multiples"] == (1, (3,))
    assert found["valeur_manquante"] == (1, (5,))


@pytest.mark.parametrize("shape", ["parquet", "csv"])
def test_an_event_after_its_own_month_is_found_when_a_later_month_is_in_the_file(
    extract_file: WriteExtract, shape: str
) -> None:
    months = [
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 1),
        dt.date(2024, 4, 1),
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 1),
    ]
    frame = valid_frame().with_columns(
        pl.Series("mois_reference", months, pl.Date),
        # Row 2's event is in April, after its own month (March) but not after the file's latest month.
        pl.Series("date_evenement", [None, dt.date(2024, 4, 10), None, dt.date(2024, 3, 31), None], pl.Date),
    )

    found = _rejection(frame, extract_file, shape)

    assert found["date_evenement_posterieure"] == (1, (2,))
    assert "mois_pas_premier_jour" not in found
