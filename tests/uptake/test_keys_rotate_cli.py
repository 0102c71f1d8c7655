"""`uptake keys rotate` replaces the pseudonyms everywhere: the flags in the database and on disk."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.records import DetectionFlag, DetectionRun
from privacy.models import PseudonymAlias
from uptake import french
from uptake.db import make_engine


def _stored(home: Path) -> tuple[set[str], str, set[str]]:
    """The flags' pseudonyms, the flags file, the former pseudonyms kept as aliases."""
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    try:
        with Session(engine) as session:
            flags = set(session.scalars(select(DetectionFlag.id_foyer)))
            [path] = session.scalars(select(DetectionRun.flags_path))
            aliases = set(session.scalars(select(PseudonymAlias.old_pseudonym)))
    finally:
        engine.dispose()
    return flags, path or "", aliases


def _detection_run(cli, folder: Path, households: int) -> Path:
    """A raw synthetic extract, pseudonymised with the data folder's key and run; the raw file."""
    raw, extract = folder / "brut.parquet", folder / "extrait.parquet"
    assert cli("synth", "--households", str(households), "--raw", "--out", str(raw)).code == 0
    assert cli("pseudonymise", str(raw), "--out", str(extract)).code == 0
    assert cli("run", "--extract", str(extract)).code == 0
    return raw


def test_a_key_rotation_replaces_the_pseudonyms_of_the_flags_in_the_database_and_their_file(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw = _detection_run(cli, tmp_path, 400)
    before, flags_file, _ = _stored(uptake_home)
    assert before and set(pl.read_parquet(flags_file)["id_foyer"]) == before
    rows = pl.read_parquet(flags_file).height

    rotated = cli("keys", "rotate", "--raw", str(raw))

    assert rotated.code == 0, rotated.output
    said = " ".join(rotated.stdout.split())
    assert f"Pseudonymes remplacés : drapeaux : {french.count(rows)} ;" in said
    assert "Fichiers de drapeaux réécrits : 1." in said
    new_extract = tmp_path / "extrait-nouvelle-cle.parquet"
    assert cli("pseudonymise", str(raw), "--out", str(new_extract)).code == 0
    new_ids = set(pl.read_parquet(new_extract)["id_foyer"])
    after, _, aliases = _stored(uptake_home)
    assert after <= new_ids and not after & before and len(after) == len(before)
    assert before <= aliases  # the audit entries written under the former pseudonyms stay findable
    assert set(pl.read_parquet(flags_file)["id_foyer"]) == after
    assert not list(Path(flags_file).parent.glob(".*rotation"))


def test_a_flags_file_that_cannot_be_rewritten_is_said_with_what_to_do_the_database_being_rekeyed(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw = _detection_run(cli, tmp_path, 200)
    before, flags_file, _ = _stored(uptake_home)
    (Path(flags_file).parent / ".flags.parquet.rotation").mkdir()  # where the new file is written

    rotated = cli("keys", "rotate", "--raw", str(raw))

    assert rotated.code == 1
    said = " ".join(rotated.stderr.split())
    assert "n'a pas pu être réécrit avec les nouveaux pseudonymes (IsADirectoryError)" in said
    assert "supprimez-les, ou relancez les exécutions avec --force" in said and "Traceback" not in said
    after, _, _ = _stored(uptake_home)
    assert after and not after & before  # the database is re-keyed
    assert set(pl.read_parquet(flags_file)["id_foyer"]) == before  # the file is left whole, as it was
