"""The DPO's attestation of the entries no signed checkpoint attests: only in an intact log, only what
was reviewed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from privacy import audit
from privacy.errors import PrivacyError
from privacy.keys import Keyring
from privacy.models import AuditCheckpoint, AuditEntry
from tests.privacy.conftest import drop_audit_guards
from uptake.db import make_engine, transaction


def _around_uptake(engine: Engine, count: int) -> None:
    """Entries appended by a script on an engine of its own, which uptake did not seal."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    with transaction(other) as session:
        for number in range(count):
            audit.append(session, actor="script-maison", action="test.operation", counts={"lignes": number})
    other.dispose()


@pytest.fixture
def log(sealed: None, engine: Engine) -> Engine:
    """Entries n°1 to n°3 written by uptake (signed), n°4 and n°5 around it (unattested)."""
    for numbers in ((1, 2), (3,)):  # two transactions: two signed checkpoints, at n°2 and n°3
        with transaction(engine) as session:
            for number in numbers:
                audit.append(
                    session, actor="equipe-donnees", action="test.operation", counts={"lignes": number}
                )
    _around_uptake(engine, 2)
    return engine


def _state(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as session:
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        points = session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    return entries, points


TAMPERINGS: dict[str, tuple[str, str]] = {
    "modifiee": ("UPDATE privacy_audit SET actor = 'quelqu-un' WHERE seq = 2", "modifiee"),
    "supprimee": ("DELETE FROM privacy_audit WHERE seq = 2", "supprimee"),
    "tronquee": ("DELETE FROM privacy_audit WHERE seq >= 3", "tronquee"),
    "signature": (
        f"UPDATE privacy_audit_checkpoint SET signature = '{'0' * 128}' WHERE seq = 2",
        "signature",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_a_tampered_log_is_not_attested_and_nothing_is_written(
    log: Engine, keyring: Keyring, tampering: str
) -> None:
    statement, kind = TAMPERINGS[tampering]
    with transaction(log) as session:
        reviewed = audit.unattested(session, keyring.public_key())
    assert reviewed is not None and (reviewed.first, reviewed.last) == (4, 5)
    drop_audit_guards(log)
    with log.begin() as connection:
        connection.execute(text(statement))
    before = _state(log)

    with pytest.raises(audit.AttestationRefused) as refused, transaction(log) as session:
        audit.attest(session, keyring, reviewed, dpo="dpo1")

    assert refused.value.problem.kind == kind
    assert "Rien n'a été attesté" in str(refused.value)
    assert _state(log) == before


def test_a_log_signed_by_another_key_is_refused_with_the_code_of_a_wrong_key(
    log: Engine, keyring: Keyring, other_keyring: Keyring
) -> None:
    with pytest.raises(audit.AttestationRefused) as refused, transaction(log) as session:
        audit.unattested(session, other_keyring.public_key())

    assert refused.value.problem.kind == "autre_cle" and refused.value.exit_code == 4


def test_a_keyring_that_does_not_sign_with_the_key_given_attests_nothing(
    log: Engine, keyring: Keyring, other_keyring: Keyring
) -> None:
    with transaction(log) as session:
        reviewed = audit.unattested(session, keyring.public_key())
    assert reviewed is not None
    before = _state(log)

    with (
        pytest.raises(PrivacyError, match="le trousseau local ne signe pas avec la clé"),
        transaction(log) as session,
    ):
        audit.attest(session, other_keyring, reviewed, dpo="dpo1", public_key=keyring.public_key())

    assert _state(log) == before


def test_the_attestation_signs_the_whole_log_with_its_own_entry(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        reviewed = audit.unattested(session, keyring.public_key())
        assert reviewed is not None
        done = audit.attest(session, keyring, reviewed, dpo="dpo1")

    assert done.left is None and (done.entry.seq, done.entry.actor) == (6, "dpo1")
    assert audit.verify(log, keyring.public_key()).ok


def test_entries_written_after_the_review_are_not_attested_with_it(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        reviewed = audit.unattested(session, keyring.public_key())
    assert reviewed is not None
    _around_uptake(log, 1)  # n°6, written while the DPO read the list

    with transaction(log) as session:
        done = audit.attest(session, keyring, reviewed, dpo="dpo1")

    assert done.left is not None and (done.left.first, done.left.last) == (6, 7)
    problem = audit.verify(log, keyring.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 6)


def test_entries_attested_meanwhile_are_not_attested_twice(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        reviewed = audit.unattested(session, keyring.public_key())
    assert reviewed is not None
    with transaction(log) as session:
        audit.attest(session, keyring, reviewed, dpo="dpo1")
    before = _state(log)

    with (
        pytest.raises(PrivacyError, match="le journal a changé depuis son affichage"),
        transaction(log) as session,
    ):
        audit.attest(session, keyring, reviewed, dpo="dpo2")

    assert _state(log) == before


def test_up_to_an_entry_outside_the_unattested_ones_is_refused(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        prefix = audit.unattested(session, keyring.public_key(), up_to=4)
        assert prefix is not None and (prefix.first, prefix.last, prefix.count) == (4, 4, 1)
        for outside in (3, 6):
            with pytest.raises(PrivacyError, match=f"entrée n°{outside} hors des entrées à attester"):
                audit.unattested(session, keyring.public_key(), up_to=outside)


def test_attesting_up_to_an_entry_of_those_shown_signs_only_up_to_it(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        shown = audit.unattested(session, keyring.public_key())
    assert shown is not None and (shown.first, shown.last) == (4, 5)

    with transaction(log) as session:
        done = audit.attest(session, keyring, shown, dpo="dpo1", up_to=4)

    assert done.entry.details == '{"depuis_l_entree": 4, "jusqu_a_l_entree": 4}'
    assert done.left is not None and (done.left.first, done.left.last) == (5, 6)
    problem = audit.verify(log, keyring.public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 5)


def test_attesting_up_to_an_entry_that_was_not_shown_is_refused(log: Engine, keyring: Keyring) -> None:
    with transaction(log) as session:
        shown = audit.unattested(session, keyring.public_key())
    assert shown is not None
    before = _state(log)

    for outside in (3, 6):
        with (
            pytest.raises(PrivacyError, match=f"entrée n°{outside} hors des entrées examinées"),
            transaction(log) as session,
        ):
            audit.attest(session, keyring, shown, dpo="dpo1", up_to=outside)

    assert _state(log) == before


def test_entries_rewritten_since_they_were_shown_are_refused_as_a_changed_log(
    log: Engine, keyring: Keyring
) -> None:
    with transaction(log) as session:
        shown = audit.unattested(session, keyring.public_key())
    assert shown is not None
    seen = audit.Unattested(first=shown.first, last=shown.last, last_hash="f" * 64)  # what was shown then

    with pytest.raises(audit.LogChanged, match="le journal a changé"), transaction(log) as session:
        audit.attest(session, keyring, seen, dpo="dpo1", up_to=4)
