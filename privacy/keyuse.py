"""Which keys the database already depends on, so that a lost key file is said, never replaced.

Keys are generated at first use. Once the vault holds contacts, the pseudonyms of a territory are in
use, or the audit log is signed, the key behind them must exist: a key file lost with a folder
restored without it would otherwise be generated again, and the vault would no longer decrypt, every
matricule typed for a person's request would match nothing (« aucune donnée »), and the log's
checkpoints would stop verifying.

A key file can also be replaced by another one that opens under the same master secret (a keys folder
restored from another installation, or from another date): the database records each data key's
fingerprint (`privacy.keys.key_fingerprint`, never the key) and the keyring refuses a key whose
fingerprint is not the recorded one. The first fingerprint is trusted: that of the key's first use, or,
for a key created before fingerprints were recorded, of its first use since (trust on first use).
A key met without a record is written by the next commit of a session on the database's engine (in the
caller's transaction: a write of its own would wait, on SQLite, for the caller's write lock), and a
checkpoint's signing key with the checkpoint (`write_met`, called by `privacy.audit`).
"""

from __future__ import annotations

import json
import weakref
from datetime import datetime

from sqlalchemy import Connection, Engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from privacy.canonical import utc_now, utc_stamp
from privacy.errors import KeyringError
from privacy.keys import (
    SIGNING_KEY,
    Keyring,
    is_data_key,
    pseudonym_root_name,
    stored_keys,
    vault_key_name,
)
from privacy.models import AuditCheckpoint, AuditEntry, ContactRecord, KeyFingerprint

# Set on a session: the fingerprints its transaction wrote, to forget once committed (book, name, value),
# and the keys it switched to another (a rotation), whose earlier notes no longer hold.
_WRITTEN = "keyuse_written"
_SWITCHED = "keyuse_switched"


def keys_in_use(session: Session) -> dict[str, str]:
    """The key names the database's data depends on, each with what depends on it (in French)."""
    needed: dict[str, str] = {}
    if session.scalar(select(AuditCheckpoint.id).limit(1)) is not None:
        needed[SIGNING_KEY] = "le journal d'audit signé"
    for territory in session.scalars(select(ContactRecord.territory).distinct()):
        needed[vault_key_name(territory)] = "le coffre des contacts chiffrés"
    # The pseudonyms' root is known to exist once uptake pseudonymised a file with it (its entry says
    # for which territory); pseudonyms made elsewhere do not make it required.
    # A range, not LIKE: the index on the action serves it on SQLite too.
    pseudonymised = select(AuditEntry.details).where(
        AuditEntry.action >= "pseudonymisation.", AuditEntry.action < "pseudonymisation/"
    )
    for details in session.scalars(pseudonymised.distinct()):
        territory = json.loads(details or "{}").get("territoire")
        if territory:
            needed[pseudonym_root_name(territory)] = "les pseudonymes des extraits et du coffre"
    return needed


def require_keys(session: Session, keyring: Keyring) -> list[str]:
    """Mark the keys in use as required in `keyring` (never generated again) and have its data keys
    checked against the fingerprints the database recorded; return the names of the required keys
    whose file is missing, for a check to say."""
    keyring.required = keys_in_use(session)
    keyring.book = DatabaseFingerprints(_engine_of(session))
    return sorted(name for name in keyring.required if not keyring.has(name))


class DatabaseFingerprints:
    """The fingerprints a database recorded of its data keys (read at each load: another process may
    have switched a key since), and those this process met without a record, until a commit writes them."""

    def __init__(self, engine: Engine) -> None:
        """The book of the database `engine` opens; its notes are written by that engine's commits."""
        self.engine = engine
        self.unrecorded: dict[str, tuple[str, str | None]] = {}
        _BOOKS.setdefault(engine, weakref.WeakSet()).add(self)

    def recorded(self, name: str) -> str | None:
        """The fingerprint the database holds for the key `name` (committed), None without one."""
        with self.engine.connect() as connection:
            return recorded_fingerprints(connection).get(name)

    def met(self, name: str, fingerprint: str, replaces: str | None) -> None:
        """Note a key's fingerprint for the next commit to record."""
        self.unrecorded[name] = (fingerprint, replaces)


