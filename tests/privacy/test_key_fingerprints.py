"""A data key whose file was replaced by another valid one is refused, by its fingerprint the database
recorded at its first use; rotation switches the fingerprint with the key."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from privacy import rotation, vault
from privacy.errors import KeyringError
from privacy.keys import (
    SIGNING_KEY,
    Keyring,
    fingerprint,
    key_fingerprint,
    pseudonym_root_name,
    vault_key_name,
)
from privacy.keyuse import recorded_fingerprints, require_keys
from privacy.models import AuditEntry, ContactRecord
from privacy.pseudonyms import key_text, pseudonym_of
from tests.privacy.conftest import NOW, TERRITORY
from uptake.db import transaction

MATRICULES = ["1000001", "1000002", "1000003"]


def _watched(engine: Engine, keyring: Keyring) -> Keyring:
    """`keyring` checked against the database's fingerprints, as every front door opens it."""
    with Session(engine) as session:
        require_keys(session, keyring)
    return keyring


def _recorded(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return recorded_fingerprints(connection)


def _import(engine: Engine, keyring: Keyring, names: list[str]) -> None:
    key = key_text(keyring, TERRITORY, "droits")
    directory = pl.DataFrame(
        {"id_foyer": [pseudonym_of(key, m) for m in MATRICULES], "nom": names, "prenom": ["Léa"] * 3}
    )
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, directory, territory=TERRITORY, actor="test", now=NOW)


def _written(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(ContactRecord)) or 0,
            session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_the_first_use_of_each_data_key_records_its_fingerprint_never_the_key(
    engine: Engine, keyring: Keyring, sealed: None
) -> None:
    _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Petit"])

    recorded = _recorded(engine)
    root, coffre = pseudonym_root_name(TERRITORY), vault_key_name(TERRITORY)
    assert set(recorded) == {root, coffre, SIGNING_KEY}
    assert recorded[SIGNING_KEY] == fingerprint(keyring.public_key())  # the one the DPO notes
    for name in (root, coffre):
        secret = keyring.load(name)
        assert recorded[name] == key_fingerprint(name, secret) and recorded[name] not in secret.hex()


def test_a_key_file_replaced_by_another_valid_one_is_refused_and_nothing_is_written(
    engine: Engine, keyring: Keyring, sealed: None
) -> None:
    _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Petit"])
    before = _written(engine)
    coffre = vault_key_name(TERRITORY)
    # A keys folder restored from another installation: its vault key opens under the same master.
    keyring.store(coffre, bytes(range(32)))

    with pytest.raises(KeyringError) as refused:
        _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Bernard"])

    said = str(refused.value)
    assert said.startswith(f"{keyring.path(coffre)} : clé remplacée")
    assert "le coffre des contacts ne se déchiffrerait plus" in said
    assert f"Restaurez le dossier {keyring.keys_dir} qui va avec cette base" in said
    assert _written(engine) == before
    assert _recorded(engine)[coffre] != key_fingerprint(coffre, bytes(range(32)))


def test_a_key_created_before_fingerprints_were_recorded_is_recorded_at_its_next_use(
    engine: Engine, keyring: Keyring, sealed: None
) -> None:
    _import(engine, keyring, ["Martin", "Durand", "Petit"])  # a keyring that records nothing: an older uptake
    assert _recorded(engine) == {}

    _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Bernard"])

    coffre = vault_key_name(TERRITORY)
    assert _recorded(engine)[coffre] == key_fingerprint(coffre, keyring.load(coffre))


def test_a_rotated_root_keeps_loading_and_the_former_root_is_refused(
    engine: Engine, keyring: Keyring, sealed: None, tmp_path: Path
) -> None:
    _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Petit"])
    root = pseudonym_root_name(TERRITORY)
    former = keyring.load(root)
    raw = tmp_path / "brut.parquet"
    pl.DataFrame({"matricule": MATRICULES}).write_parquet(raw)

    with transaction(engine) as session:
        rotation.rotate(
            session, keyring, raw, territory=TERRITORY, finalites=["droits"], actor="dpo", now=NOW
        )
    assert rotation.promote(keyring, TERRITORY)

    current = _watched(engine, keyring).load(root)
    assert current != former and _recorded(engine)[root] == key_fingerprint(root, current)
    _import(engine, keyring, ["Martin", "Durand", "Bernard"])  # the vault still reads and writes
    keyring.store(root, former)  # the keys folder of before the rotation, restored
    with pytest.raises(KeyringError, match="clé remplacée"):
        keyring.load(root)


def test_a_rotation_interrupted_after_its_commit_is_finished_by_the_next_load_of_the_root(
    engine: Engine, keyring: Keyring, sealed: None, tmp_path: Path
) -> None:
    _import(engine, _watched(engine, keyring), ["Martin", "Durand", "Petit"])
    root = pseudonym_root_name(TERRITORY)
    raw = tmp_path / "brut.parquet"
    pl.DataFrame({"matricule": MATRICULES}).write_parquet(raw)
    with transaction(engine) as session:
        rotation.rotate(
            session, keyring, raw, territory=TERRITORY, finalites=["droits"], actor="dpo", now=NOW
        )
    # The process ends here, before `promote`.

    current = _watched(engine, keyring).load(root)

    assert _recorded(engine)[root] == key_fingerprint(root, current)
    assert not rotation.promote(keyring, TERRITORY)  # nothing left pending


def test_a_lost_key_nothing_depends_on_is_generated_again_and_its_fingerprint_replaces_the_former(
    engine: Engine, keyring: Keyring, sealed: None
) -> None:
    root = pseudonym_root_name(TERRITORY)
    key_text(_watched(engine, keyring), TERRITORY, "droits")  # a first use nothing depends on
    with transaction(engine):  # any commit records it
        pass
    former = _recorded(engine)[root]
    keyring.path(root).unlink()

    key_text(_watched(engine, keyring), TERRITORY, "droits")
    with transaction(engine):
        pass

    assert _recorded(engine)[root] == key_fingerprint(root, keyring.load(root)) != former
