"""`uptake keys rotate` replaces the pseudonyms everywhere: the flags in the database and on disk."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.records import DetectionFlag, DetectionRun
from privacy.models import ContactRecord, PseudonymAlias
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


def _vault_and_keys(home: Path) -> tuple[set[str], set[str]]:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    try:
        with Session(engine) as session:
            held = set(session.scalars(select(ContactRecord.pseudonym)))
    finally:
        engine.dispose()
    return held, {path.name for path in (home / "keys").iterdir()}


def _vault_of(cli, folder: Path, households: int) -> Path:
    """A raw extract and its contacts, the contacts pseudonymised and stored in the vault; the raw file."""
    raw, contacts = folder / "brut.parquet", folder / "contacts-bruts.csv"
    made = cli(
        "synth", "--households", str(households), "--raw", "--out", str(raw), "--contacts", str(contacts)
    )
    assert made.code == 0, made.output
    extract, directory = folder / "extrait.parquet", folder / "contacts.csv"
    shown = cli(
        "pseudonymise",
        str(raw),
        "--out",
        str(extract),
        "--contacts",
        str(contacts),
        "--contacts-out",
        str(directory),
    )
    assert shown.code == 0, shown.output
    assert cli("contacts", "import", str(directory)).code == 0
    return raw


def test_a_rotation_with_a_partial_raw_extract_or_a_wrong_purpose_empties_nothing(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw = _vault_of(cli, tmp_path, 200)
    held, keys = _vault_and_keys(uptake_home)
    partial = tmp_path / "brut-partiel.parquet"
    pl.read_parquet(raw).head(50).write_parquet(partial)
    for attempt in (("--raw", str(partial)), ("--raw", str(raw), "--finalite", "nimporte")):
        refused = cli("keys", "rotate", *attempt)
        assert refused.code != 0
        said = " ".join(refused.output.split())
        assert "sont absents de cet extrait brut" in said and "rien n'a été changé" in said
        assert _vault_and_keys(uptake_home) == (held, keys)  # same records, no new key left behind


def test_a_mapping_file_that_cannot_be_written_is_refused_before_the_keys_turn(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw = _vault_of(cli, tmp_path, 50)
    held, keys = _vault_and_keys(uptake_home)
    (tmp_path / "dossier").mkdir()
    (tmp_path / "deja.parquet").write_bytes(b"un fichier a garder")
    for target, problem in (("dossier", "est un dossier"), ("deja.parquet", "existe déjà")):
        refused = cli("keys", "rotate", "--raw", str(raw), "--correspondance", str(tmp_path / target))
        assert refused.code == 2 and problem in " ".join(refused.output.split())
        assert _vault_and_keys(uptake_home) == (held, keys)
    assert (tmp_path / "deja.parquet").read_bytes() == b"un fichier a garder"
