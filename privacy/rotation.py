"""Rotation of a territory's pseudonymisation root, re-keying the pseudonyms privacy stores.

A keyed MAC cannot be inverted, so the old-to-new mapping is rebuilt from the Caf's own list of
matricules (a raw extract): for every matricule and purpose, old pseudonym → new pseudonym. Privacy then
re-keys what it holds: vault records (decrypted under the old pseudonym, re-encrypted under the new
one), oppositions, the households recorded for each personal output; and it records the pair in
`privacy_pseudonym_alias` so that the audit log, which is never rewritten, stays searchable for access
requests. Vault records whose household is absent from the list are deleted (the Caf no longer knows
the household); oppositions stay until they expire.

What privacy does NOT hold and must be re-keyed by its owner, with `RotationResult.mapping`: the
pseudonymised extracts on disk (simply pseudonymise the raw extracts again), detection flags and runs,
outreach campaign history (recent contacts), worklists and outcomes. Until then, joins between old and
new pseudonyms match nothing: re-key the campaign history before the next campaign, or the "recently
contacted" rule cannot see past contacts.

The new root is written as `<root>-suivante` during the transaction and promoted by `promote` once the
database changes are committed: a failure in between leaves both keys, and `promote` can be re-run.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import canonical_json, utc_now, utc_stamp
from privacy.directory import RAW_IDENTIFIER
from privacy.errors import InputInvalid
from privacy.files import scan_table
from privacy.keys import Keyring, derive_pseudonym_key, pseudonym_root_name
from privacy.models import ContactRecord, Opposition, OutputHousehold, PseudonymAlias
from privacy.pseudonyms import key_text, pseudonym_expr
from privacy.vault import vault_key_name

_CHUNK = 500


@dataclass(frozen=True)
class RotationResult:
    """What a rotation re-keyed, and the old → new mapping (`ancien`, `nouveau`) for other packages."""

    households: int
    vault_rekeyed: int
    vault_deleted: int
    oppositions_rekeyed: int
    mapping: pl.DataFrame


def _next_name(territory: str) -> str:
    return f"{pseudonym_root_name(territory)}-suivante"


def rotate(
    session: Session,
    keyring: Keyring,
    raw: Path,
    *,
    territory: str,
    finalites: Sequence[str],
    actor: str,
    now: datetime | None = None,
) -> RotationResult:
    """Re-key the stored pseudonyms of `territory` under a new root (call `promote` after commit)."""
    moment = now or utc_now()
    frame = scan_table(raw)
    if RAW_IDENTIFIER not in frame.collect_schema().names():
        raise InputInvalid(
            str(raw), f"colonne `{RAW_IDENTIFIER}` absente", "donnez un extrait brut (avec matricules)"
        )
    new_root = secrets.token_bytes(32)
    keyring.store(_next_name(territory), new_root)
    identifiers = frame.select(RAW_IDENTIFIER).unique().collect()
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
    lookup = dict(zip(mapping["ancien"].to_list(), mapping["nouveau"].to_list(), strict=True))
    stamp = utc_stamp(moment)

    cipher = AESGCM(keyring.secret(vault_key_name(territory)))
    rekeyed = deleted = 0
    records = list(session.scalars(select(ContactRecord).where(ContactRecord.territory == territory)))
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
    opposition_names, moved = _rekey(session, Opposition, lookup)
    listed_names, _ = _rekey(session, OutputHousehold, lookup)
    held = {r.pseudonym for r in records} | opposition_names | listed_names
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
            "oppositions": moved,
        },
        details={"finalites": list(finalites)},
        keyring=keyring,
        now=moment,
    )
    return RotationResult(identifiers.height, rekeyed, deleted, moved, mapping)


def _rekey(
    session: Session, model: type[Opposition] | type[OutputHousehold], lookup: dict[str, str]
) -> tuple[set[str], int]:
    """Replace old pseudonyms by new ones in `model.pseudonym`: (old pseudonyms found, rows changed)."""
    found = set(session.scalars(select(model.pseudonym).distinct())) & lookup.keys()
    changed = 0
    for old in found:
        result = session.execute(update(model).where(model.pseudonym == old).values(pseudonym=lookup[old]))
        changed += int(getattr(result, "rowcount", 0))
    return found, changed


def promote(keyring: Keyring, territory: str) -> bool:
    """Make the new root the territory's root and destroy the old one; False if no rotation is pending."""
    pending = _next_name(territory)
    if not keyring.has(pending):
        return False
    keyring.store(pseudonym_root_name(territory), keyring.load(pending))
    keyring.destroy(pending)
    return True


def abandon(keyring: Keyring, territory: str) -> None:
    """Forget a rotation whose database transaction failed (the old root stays in use)."""
    keyring.destroy(_next_name(territory))
