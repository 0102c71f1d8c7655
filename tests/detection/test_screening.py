"""A screened extract: its rows checked by the query that reads them, with the same verdict and report
as the full validation, whichever way the file breaks the contract."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from detection import validation
from detection.contract import HOUSEHOLD_COLUMNS
from detection.validation import ExtractRejected, ValidatedExtract, screen_extract, validate_extract
from tests.detection.conftest import WriteExtract, valid_frame, write_extract
from tests.detection.test_validation import CASES, Case

COLUMNS = [c.name for c in HOUSEHOLD_COLUMNS]


Mutation = Callable[[pl.DataFrame], pl.DataFrame]


def _screened_verdict(path: Path) -> ValidatedExtract:
    """Screen, read every row through the screened scan (as a detection does), then conclude."""
    screened = screen_extract(path)
    screened.scan(COLUMNS).collect()
    return screened.conclude()


def test_a_valid_parquet_extract_is_concluded_from_the_rows_read_once(extract_file: WriteExtract) -> None:
    path = extract_file()
    screened = screen_extract(path)
    rows = screened.scan(COLUMNS).collect()

    concluded = screened.conclude()
    expected = validate_extract(path)
    assert rows.equals(expected.scan().collect())
    assert (concluded.rows, concluded.mois_reference, concluded.content_hash) == (
        expected.rows,
        expected.mois_reference,
        expected.content_hash,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_contract_breach_gets_the_full_validation_report(
    case: Case, extract_file: WriteExtract
) -> None:
    path = extract_file(case.mutate(valid_frame()), case.shape)
    with pytest.raises(ExtractRejected) as full:
        validate_extract(path)

    with pytest.raises(ExtractRejected) as screened:
        _screened_verdict(path)

    assert screened.value.report() == full.value.report()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(
            lambda f: f.with_columns(id_foyer=pl.lit("foyer_000000000001")), id="pseudonymes_doubles"
        ),
        pytest.param(
            lambda f: f.with_columns(
                mois_reference=pl.Series([dt.date(2024, 3, 1)] * 4 + [dt.date(2024, 4, 1)])
            ),
            id="deux_mois",
        ),
        pytest.param(
            lambda f: f.with_columns(date_evenement=pl.Series([None, dt.date(2030, 1, 1), None, None, None])),
            id="evenement_futur",
        ),
        pytest.param(
            lambda f: f.with_columns(date_evenement=pl.Series([None, dt.date(2024, 4, 1), None, None, None])),
            id="evenement_le_premier_du_mois_suivant",
        ),
        pytest.param(
            lambda f: f.with_columns(mois_reference=pl.Series([None, *[dt.date(2024, 3, 1)] * 4])),
            id="premier_mois_manquant",
        ),
    ],
)
def test_file_level_breaches_found_across_rows_are_rejected(
    mutate: Mutation, extract_file: WriteExtract
) -> None:
    path = extract_file(mutate(valid_frame()))
    with pytest.raises(ExtractRejected) as full:
        validate_extract(path)
    with pytest.raises(ExtractRejected) as screened:
        _screened_verdict(path)
    assert screened.value.report() == full.value.report()


def test_an_event_on_the_last_day_of_the_reference_month_is_accepted_from_the_one_read(
    extract_file: WriteExtract, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "_validated", lambda *_a, **_k: pytest.fail("read a second time"))
    frame = valid_frame()
    assert frame["mois_reference"][0] == dt.date(2024, 3, 1)
    last_day = pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(dt.date(2024, 3, 31)))
    frame = frame.with_columns(date_evenement=last_day.otherwise(pl.col("date_evenement")))
    assert _screened_verdict(extract_file(frame)).rows == frame.height


def test_a_breach_shown_by_the_columns_statistics_is_rejected_before_any_row_is_read(
    extract_file: WriteExtract,
) -> None:
    ages = pl.Series([30, 30, 30, 30, 130], dtype=pl.Int32)
    with pytest.raises(ExtractRejected, match="age_allocataire"):
        screen_extract(extract_file(valid_frame().with_columns(age_allocataire=ages)))


def test_a_query_that_did_not_read_every_row_leaves_the_verdict_to_the_full_validation(
    extract_file: WriteExtract,
) -> None:
    frame = valid_frame()
    communes = ["04088", "04088", "04088", "04088", "99999"]  # the fifth is in no commune reference
    bad = extract_file(frame.with_columns(code_commune=pl.Series(communes)))
    screened = screen_extract(bad)
    screened.scan(COLUMNS).head(2).collect()  # the failing fifth row may never have been read
    with pytest.raises(ExtractRejected, match="code_commune"):
        screened.conclude()

    good = screen_extract(extract_file(frame))
    good.scan(COLUMNS).head(2).collect()
    assert good.conclude().rows == 5


def test_a_query_that_failed_on_a_valid_file_does_not_make_the_file_rejected(
    extract_file: WriteExtract,
) -> None:
    # An error of the rules' evaluation (not of the file): the extract is validated in full and
    # accepted, so that the run can blame the rules instead of asking for a new export.
    screened = screen_extract(extract_file(valid_frame()))
    with pytest.raises(pl.exceptions.PolarsError):
        screened.scan(COLUMNS).select(pl.col("loyer").cast(pl.Int8, strict=True)).collect()
    assert screened.conclude(read_failed=True).rows == 5


def test_a_file_damaged_inside_its_pages_gets_a_verdict_never_an_unexpected_error(tmp_path: Path) -> None:
    frame = pl.concat([valid_frame()] * 2000).with_columns(
        id_foyer=pl.format("foyer_{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(12))
    )
    data = write_extract(frame, tmp_path / "sain.parquet").read_bytes()
    read_failures = 0
    for seed in range(40):
        damaged, chance = bytearray(data), random.Random(seed)
        at = chance.randrange(8, len(damaged) - 2000)  # the footer (schema, statistics) stays readable
        damaged[at : at + 64] = chance.randbytes(64)
        path = tmp_path / f"abime-{seed}.parquet"
        path.write_bytes(bytes(damaged))
        try:
            screened = screen_extract(path)
        except ExtractRejected:
            continue
        try:
            screened.scan(COLUMNS).collect()
        except pl.exceptions.PolarsError:
            read_failures += 1
            with pytest.raises(ExtractRejected):  # what the rules could not read is rejected
                screened.conclude(read_failed=True)
            continue
        with contextlib.suppress(ExtractRejected):  # a verdict either way
            screened.conclude()
    assert read_failures  # the damage reached the pages the query reads
