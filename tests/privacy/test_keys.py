from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from privacy.errors import KeyringError
from privacy.keys import MASTER_ENV, Keyring, load_public_key_pem, open_keyring, public_key_pem


def test_master_key_file_is_created_owner_only_at_first_use(tmp_path: Path) -> None:
    master = tmp_path / "master.key"
    open_keyring(tmp_path / "keys", master, environ={})
    assert stat.S_IMODE(master.stat().st_mode) == 0o600


def test_master_key_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    master = tmp_path / "master.key"
    open_keyring(tmp_path / "keys", master, environ={})
    os.chmod(master, 0o644)
    with pytest.raises(KeyringError) as caught:
        open_keyring(tmp_path / "keys", master, environ={})
    assert "chmod 600" in str(caught.value)


def test_short_master_secret_from_the_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="trop courte"):
        open_keyring(tmp_path / "keys", tmp_path / "m", environ={MASTER_ENV: "court"})


def test_key_files_are_encrypted_at_rest_and_bound_to_their_name(keyring: Keyring) -> None:
    secret = keyring.secret("coffre-test")
    blob = keyring.path("coffre-test").read_bytes()
    assert secret not in blob
    assert stat.S_IMODE(keyring.path("coffre-test").stat().st_mode) == 0o600
    # A key file copied under another name does not decrypt (the name is the associated data).
    keyring.path("autre").write_bytes(blob)
    with pytest.raises(KeyringError, match="déchiffrement impossible"):
        keyring.load("autre")


def test_another_master_secret_cannot_open_the_keys(tmp_path: Path) -> None:
    env_a = {MASTER_ENV: "a" * 40}
    env_b = {MASTER_ENV: "b" * 40}
    first = open_keyring(tmp_path / "keys", tmp_path / "m", environ=env_a)
    first.secret("coffre-test")
    with pytest.raises(KeyringError, match="clé maîtresse incorrecte"):
        open_keyring(tmp_path / "keys", tmp_path / "m", environ=env_b).load("coffre-test")


def test_destroyed_key_is_gone_for_good(keyring: Keyring) -> None:
    keyring.secret("sortie-x")
    assert keyring.destroy("sortie-x")
    assert not keyring.path("sortie-x").exists()
    with pytest.raises(KeyringError, match="clé absente"):
        keyring.load("sortie-x")


def test_the_dpo_public_key_round_trips_through_pem(keyring: Keyring) -> None:
    pem = public_key_pem(keyring.public_key())
    signature = keyring.signing_key().sign(b"decision")
    load_public_key_pem(pem).verify(signature, b"decision")
    with pytest.raises(KeyringError, match="non Ed25519"):
        load_public_key_pem(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_concurrent_first_use_yields_one_key(tmp_path: Path) -> None:
    def first_use(_: int) -> bytes:
        return open_keyring(tmp_path / "keys", tmp_path / "master.key", environ={}).secret("coffre-x")

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(first_use, range(16)))
    assert len(keys) == 1
