"""Rotation of a territory's pseudonymisation root, re-keying every stored pseudonym.

A keyed MAC cannot be inverted, so the old-to-new mapping is rebuilt from the Caf's own list of
matricules (a raw extract): for every matricule and purpose, old pseudonym → new pseudonym. Privacy
re-keys what it holds: vault records (decrypted under the old pseudonym, re-encrypted under the new
one), oppositions, the households recorded for each personal output; and it records the pair in
`privacy_pseudonym_alias` so that the audit log, which is never rewritten, stays searchable for access
requests. Vault records whose household is absent from the list are deleted (the Caf no longer knows
the household); oppositions stay until they expire.

The other packages' tables are re-keyed in the same transaction by the `Rekeyer` functions their
owners give to `rotate` (privacy uses none of them): each updates its columns from the mapping, held
in a temporary table for the length of the rotation (`rekey_column`), and says which old pseudonyms
it held, so that they get an alias too. Files (pseudonymised extracts, flags files) are their
owners' to rewrite with `RotationResult.mapping`, after the commit.

The new root is written as `<root>-suivante` during the transaction and promoted by `promote` once the
database changes are committed; the transaction records the new root's fingerprint. A failure between
the commit and `promote` leaves both keys: the next load of the root finds the file's fingerprint is not
the recorded one, but the pending root's is, and finishes the rotation (`Keyring.load`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, MetaData, String, Table, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from privacy import audit, keyuse
from privacy.canonical import canonical_json, utc_now, utc_stamp
from privacy.directory import RAW_IDENTIFIER
from privacy.errors import InputInvalid, KeyringError
from privacy.files import reading, scan_table
from privacy.keys import (
    ROTATION_SUFFIX,
    Keyring,
    derive_pseudonym_key,
    key_fingerprint,
    pseudonym_root_name,
    vault_key_name,
)
from privacy.models import ContactRecord, Opposition, OutputHousehold, PseudonymAlias
from privacy.pseudonyms import key_text, pseudonym_expr
from privacy.vault import MASS_DELETION_FLOOR, MASS_DELETION_SHARE

_CHUNK = 500
_MAPPING_CHUNK = 10_000


@dataclass(frozen=True)
class Rekeyed:
    """What re-keying one column changed: its code (the audit log's counts) and its French label,
    the old pseudonyms found in it, and the rows changed."""

    what: str
    label: str
    pseudonyms: frozenset[str]
    rows: int


# Re-keys an owner's tables from the mapping table (columns `ancien`, `nouveau`), in the rotation's
# transaction.
Rekeyer = Callable[[Session, Table], list[Rekeyed]]


@dataclass(frozen=True)
class RotationResult:
    """What a rotation re-keyed, and the old → new mapping (`ancien`, `nouveau`) for other packages."""

    households: int
    vault_rekeyed: int
    vault_deleted: int
    oppositions_rekeyed: int
    mapping: pl.DataFrame
    others: tuple[Rekeyed, ...] = ()


@contextmanager
def mapping_table(session: Session, mapping: pl.DataFrame) -> Iterator[Table]:
    """The old → new pseudonyms in a temporary table of the session's connection, in its transaction."""
    table = Table(
        "rotation_correspondance",
        MetaData(),
        Column("ancien", String(128), primary_key=True),
        Column("nouveau", String(128), nullable=False),
        prefixes=["TEMPORARY"],
    )
    connection = session.connection()
    # A table left by a failed rotation on this pooled connection (SQLite's driver runs DDL outside
    # the transaction) is replaced.
    table.drop(connection, checkfirst=True)
    table.create(connection)
    for chunk in mapping.select("ancien", "nouveau").iter_slices(_MAPPING_CHUNK):
        session.execute(insert(table), chunk.to_dicts())
    yield table
    # Dropped on success only: after a failure the transaction is rolled back, and the table created
    # in it with it (a statement sent then would fail on PostgreSQL and hide the first error).
    table.drop(connection)


def rekey_column(
    session: Session, column: InstrumentedAttribute[str], mapping: Table, what: str, label: str
) -> Rekeyed:
    """Replace, in one statement, the old pseudonyms of `column` by the new ones of `mapping`."""
    known = select(mapping.c.ancien)
    found = frozenset(session.scalars(select(column).where(column.in_(known)).distinct()))
    if not found:
        return Rekeyed(what, label, found, 0)
    new = select(mapping.c.nouveau).where(mapping.c.ancien == column).scalar_subquery()
    result = session.execute(
        update(column.class_).where(column.in_(known)).values({column.key: new}),
        execution_options={"synchronize_session": False},
    )
    return Rekeyed(what, label, found, int(getattr(result, "rowcount", 0)))


def known_matricules(raw: Path) -> pl.DataFrame:
    """The distinct matricules of a raw extract; a file without any is refused, for every vault record
    of a household absent from it would be deleted."""
    frame = scan_table(raw)
    if RAW_IDENTIFIER not in frame.collect_schema().names():
        raise InputInvalid(
            str(raw), f"colonne `{RAW_IDENTIFIER}` absente", "donnez un extrait brut (avec matricules)"
        )
    with reading(raw):
        identifiers = frame.select(RAW_IDENTIFIER).unique().collect()
    if identifiers.select(pl.col(RAW_IDENTIFIER).is_not_null().sum()).item() == 0:
        raise InputInvalid(
            str(raw),
            "aucun matricule dans le fichier",
            "donnez l'extrait brut complet des foyers connus de la Caf",
        )
    return identifiers


def _next_name(territory: str) -> str:
    return f"{pseudonym_root_name(territory)}{ROTATION_SUFFIX}"


def rotate(
    session: Session,
    keyring: Keyring,
    raw: Path,
    *,
    territory: str,
    finalites: Sequence[str],
    actor: str,
    also: Sequence[Rekeyer] = (),
    mass_deletion: bool = False,
    now: datetime | None = None,
) -> RotationResult:
    """Re-key the stored pseudonyms of `territory` under a new root, privacy's and those the `also`
    functions re-key, in the caller's transaction (call `promote` after the commit).

    The vault's records of households absent from `raw` are deleted; more than half of them only
    with `mass_deletion` (`InputInvalid` otherwise: a partial raw extract, or a wrong purpose whose
    pseudonyms match no record, would empty the vault)."""
    moment = now or utc_now()
    identifiers = known_matricules(raw)
    new_root = secrets.token_bytes(32)
    keyring.store(_next_name(territory), new_root)
    parts = []
    for finalite in finalites:
        old_key = key_text(keyring, territory, finalite)
        new_key = derive_pseudonym_key(new_root, finalite).hex()
        parts.append(
            identifiers.select(
                pseudonym_expr(old_key).alias("ancien"), pseudonym_expr(new_key).alias("nouveau")
            ).drop_nulls()
        )
    mapping = pl.concat(parts)
    root_name = pseudonym_root_name(territory)
    # The database switches to the new root in this transaction: so does the fingerprint it expects.
    keyuse.record_switch(session, keyring, root_name, key_fingerprint(root_name, new_root), now=moment)
    lookup = dict(zip(mapping["ancien"].to_list(), mapping["nouveau"].to_list(), strict=True))
    stamp = utc_stamp(moment)

    cipher = AESGCM(keyring.secret(vault_key_name(territory)))
    rekeyed = deleted = 0
    records = list(session.scalars(select(ContactRecord).where(ContactRecord.territory == territory)))
    absent = sum(1 for record in records if record.pseudonym not in lookup)
    if not mass_deletion and absent > MASS_DELETION_FLOOR and absent > MASS_DELETION_SHARE * len(records):
        raise InputInvalid(
            str(raw),
            f"{absent} des {len(records)} foyers du coffre sont absents de cet extrait brut (finalité "
            f"{', '.join(finalites)}) : la rotation les effacerait ; rien n'a été changé",
            "donnez l'extrait brut complet et la finalité des pseudonymes du coffre ; si ces foyers "
            "sont vraiment sortis, relancez avec --effacement-massif",
        )
    for record in records:
        new = lookup.get(record.pseudonym)
        if new is None:
            session.delete(record)
            deleted += 1
            continue
        values = json.loads(cipher.decrypt(record.nonce, record.ciphertext, record.pseudonym.encode()))
        nonce = secrets.token_bytes(12)
        replacement = ContactRecord(
            pseudonym=new,
            territory=territory,
            nonce=nonce,
            ciphertext=cipher.encrypt(nonce, canonical_json(values), new.encode()),
            usable_fields=record.usable_fields,
            invalid_fields=record.invalid_fields,
            imported_at=record.imported_at,
        )
        session.delete(record)
        session.flush()
        session.add(replacement)
        rekeyed += 1
    with mapping_table(session, mapping) as table:
        opposition = rekey_column(session, Opposition.pseudonym, table, "oppositions", "oppositions")
        listed = rekey_column(
            session, OutputHousehold.pseudonym, table, "foyers_des_sorties", "foyers des sorties"
        )
        others = tuple(done for rekeyer in also for done in rekeyer(session, table))
    held = {r.pseudonym for r in records} | opposition.pseudonyms | listed.pseudonyms
    held |= {pseudonym for done in others for pseudonym in done.pseudonyms}
    session.add_all(
        PseudonymAlias(old_pseudonym=old, new_pseudonym=new, rotated_at=stamp)
        for old, new in lookup.items()
        if old in held
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="cles.rotation",
        object_ref=f"territoire:{territory}",
        counts={
            "foyers": identifiers.height,
            "coffre_rechiffres": rekeyed,
            "coffre_supprimes": deleted,
            "oppositions": opposition.rows,
            **{done.what: done.rows for done in others},
        },
        details={"finalites": list(finalites)},
        keyring=keyring,
    )
    return RotationResult(identifiers.height, rekeyed, deleted, opposition.rows, mapping, others)


def promote(keyring: Keyring, territory: str) -> bool:
    """Make the new root the territory's root and destroy the old one; False if no rotation is pending."""
    pending = _next_name(territory)
    if not keyring.has(pending):
        return False
    try:
        secret = keyring.load(pending)
    except KeyringError:
        if keyring.has(pending):
            raise
        return False  # finished meanwhile by a process that loaded the root (`Keyring.load`)
    keyring.store(pseudonym_root_name(territory), secret)
    keyring.destroy(pending)
    return True


def abandon(keyring: Keyring, territory: str) -> None:
    """Forget a rotation whose database transaction failed (the old root stays in use)."""
    keyring.destroy(_next_name(territory))


def current_pseudonyms(session: Session, pseudonyms: Collection[str]) -> dict[str, str]:
    """The pseudonym each of `pseudonyms` has now, for those key rotations renamed (through every
    rotation since); the others are left out. For a file typed before a rotation (a call list) whose
    households must still be found."""
    current: dict[str, str] = {}
    pending = {p: p for p in pseudonyms}  # old pseudonym as given → the one reached so far
    visited: dict[str, set[str]] = {}
    # One hop per rotation: the aliases of a rotation name the pseudonyms of the one before.
    while pending:
        reached = sorted(set(pending.values()))
        step: dict[str, str] = {}
        for start in range(0, len(reached), _CHUNK):
            chunk = reached[start : start + _CHUNK]
            query = select(PseudonymAlias.old_pseudonym, PseudonymAlias.new_pseudonym).where(
                PseudonymAlias.old_pseudonym.in_(chunk)
            )
            step.update((old, new) for old, new in session.execute(query) if new != old)
        # A pseudonym its chain already went through ends it (no loop, whatever the table holds).
        pending = {
            given: step[now]
            for given, now in pending.items()
            if now in step and step[now] not in visited.setdefault(given, {given})
        }
        for given, now in pending.items():
            visited[given].add(now)
        current.update(pending)
    return current
