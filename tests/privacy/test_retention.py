from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select, text

from privacy import audit, exchanges, retention
from privacy.errors import KeyringError, PrivacyError
from privacy.keys import Keyring
from privacy.models import AuditEntry, PersonalOutput
from tests.privacy.conftest import later
from uptake.db import transaction

LIST = pl.DataFrame(
    {"id_foyer": ["a" * 64, "b" * 64], "nom": ["Durand", "Morel"], "telephone": ["+33612345678", None]}
)


def _write(engine: Engine, keyring: Keyring, approved: int, out: Path) -> retention.WrittenOutput:
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom", "telephone"], now=later(1))
        return retention.write_personal_output(
            session, keyring, grant, out, LIST, actor="equipe", label="sms", now=later(1)
        )


def test_a_personal_output_is_written_hashed_audited_and_kept_at_most_its_retention(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste-sms.csv"
    written = _write(engine, keyring, approved, out)
    assert out.read_text(encoding="utf-8").startswith("id_foyer;nom;telephone")
    assert written.retention_until == later(1).date() + (later(91).date() - later(1).date())
    with transaction(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "sortie.ecriture")).one()
        assert entry.output_sha256 == written.sha256
        assert "Durand" not in (entry.details or "")
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(2))
        assert retention.read_output(session, keyring, grant, written.id, now=later(2)) == out.read_bytes()


def test_purge_really_removes_the_data(
    engine: Engine, keyring: Keyring, sealed: None, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste-sms.csv"
    written = _write(engine, keyring, approved, out)
    with transaction(engine) as session:
        record = session.get(PersonalOutput, written.id)
        assert record is not None
        key_name, copy = record.key_name, Path(record.encrypted_path)
    stolen_copy = copy.read_bytes()  # e.g. a backup of the data folder taken before the purge
    with transaction(engine) as session:  # before the retention end: nothing is purged
        assert retention.purge(session, keyring, actor="planificateur", now=later(30)).outputs == 0
    assert out.exists()
    with transaction(engine) as session:
        report = retention.purge(session, keyring, actor="planificateur", now=later(120))
    assert (report.outputs, report.files_deleted, report.keys_destroyed) == (1, 2, 1)
    assert not out.exists() and not copy.exists()
    assert not keyring.has(key_name)
    with pytest.raises(KeyringError):
        retention.decrypt_copy(keyring, key_name, written.id, stolen_copy)
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(60))
        with pytest.raises(PrivacyError, match="purgée"):
            retention.read_output(session, keyring, grant, written.id, now=later(60))
        purges = session.scalars(select(AuditEntry).where(AuditEntry.action.like("purge%"))).all()
        assert {p.action for p in purges} >= {"purge", "purge.sortie"}
    assert audit.verify(engine, keyring.public_key()).ok


def test_text_content_must_declare_its_personal_fields(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "courrier.html"
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        with pytest.raises(PrivacyError, match="fields"):
            retention.write_personal_output(
                session, keyring, grant, out, "<p>Madame</p>", actor="e", label="l", now=later(1)
            )
        retention.write_personal_output(
            session, keyring, grant, out, "<p>Madame</p>", actor="e", label="l", fields=["nom"], now=later(1)
        )
    assert out.exists()


def test_a_failed_transaction_leaves_no_file_behind(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    with pytest.raises(RuntimeError), transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        retention.write_personal_output(
            session, keyring, grant, out, LIST, actor="e", label="l", now=later(1)
        )
        raise RuntimeError("panne après l'écriture")
    assert not out.exists()
    assert not list(keyring.keys_dir.glob("sortie-*"))


def test_an_output_that_cannot_be_written_leaves_neither_its_encrypted_copy_nor_its_key(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "pas-un-dossier"
    not_a_folder.write_text("")
    encrypted = retention.outputs_dir(keyring.keys_dir.parent)
    with pytest.raises(OSError):
        _write(engine, keyring, approved, not_a_folder / "liste.csv")
    assert not list(keyring.keys_dir.glob("sortie-*"))
    assert not encrypted.exists() or not list(encrypted.iterdir())


def test_purge_prunes_the_audit_log_only_when_it_verifies(
    engine: Engine, keyring: Keyring, sealed: None, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste-sms.csv"
    _write(engine, keyring, approved, out)
    # The log's entries bear the moment they were written (now): its retention counts from then.
    a_year_and_more = datetime.now(UTC) + timedelta(days=500)
    with transaction(engine) as session:
        report = retention.purge(session, keyring, actor="planificateur", now=a_year_and_more)
    assert report.outputs == 1 and report.audit_entries and report.audit_entries >= 4
    assert audit.verify(engine, keyring.public_key()).ok
    with engine.begin() as connection:  # an administrator alters the log...
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER privacy_audit_append_only ON privacy_audit"))
        else:
            connection.execute(text("DROP TRIGGER privacy_audit_no_update"))
        connection.execute(text("UPDATE privacy_audit SET actor = 'intrus'"))
    out2 = tmp_path / "liste-2.csv"
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(2))
        retention.write_personal_output(
            session, keyring, grant, out2, LIST, actor="e", label="l", now=later(2)
        )
    with transaction(engine) as session:  # ...the expired list is still shredded, the log kept as evidence
        report = retention.purge(session, keyring, actor="planificateur", now=later(900))
    assert report.outputs == 1 and report.audit_entries is None and not out2.exists()


def test_purge_never_signs_a_log_that_failed_its_verification(
    engine: Engine, keyring: Keyring, sealed: None, approved: int
) -> None:
    with transaction(engine) as session:  # an entry written around uptake: no checkpoint attests it
        audit.append(session, actor="intrus", action="registre.chargement")
        audit.leave_unsigned(session)

    with transaction(engine) as session:
        report = retention.purge(session, keyring, actor="planificateur")

    assert report.audit_entries is None
    problem = audit.verify(engine, keyring.public_key()).problem
    assert problem is not None and problem.kind == "non_signee"
