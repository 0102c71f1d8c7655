"""A copy of the data folder (a backup restored to check it) deletes and rewrites its own flags files,
never the original's: the database records them by absolute path."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from detection.geography import Geography
from detection.records import FAILED, RUNNING, DetectionRun, get_run
from detection.recovery import recover_interrupted_runs, temporary_path
from detection.rekey import rekey_flag_files
from detection.retention import purge_flags
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from uptake.commands.runs import print_run
from uptake.db import make_engine, upgrade


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory, geography: Geography) -> Path:
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    write_synthetic(
        SynthesisSpec(households=300, seed=9),
        commune_table(geography.reference, geography.territory.communes),
        path,
    )
    return path


def _database(home: Path) -> Engine:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    upgrade(engine)
    return engine


def _original_with_two_runs(
    tmp_path: Path, geography: Geography, extract: Path
) -> tuple[Path, Path, Path, dt.datetime]:
    """A data folder whose runs wrote one flags file inside it and one in a folder given with --out."""
    home = tmp_path / "origine"
    engine = _database(home)
    runner = DetectionRunner(engine, geography, home)
    inside = runner.run(RunRequest(extract)).run
    outside = runner.run(RunRequest(extract, out_dir=tmp_path / "export", force=True)).run
    engine.dispose()
    assert inside.finished_at is not None
    return home, Path(inside.flags_path or ""), Path(outside.flags_path or ""), inside.finished_at


def test_a_copy_purges_its_own_flags_files_and_leaves_the_originals(
    tmp_path: Path, geography: Geography, extract: Path
) -> None:
    home, inside, outside, finished = _original_with_two_runs(tmp_path, geography, extract)
    copy = tmp_path / "copie"
    shutil.copytree(home, copy)
    copied = copy / inside.relative_to(home)
    later = finished + dt.timedelta(days=400)

    engine = _database(copy)
    with Session(engine) as session, session.begin():
        report = purge_flags(session, copy, actor="dpo", now=later)

    assert report.runs == 2 and report.files_deleted == 1 and report.files_left == (str(outside),)
    assert not copied.exists()
    assert inside.exists() and outside.exists()  # the original's, untouched

    engine = _database(home)
    with Session(engine) as session, session.begin():
        report = purge_flags(session, home, actor="dpo", now=later)
    assert report.files_deleted == 2 and report.files_left == ()
    assert not inside.exists() and not outside.exists()


def test_a_key_rotation_in_a_copy_rewrites_the_copys_flags_files_only(
    tmp_path: Path, geography: Geography, extract: Path
) -> None:
    home, inside, outside, _ = _original_with_two_runs(tmp_path, geography, extract)
    copy = tmp_path / "copie"
    shutil.copytree(home, copy)
    before = inside.read_bytes(), outside.read_bytes()
    old = pl.read_parquet(inside, columns=["id_foyer"]).get_column("id_foyer").unique()
    mapping = pl.DataFrame({"ancien": old, "nouveau": [f"{i:064x}" for i in range(old.len())]})

    files = rekey_flag_files(_database(copy), mapping, copy)

    assert files.rewritten == [copy / inside.relative_to(home)] and files.left == [str(outside)]
    assert (inside.read_bytes(), outside.read_bytes()) == before
    renamed = pl.read_parquet(files.rewritten[0], columns=["id_foyer"]).get_column("id_foyer")
    assert not renamed.is_in(old.implode()).any()


def test_a_run_interrupted_in_a_backup_is_cleaned_in_the_copy_not_in_the_original(
    tmp_path: Path, geography: Geography, extract: Path
) -> None:
    # The backup was taken while a run was writing: restored, its copy finds the run interrupted.
    home, inside, _, _ = _original_with_two_runs(tmp_path, geography, extract)
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout
    )
    engine = _database(home)
    with engine.begin() as connection:
        connection.execute(
            update(DetectionRun)
            .where(DetectionRun.flags_path == str(inside))
            .values(status=RUNNING, pid=dead, host=socket.gethostname(), finished_at=None)
        )
    partial = temporary_path(inside, 1)
    partial.write_bytes(b"en cours")
    copy = tmp_path / "copie"
    shutil.copytree(home, copy)

    engine = _database(copy)
    assert recover_interrupted_runs(engine, copy) == [1]

    assert not (copy / partial.relative_to(home)).exists() and not (copy / inside.relative_to(home)).exists()
    assert partial.exists() and inside.exists()
    with Session(engine) as session:
        run = get_run(session, 1)
    assert run is not None and run.status == FAILED


def test_runs_show_in_a_copy_gives_the_copys_own_flags_file_and_says_whose_the_others_is(
    tmp_path: Path, geography: Geography, extract: Path
) -> None:
    home, inside, outside, _ = _original_with_two_runs(tmp_path, geography, extract)
    copy = tmp_path / "copie"
    shutil.copytree(home, copy)

    def shown(folder: Path, run_id: int) -> str:
        with Session(_database(folder)) as session:
            record = get_run(session, run_id)
        assert record is not None
        out = Console(width=500, file=io.StringIO(), record=True)
        print_run(record, folder, out)
        return " ".join(out.export_text().split())

    assert str(copy / inside.relative_to(home)) in shown(copy, 1) and str(inside) not in shown(copy, 1)
    assert f"{outside}, écrit par un autre dossier de données ({home.resolve()})" in shown(copy, 2)
    assert str(inside) in shown(home, 1)
    assert str(outside) in shown(home, 2) and "autre dossier" not in shown(home, 2)
