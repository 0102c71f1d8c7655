"""A key file lost while the database depends on it is said, never generated again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from privacy.errors import KeyringError
from privacy.keys import SIGNING_KEY, Keyring, pseudonym_root_name, vault_key_name
from privacy.keyuse import require_keys
from tests.privacy.conftest import TERRITORY
from tests.uptake.test_check_cli import _lines
from uptake.db import transaction

KEPT = "b" * 64


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(f"id_foyer;nom;prenom;telephone\n{KEPT};Martin;Léa;06 12 34 56 78\n", encoding="utf-8")
    return path


def test_a_key_the_vault_depends_on_is_refused_rather_than_generated(
    engine: Engine, keyring: Keyring, tmp_path: Path
) -> None:
    import polars as pl

    from privacy.vault import import_contacts

    frame = pl.DataFrame({"id_foyer": [KEPT], "nom": ["Martin"], "prenom": ["Léa"]})
    with transaction(engine) as session:
        import_contacts(session, keyring, frame, territory=TERRITORY, actor="test")
    keyring.path(vault_key_name(TERRITORY)).unlink()  # a data folder restored without its keys

    with transaction(engine) as session:
        missing = require_keys(session, keyring)
    assert missing == [vault_key_name(TERRITORY)]
    # Pseudonyms made elsewhere: the root, never created here, may be generated.
    assert pseudonym_root_name(TERRITORY) not in keyring.required
    with pytest.raises(KeyringError, match="clé absente, alors que le coffre des contacts chiffrés"):
        keyring.secret(vault_key_name(TERRITORY))
    assert not keyring.has(vault_key_name(TERRITORY))
    assert SIGNING_KEY not in keyring.required  # nothing signed yet: generated at first use as before


def test_commands_refuse_to_work_with_a_lost_key_and_check_names_it(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "brut.parquet"
    assert cli("synth", "--households", "50", "--raw", "--out", str(raw)).code == 0
    assert cli("pseudonymise", str(raw), "--out", str(tmp_path / "extrait.parquet")).code == 0
    assert cli("contacts", "import", str(_directory(tmp_path))).code == 0
    [root] = (uptake_home / "keys").glob("pseudonymes-*.key")
    root.unlink()  # a data folder restored without its keys

    access = cli("subjects", "access", "-", stdin="1234567\n")

    assert access.code == 2, access.output
    said = " ".join(access.output.split())
    assert "clé absente, alors que les pseudonymes des extraits et du coffre en dépend" in said
    assert "Restaurez le dossier" in said and "aucune donnée" not in said
    assert not root.exists()  # not generated again: every pseudonym typed would match nothing
    check = cli("check")
    assert check.code == 1
    assert _lines(check.stdout)["Clés"].startswith("✗ clé(s) absente(s)")
    assert root.stem in _lines(check.stdout)["Clés"]


def test_no_key_is_generated_while_the_database_cannot_say_whether_it_was_used(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    raw, out = tmp_path / "brut.parquet", tmp_path / "extrait.parquet"
    assert cli("synth", "--households", "50", "--raw", "--out", str(raw)).code == 0
    assert cli("pseudonymise", str(raw), "--out", str(out)).code == 0
    [root] = (uptake_home / "keys").glob("pseudonymes-*.key")
    root.unlink()  # lost, and the database out of reach at the same time
    unreachable = {"UPTAKE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/uptake"}

    again = cli("pseudonymise", str(raw), "--out", str(tmp_path / "autre.parquet"), env=unreachable)

    assert again.code == 2, again.output
    assert "la base de données ne peut pas dire si elle a déjà servi" in " ".join(again.output.split())
    assert not root.exists() and not (tmp_path / "autre.parquet").exists()