# The books of each engine, for its sessions' commits to write their notes.
_BOOKS: weakref.WeakKeyDictionary[Engine, weakref.WeakSet[DatabaseFingerprints]] = weakref.WeakKeyDictionary()


def recorded_fingerprints(connection: Session | Connection) -> dict[str, str]:
    """Every recorded fingerprint, by key name."""
    rows = connection.execute(select(KeyFingerprint.name, KeyFingerprint.fingerprint))
    return {name: value for name, value in rows}


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def write_met(session: Session) -> None:
    """Record, in `session`'s transaction, the fingerprints the keyrings of its engine met without a
    record; `KeyringError` when the database meanwhile recorded another key under the same name."""
    written = session.info.setdefault(_WRITTEN, [])
    switched = session.info.get(_SWITCHED, set())
    for book in list(_BOOKS.get(_engine_of(session), ())):
        for name, (value, replaces) in list(book.unrecorded.items()):
            if name in switched or (book, name, value) in written:
                continue
            _compare_and_set(session, name, value, replaces, utc_now())
            written.append((book, name, value))


def _compare_and_set(session: Session, name: str, value: str, replaces: str | None, now: datetime) -> None:
    """Record `value` for the key `name` where the database holds `replaces` (None: nothing), so that
    two processes meeting different keys under one name cannot both be recorded."""
    stamp = utc_stamp(now)
    if replaces is not None:
        session.execute(
            update(KeyFingerprint)
            .where(KeyFingerprint.name == name, KeyFingerprint.fingerprint == replaces)
            .values(fingerprint=value, recorded_at=stamp)
        )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(KeyFingerprint)
        .values(name=name, fingerprint=value, recorded_at=stamp)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    held = session.scalar(select(KeyFingerprint.fingerprint).where(KeyFingerprint.name == name))
    if held != value:
        raise KeyringError(
            f"clé « {name} »",
            f"deux clés différentes sous ce nom : la base vient d'en noter une autre (empreinte {held}) "
            f"que celle de ce fichier (empreinte {value}) ; rien n'a été écrit",
            "un autre processus utilise un autre dossier de clés avec cette base : vérifiez UPTAKE_HOME et "
            "le dossier des clés de chaque service (démon, application web, commandes)",
        )


def record_switch(session: Session, keyring: Keyring, name: str, fingerprint: str, *, now: datetime) -> None:
    """Record, in `session`'s transaction, that the database now expects the key `name` to have
    `fingerprint` (a rotation's new key), whatever it expected before."""
    stamp = utc_stamp(now)
    if session.get(KeyFingerprint, name) is None:
        session.add(KeyFingerprint(name=name, fingerprint=fingerprint, recorded_at=stamp))
    else:
        session.execute(
            update(KeyFingerprint)
            .where(KeyFingerprint.name == name)
            .values(fingerprint=fingerprint, recorded_at=stamp)
        )
    session.flush()
    session.info.setdefault(_SWITCHED, set()).add(name)
    if isinstance(keyring.book, DatabaseFingerprints):
        keyring.book.unrecorded.pop(name, None)


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if _BOOKS.get(_engine_of(session)):
        write_met(session)


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    for book, name, value in session.info.pop(_WRITTEN, []):
        if book.unrecorded.get(name, ("",))[0] == value:
            del book.unrecorded[name]
    session.info.pop(_SWITCHED, None)


@event.listens_for(Session, "after_rollback")
def _keep_unwritten(session: Session) -> None:
    # Rolled back: what the transaction wrote is not recorded; the notes stay for the next commit.
    session.info.pop(_WRITTEN, None)
    session.info.pop(_SWITCHED, None)


def fingerprint_problems(session: Session, keyring: Keyring) -> tuple[list[str], list[str]]:
    """The data keys of `keyring`'s folder whose file holds another key than the one the database
    recorded (each said in French), and the names of those without a record yet (recorded at their
    next use); read only, for a check."""
    recorded = recorded_fingerprints(session)
    replaced, unrecorded = [], []
    for name in filter(is_data_key, stored_keys(keyring.keys_dir)):
        expected = recorded.get(name)
        if expected is None:
            unrecorded.append(name)
            continue
        try:
            refusal = keyring.refusal(name, expected)
        except KeyringError as exc:  # not even readable: said as the commands would say it
            refusal = exc
        if refusal is not None:
            replaced.append(str(refusal))
    return replaced, unrecorded
