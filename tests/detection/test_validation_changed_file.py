"""A file that changes while it is validated is refused under the hash of the content refused, or under no
hash (and the report says why) when that content cannot be told: never under another content's hash."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from detection import validation
from detection.contract import HOUSEHOLD_COLUMNS
from detection.reading import file_identity
from detection.validation import ExtractRejected, Problem, screen_extract, validate_extract
from tests.detection.conftest import WriteExtract, valid_frame, write_extract

COLUMNS = [c.name for c in HOUSEHOLD_COLUMNS]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite(path: Path, frame: pl.DataFrame) -> None:
    """Write `frame` over `path`, with another size than the file had: its identity changes even when
    the file system's clock is too coarse to move its modification time between two writes."""
    before = path.stat().st_size
    write_extract(frame, path)
    assert path.stat().st_size != before


def _bad_status(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit("chateau").alias("statut_logement"))


def test_a_file_rewritten_after_its_screening_is_refused_under_the_hash_of_its_new_content(
    extract_file: WriteExtract,
) -> None:
    path = extract_file()
    first = _sha256(path)
    screened = screen_extract(path)
    # Another copy lands over the file before the detection reads its rows.
    _rewrite(path, _bad_status(valid_frame()))
    screened.scan(COLUMNS).collect()

    with pytest.raises(ExtractRejected) as refused:
        screened.conclude()

    assert refused.value.content_hash == _sha256(path) != first
    assert refused.value.changed
    report = refused.value.report()
    assert "(valeur_inconnue)" in report and "ce rapport porte sur son nouveau contenu" in report


def test_a_file_refused_as_it_was_opened_carries_its_hash_and_no_note(extract_file: WriteExtract) -> None:
    path = extract_file(_bad_status(valid_frame()))

    with pytest.raises(ExtractRejected) as refused:
        validate_extract(path)

    assert refused.value.content_hash == _sha256(path)
    assert not refused.value.changed and refused.value.changed_note is None
    assert "a changé pendant sa validation" not in refused.value.report()


def test_a_file_changed_after_the_read_that_refused_it_is_refused_under_no_hash(
    extract_file: WriteExtract,
) -> None:
    path = extract_file()
    _, rejected = validation._open(path, None)
    # The deciding read began on one content; the file changed again before the verdict was built.
    deciding = replace(rejected, reading=file_identity(path))
    _rewrite(path, valid_frame().head(3))

    refused = deciding([Problem("statut_logement", "valeur_inconnue", "valeurs hors de la liste", 1, (2,))])

    assert refused.content_hash is None and refused.changed
    report = refused.report()
    assert "le contenu refusé ne peut pas être identifié, aucune empreinte n'est enregistrée" in report
    assert "une fois sa copie terminée" in report


def test_a_file_changed_since_its_opening_whose_columns_decided_the_refusal_is_refused_under_no_hash(
    extract_file: WriteExtract,
) -> None:
    path = extract_file(valid_frame().drop("percoit_rsa"))
    _, rejected = validation._open(path, None)
    # Problems of the columns come from the opening: a later content cannot be the one refused.
    _rewrite(path, valid_frame())

    refused = rejected([Problem("percoit_rsa", "colonne_manquante", "colonne obligatoire absente", 0, ())])

    assert refused.content_hash is None and refused.changed
