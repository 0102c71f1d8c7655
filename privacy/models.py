"""Tables owned by the `privacy` package (its own declarative base; migrations in `privacy/migrations`).

Timestamps are stored as `utc_stamp` strings (`2026-03-01T08:30:00.000000Z`): they enter hashes and
signatures, so they must read back byte for byte the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the `privacy` tables (names prefixed `privacy_`)."""


class AuditEntry(Base):
    """One entry of the hash-chained audit log (append-only; never updated or deleted by the code)."""

    __tablename__ = "privacy_audit"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_ref: Mapped[str | None] = mapped_column(String(300), index=True)
    counts: Mapped[str | None] = mapped_column(Text)
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed statement "the log had `seq` entries and the last one hashed to `entry_hash`"."""

    __tablename__ = "privacy_audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(32))
    key_fingerprint: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    # `point`: periodic; `ancre`: left by `audit.prune`, the signed start of the log after old entries
    # were removed at the end of their retention.
    kind: Mapped[str] = mapped_column(String(16), default="point", server_default="point")


class AuditLock(Base):
    """One row locked by every append, so that concurrent writers take turns."""

    __tablename__ = "privacy_audit_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    appends: Mapped[int] = mapped_column(Integer, default=0)


class RegisterEntry(Base):
    """An entry of the record of processing activities (GDPR art. 30)."""

    __tablename__ = "privacy_register_entry"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    nom: Mapped[str] = mapped_column(String(300))
    responsable: Mapped[str] = mapped_column(String(300))
    dpo: Mapped[str] = mapped_column(String(300))
    finalites: Mapped[list[str]] = mapped_column(JSON)
    base_legale: Mapped[str] = mapped_column(Text)
    personnes: Mapped[list[str]] = mapped_column(JSON)
    donnees: Mapped[list[str]] = mapped_column(JSON)
    destinataires: Mapped[list[str]] = mapped_column(JSON)
    transferts: Mapped[str] = mapped_column(Text)
    conservation: Mapped[str] = mapped_column(Text)
    mesures_securite: Mapped[list[str]] = mapped_column(JSON)
    aipd: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[str] = mapped_column(String(32))


class Exchange(Base):
    """An exchange of personal data: the request, then the DPO's signed decision."""

    __tablename__ = "privacy_exchange"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requester: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text)
    register_code: Mapped[str] = mapped_column(String(64), index=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    legal_basis: Mapped[str] = mapped_column(Text)
    retention_days: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    dpo: Mapped[str | None] = mapped_column(String(200))
    avis: Mapped[str | None] = mapped_column(Text)
    recommandations: Mapped[list[str] | None] = mapped_column(JSON)
    decided_at: Mapped[str | None] = mapped_column(String(32))
    key_fingerprint: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[str | None] = mapped_column(String(32))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revocation_reason: Mapped[str | None] = mapped_column(Text)


class ContactRecord(Base):
    """One household's contact details, encrypted (AES-GCM, associated data = its pseudonym)."""

    __tablename__ = "privacy_contact"

    pseudonym: Mapped[str] = mapped_column(String(128), primary_key=True)
    territory: Mapped[str] = mapped_column(String(64), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    usable_fields: Mapped[list[str]] = mapped_column(JSON)
    invalid_fields: Mapped[list[str]] = mapped_column(JSON)
    imported_at: Mapped[str] = mapped_column(String(32))


class PersonalOutput(Base):
    """A file holding personal data, written for an exchange, with its retention end and batch key."""

    __tablename__ = "privacy_output"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    exchange_id: Mapped[int] = mapped_column(Integer, index=True)
    label: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    encrypted_path: Mapped[str] = mapped_column(Text)
    # The data folder that wrote the files (`privacy.datafolder`): a copy of it leaves them alone.
    data_folder: Mapped[str | None] = mapped_column(Text)
    key_name: Mapped[str] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(32))
    retention_until: Mapped[date] = mapped_column(Date, index=True)
    purged_at: Mapped[str | None] = mapped_column(String(32))


class Opposition(Base):
    """A household's objection to proactive contact (GDPR art. 21), kept until `expires_on`."""

    __tablename__ = "privacy_opposition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pseudonym: Mapped[str] = mapped_column(String(128), index=True)
    recorded_at: Mapped[str] = mapped_column(String(32))
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(200))


class PseudonymAlias(Base):
    """After a key rotation: the former pseudonym of a household, so that the (immutable) audit
    entries written under the old key stay findable for an access request."""

    __tablename__ = "privacy_pseudonym_alias"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    old_pseudonym: Mapped[str] = mapped_column(String(128), index=True)
    new_pseudonym: Mapped[str] = mapped_column(String(128), index=True)
    rotated_at: Mapped[str] = mapped_column(String(32))


class OutputHousehold(Base):
    """A household whose data went into a personal output: the trace of the exchange (kept 36 months)."""

    __tablename__ = "privacy_output_household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    output_id: Mapped[str] = mapped_column(String(32), index=True)
    pseudonym: Mapped[str] = mapped_column(String(128), index=True)


class KeyFingerprint(Base):
    """The fingerprint of a key the database met at its first use (never the key): a key file later
    replaced by another one, which would open under the same master secret, is refused (`privacy.keyuse`)."""

    __tablename__ = "privacy_key_fingerprint"

    name: Mapped[str] = mapped_column(String(130), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[str] = mapped_column(String(32))
