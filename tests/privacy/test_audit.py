from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError

from privacy import audit
from privacy.errors import PrivacyError
from privacy.keys import Keyring
from privacy.models import AuditCheckpoint, AuditEntry
from tests.conftest import audit_clock, log_end_signed
from tests.privacy.conftest import NOW, drop_audit_guards
from uptake.db import transaction


def _fill(engine: Engine, keyring: Keyring, n: int = 10, *, attacker: bool = True) -> None:
    with transaction(engine) as session:
        for i in range(1, n + 1):
            audit.append(
                session,
                actor="equipe-donnees",
                action="test.operation",
                object_ref=f"foyer-{i:02d}",
                counts={"lignes": i},
                details={"etape": i},
            )
        audit.checkpoint(session, keyring)
    if attacker:
        drop_audit_guards(engine)


def _verify(engine: Engine, keyring: Keyring) -> audit.AuditVerification:
    return audit.verify(engine, keyring.public_key())


def _rehash_from(engine: Engine, start: int) -> None:
    """What an attacker who knows the algorithm does: recompute every hash from `start` on."""
    with transaction(engine) as session:
        rows = list(
            session.scalars(select(AuditEntry).where(AuditEntry.seq >= start - 1).order_by(AuditEntry.seq))
        )
        previous = rows[0].hash if start > 1 else audit.GENESIS
        for row in rows[1:] if start > 1 else rows:
            row.prev_hash = previous
            row.hash = audit.hash_of(row)
            previous = row.hash


def test_the_database_refuses_changes_to_the_log(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring, attacker=False)
    with pytest.raises(DBAPIError, match="ajout seul"), transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(actor="x"))
    with pytest.raises(DBAPIError, match="ajout seul"), transaction(engine) as session:
        session.execute(delete(AuditCheckpoint))


def test_an_untouched_log_verifies(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    result = _verify(engine, keyring)
    assert result.ok, result.problem
    assert (result.entries, result.checkpoints) == (10, 1)


def test_an_edited_entry_is_located(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(counts='{"lignes": 500}'))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("modifiee", 5)


def test_an_edit_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(
    engine: Engine, keyring: Keyring
) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(actor="quelqu-un-d-autre"))
    _rehash_from(engine, 4)
    problem = _verify(engine, keyring).problem
    assert problem is not None and problem.kind == "reecrite"
    assert "n°1 et n°10" in problem.message


def test_a_deleted_entry_is_located(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 6))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("supprimee", 6)


def test_an_inserted_entry_is_located(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        for seq in range(10, 6, -1):  # make room at 7, renumbering the tail
            session.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(seq=seq + 1))
        sixth = session.get(AuditEntry, 6)
        assert sixth is not None
        forged = AuditEntry(
            seq=7,
            at=sixth.at,
            actor="intrus",
            action="test.operation",
            object_ref="foyer-99",
            counts=None,
            output_sha256=None,
            details=None,
            prev_hash=sixth.hash,
            hash="",
        )
        forged.hash = audit.hash_of(forged)
        session.add(forged)
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("inseree", 7)


def test_reordered_entries_are_located(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(seq=1000))
        session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(seq=3))
        session.execute(update(AuditEntry).where(AuditEntry.seq == 1000).values(seq=4))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("reordonnee", 3)


def test_a_truncated_tail_is_detected_against_the_last_checkpoint(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 8))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("tronquee", 8)


def test_a_tail_cut_with_its_checkpoints_is_found_only_against_a_landmark_noted_outside(
    engine: Engine, keyring: Keyring
) -> None:
    _fill(engine, keyring, 7, attacker=False)  # one transaction signed its end at entry 7…
    with transaction(engine) as session:  # …the next at entry 10
        for i in range(8, 11):
            audit.append(session, actor="equipe-donnees", action="test.operation", object_ref=f"foyer-{i}")
        audit.checkpoint(session, keyring)
    drop_audit_guards(engine)
    with transaction(engine) as session:
        noted = audit.landmark(session)
    assert noted is not None and noted.startswith("10:") and len(noted) == 3 + audit.LANDMARK_DIGITS
    with transaction(engine) as session:  # the newest entries and every checkpoint after them go
        session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq >= 8))
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 8))
    assert _verify(engine, keyring).ok  # the chain alone cannot tell
    with transaction(engine) as session:
        cut = audit.landmark_problem(session, noted)
        assert audit.landmark_problem(session, "7:" + noted.split(":")[1]) is not None  # another entry
        with pytest.raises(ValueError, match="repère « 10 » illisible"):
            audit.landmark_problem(session, "10")
    assert cut is not None and (cut.kind, cut.seq) == ("tronquee", 10)
    assert "le journal s'arrête à l'entrée n°7" in cut.message


def test_a_log_rewritten_with_its_checkpoints_deleted_is_not_intact(engine: Engine, keyring: Keyring) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:  # the chain alone can be recomputed by anyone: not its signatures
        session.execute(delete(AuditCheckpoint))

    problem = _verify(engine, keyring).problem

    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 1)
    assert "n°1 à n°10 ne sont attestées par aucun point de contrôle signé" in problem.message


def test_entries_added_after_the_last_signed_checkpoint_are_not_intact(
    engine: Engine, keyring: Keyring
) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:  # appended around uptake: nothing signs its end
        audit.append(session, actor="intrus", action="test.operation", object_ref="foyer-99")

    problem = _verify(engine, keyring).problem

    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 11)


