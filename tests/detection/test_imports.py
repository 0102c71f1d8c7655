"""Import records: every validation, accepted or rejected, kept with what was found (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from detection.imports import ImportRecord, imports_of, record_import
from detection.validation import ExtractRejected, validate_extract
from tests.detection.conftest import MOIS, WriteExtract, valid_frame
from uptake.db import transaction


def test_an_accepted_extract_is_recorded_with_its_hash_rows_month_and_dropped_columns(
    engine: Engine, extract_file: WriteExtract
) -> None:
    path = extract_file(valid_frame().with_columns(segment=0), "csv_fr")
    extract = validate_extract(path)

    with transaction(engine) as session:
        import_id = record_import(session, extract)

    with transaction(engine) as session:
        record = session.get(ImportRecord, import_id)
        assert record is not None
        assert (record.outcome, record.file_format, record.row_count) == ("accepte", "csv", 5)
        assert record.mois_reference == MOIS
        assert record.content_hash == extract.content_hash
        assert record.file_path == str(path)
        assert record.dropped_columns == ["segment"]
        assert record.problems == []
        assert record.started_at <= record.finished_at


def test_a_rejection_is_recorded_with_every_problem(engine: Engine, extract_file: WriteExtract) -> None:
    frame = valid_frame().drop("loyer").with_columns(age_allocataire=200)
    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    with transaction(engine) as session:
        import_id = record_import(session, caught.value)

    with transaction(engine) as session:
        record = session.get(ImportRecord, import_id)
        assert record is not None
        assert record.outcome == "rejete"
        assert record.row_count == 5
        assert record.problems == [
            {
                "column": "age_allocataire",
                "code": "hors_bornes",
                "message": "valeurs hors de l'intervalle 0 à 120",
                "rows": 5,
                "first_rows": [1, 2, 3, 4, 5],
            },
            {
                "column": "loyer",
                "code": "colonne_manquante",
                "message": "colonne obligatoire absente du fichier",
                "rows": 0,
                "first_rows": [],
            },
        ]
        assert isinstance(record.finished_at, dt.datetime)


def test_a_missing_file_is_recorded_rejected_without_hash(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ExtractRejected) as caught:
        validate_extract(tmp_path / "absent.csv")

    with transaction(engine) as session:
        import_id = record_import(session, caught.value)
        record = session.get(ImportRecord, import_id)
        assert record is not None
        assert (record.outcome, record.content_hash, record.row_count) == ("rejete", None, None)


def test_imports_of_the_same_bytes_are_listed_oldest_first(
    engine: Engine, extract_file: WriteExtract
) -> None:
    extract = validate_extract(extract_file())
    with transaction(engine) as session:
        first = record_import(session, extract)
        second = record_import(session, validate_extract(extract.path))

    with transaction(engine) as session:
        assert [r.id for r in imports_of(session, extract.content_hash)] == [first, second]
        assert session.scalars(select(ImportRecord.outcome)).all() == ["accepte", "accepte"]
