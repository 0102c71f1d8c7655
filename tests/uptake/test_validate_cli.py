"""`uptake validate FILE` through the real command: exit codes, French reports, every run recorded."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from detection.imports import ImportRecord
from tests.detection.conftest import to_text, valid_frame, write_extract
from uptake.db import make_engine, transaction


def _outcomes(home: Path) -> list[tuple[str, str]]:
    """(file name, outcome) of every import recorded in the test's SQLite database."""
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    try:
        with transaction(engine) as session:
            rows = session.execute(
                select(ImportRecord.file_path, ImportRecord.outcome).order_by(ImportRecord.id)
            )
            return [(Path(path).name, outcome) for path, outcome in rows]
    finally:
        engine.dispose()


def test_a_valid_french_csv_is_accepted_summarised_and_recorded(
    cli: Any, uptake_home: Path, tmp_path: Path
) -> None:
    path = write_extract(valid_frame().with_columns(segment=1), tmp_path / "mars.csv", "csv_fr")

    result = cli("validate", str(path))

    assert result.code == 0, result.output
    assert "Extrait valide : mars.csv" in result.stdout
    assert "foyers : 5" in result.stdout
    assert "mars 2024 (2024-03-01)" in result.stdout
    assert "`segment`" in result.stdout
    assert "Traceback" not in result.output
    assert _outcomes(uptake_home) == [("mars.csv", "accepte")]


def _broken_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files that each break the contract in one way, with the column (or word) the report must name.

    A representative set (each CLI run costs a process start): every rejection kind is covered
    through `validate_extract` in tests/detection."""
    frame = valid_frame()
    files = {
        "colonne_manquante": (
            write_extract(frame.drop("zone_logement"), tmp_path / "a.parquet"),
            "zone_logement",
        ),
        "telephone": (
            write_extract(
                frame.with_columns(pl.Series("note", ["", "06 11 22 33 44", "", "", ""])),
                tmp_path / "b.csv",
                "csv",
            ),
            "note",
        ),
    }
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        to_text(frame, french=True)
        .with_columns(note=pl.lit("réglé"))
        .write_csv(separator=";")
        .encode("latin-1")
    )
    files["latin1"] = (latin, "UTF-8")
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    files["vide"] = (empty, "vide")
    truncated = write_extract(frame, tmp_path / "tronque.parquet")
    truncated.write_bytes(truncated.read_bytes()[:300])
    files["tronque"] = (truncated, "Parquet")
    junk = tmp_path / "binaire.parquet"
    junk.write_bytes(random.Random(1).randbytes(2000))
    files["binaire"] = (junk, "ni un fichier Parquet")
    files["absent"] = (tmp_path / "absent.csv", "n'existe pas")
    files["dossier"] = (tmp_path, "dossier")
    return files


def test_every_broken_file_exits_2_with_a_french_report_and_is_recorded_rejected(
    cli: Any, uptake_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "fichiers").mkdir()
    files = _broken_files(tmp_path / "fichiers")

    for case, (path, named) in files.items():
        result = cli("validate", str(path))
        assert result.code == 2, (case, result.output)
        assert "Extrait refusé" in result.stderr, case
        assert named in result.stderr, (case, result.stderr)
        assert "Traceback" not in result.output, case
        assert "06 11 22 33 44" not in result.output

    outcomes = _outcomes(uptake_home)
    assert len(outcomes) == len(files)
    assert {outcome for _, outcome in outcomes} == {"rejete"}


def test_a_usage_error_is_reported_with_the_command_help_not_as_an_internal_error(cli) -> None:
    result = cli("run")
    assert result.code == 2
    assert "--extract" in result.output and "Essayez 'uptake run --help'" in result.output
    assert "Erreur interne" not in result.output and "Traceback" not in result.output