def test_an_entry_written_around_uptake_is_not_endorsed_by_the_next_signed_commit(
    engine: Engine, keyring: Keyring
) -> None:
    _fill(engine, keyring, attacker=False)
    with transaction(engine) as session:  # written around uptake: nothing signs its end
        audit.append(session, actor="intrus", action="test.operation", object_ref="foyer-99")
    audit.seal_commits(engine, lambda: keyring)

    with transaction(engine) as session:  # an ordinary commit of a front door, afterwards
        audit.append(session, actor="equipe-donnees", action="test.operation")

    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 11)


def test_a_log_re_signed_whole_with_another_key_is_told_as_not_signed_by_the_dpo_key(
    engine: Engine, keyring: Keyring, other_keyring: Keyring
) -> None:
    _fill(engine, keyring)
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="intrus"))
        session.execute(delete(AuditCheckpoint))
    _rehash_from(engine, 2)
    with transaction(engine) as session:
        audit.checkpoint(session, other_keyring)
    problem = _verify(engine, keyring).problem
    assert problem is not None and problem.kind == "autre_cle"
    assert "clé remplacée et journal re-signé" in problem.message


def test_checkpoints_are_signed_periodically_when_a_keyring_is_given(
    engine: Engine, keyring: Keyring
) -> None:
    with transaction(engine) as session:
        for _ in range(audit.CHECKPOINT_EVERY * 2):
            audit.append(session, actor="a", action="b", keyring=keyring)
    result = _verify(engine, keyring)
    assert result.ok and result.checkpoints == 2


@pytest.mark.timeout(120)
def test_concurrent_writers_build_one_unbroken_chain(engine: Engine, keyring: Keyring) -> None:
    errors: list[BaseException] = []
    audit.seal_commits(engine, lambda: keyring)  # as every front door: each transaction signs its end

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with transaction(engine) as session:
                    audit.append(session, actor=name, action="test.concurrence", counts={"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = _verify(engine, keyring)
    assert result.ok, result.problem
    assert result.entries == 60


def _fill_dated(engine: Engine, keyring: Keyring) -> None:
    """Six entries written 400 days before `NOW`, then four at `NOW`."""
    with transaction(engine) as session:
        for i in range(1, 11):
            with audit_clock(NOW - timedelta(days=400) if i <= 6 else NOW):
                audit.append(session, actor="e", action="test.operation", object_ref=f"foyer-{i:02d}")
            if i == 5:
                audit.checkpoint(session, keyring)
        audit.checkpoint(session, keyring)


def test_pruning_old_entries_leaves_a_log_that_still_verifies(engine: Engine, keyring: Keyring) -> None:
    _fill_dated(engine, keyring)
    with transaction(engine) as session:
        removed = audit.prune(session, keyring, before=NOW - timedelta(days=365), actor="dpo")
    assert removed == 6
    result = _verify(engine, keyring)
    assert result.ok, result.problem
    assert result.entries == 5  # 7..10 and the prune's own entry
    # The append-only guards are back once the prune is committed.
    with pytest.raises(DBAPIError, match="ajout seul"), transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 7))


def test_a_log_idle_for_longer_than_its_retention_keeps_its_newest_entry_and_its_numbering(
    engine: Engine, keyring: Keyring
) -> None:
    with transaction(engine) as session, audit_clock(NOW - timedelta(days=400)):
        for i in range(3):
            audit.append(session, actor="e", action="test.operation", object_ref=f"foyer-{i}")
        audit.checkpoint(session, keyring)
    with transaction(engine) as session, audit_clock(NOW):
        assert audit.prune(session, keyring, before=NOW - timedelta(days=365), actor="dpo") == 2
        entry = audit.append(session, actor="e", action="test.operation")
        audit.checkpoint(session, keyring)
    # The chain goes on from the entry kept (3), after the prune's own entry (4).
    assert entry.seq == 5
    result = _verify(engine, keyring)
    assert result.ok, result.problem
    assert result.entries == 3


def test_a_removal_after_pruning_is_still_detected(engine: Engine, keyring: Keyring) -> None:
    _fill_dated(engine, keyring)
    with transaction(engine) as session:
        audit.prune(session, keyring, before=NOW - timedelta(days=365), actor="dpo")
    drop_audit_guards(engine)
    with transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 7))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("supprimee", 7)


def test_removing_the_head_of_the_log_without_a_signed_anchor_is_detected(
    engine: Engine, keyring: Keyring
) -> None:
    _fill_dated(engine, keyring)  # a periodic checkpoint at entry 5 must not pass for an anchor
    drop_audit_guards(engine)
    with transaction(engine) as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq <= 5))
    problem = _verify(engine, keyring).problem
    assert problem is not None and (problem.kind, problem.seq) == ("supprimee", 1)


def test_a_tampered_log_is_not_pruned(engine: Engine, keyring: Keyring) -> None:
    _fill_dated(engine, keyring)
    drop_audit_guards(engine)
    with transaction(engine) as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="intrus"))
    with pytest.raises(PrivacyError, match="élagage du journal refusé"), transaction(engine) as session:
        audit.prune(session, keyring, before=NOW - timedelta(days=365), actor="dpo")
    assert _verify(engine, keyring).entries == 10


def test_a_transaction_that_appended_signs_the_end_of_the_log_on_a_sealed_engine(
    engine: Engine, keyring: Keyring
) -> None:
    audit.seal_commits(engine, lambda: keyring)
    with transaction(engine) as session:
        audit.append(session, actor="dpo", action="echange.revocation", object_ref="echange:2")
    with transaction(engine) as session:
        session.execute(select(AuditEntry.seq)).all()  # a transaction that appends nothing signs nothing

    assert log_end_signed(engine)
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
