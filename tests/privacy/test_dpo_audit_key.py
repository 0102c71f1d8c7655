"""Verifying the audit log with a key: a key that signed nothing in it is told apart from tampering."""

from __future__ import annotations

from sqlalchemy import Engine

from privacy import audit
from privacy.keys import Keyring, fingerprint
from uptake.db import transaction


def _append_and_sign(engine: Engine, keyring: Keyring, n: int = 5) -> None:
    with transaction(engine) as session:
        for i in range(n):
            audit.append(session, actor="equipe-donnees", action="test.operation", counts={"lignes": i})
        audit.checkpoint(session, keyring)


def test_a_key_that_signed_no_checkpoint_is_told_as_not_the_signing_key(
    engine: Engine, keyring: Keyring, other_keyring: Keyring
) -> None:
    _append_and_sign(engine, keyring)
    _append_and_sign(engine, keyring)

    problem = audit.verify(engine, other_keyring.public_key()).problem

    assert problem is not None and problem.kind == "autre_cle"
    assert "ce n'est pas la clé qui a signé ce journal" in problem.message
    assert fingerprint(keyring.public_key()) in problem.message  # the key the checkpoints claim
    assert "point de contrôle falsifié" not in problem.message
    assert audit.verify(engine, keyring.public_key()).ok


def test_a_log_signed_partly_with_another_key_is_still_tampering(
    engine: Engine, keyring: Keyring, other_keyring: Keyring
) -> None:
    _append_and_sign(engine, keyring)
    _append_and_sign(engine, other_keyring)  # someone signs a forged tail with their own key

    problem = audit.verify(engine, keyring.public_key()).problem

    assert problem is not None and (problem.kind, problem.seq) == ("signature", 10)
    assert "point de contrôle falsifié" in problem.message


def test_a_log_without_checkpoints_is_not_blamed_on_the_key(engine: Engine, other_keyring: Keyring) -> None:
    with transaction(engine) as session:
        audit.append(session, actor="equipe-donnees", action="test.operation")

    problem = audit.verify(engine, other_keyring.public_key()).problem

    # Unsigned, which no key explains: not "the wrong key".
    assert problem is not None and problem.kind == "non_signee"
