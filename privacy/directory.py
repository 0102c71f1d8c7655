"""The contact directory contract v1: the only place where names, numbers and addresses live.

Also its import into the vault, which keeps a household's stored valid values when the new file's
are rejected.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy.canonical import canonical_json
from privacy.files import read_table
from privacy.keys import Keyring
from privacy.models import ContactRecord

if TYPE_CHECKING:
    from privacy.vault import ImportReport

PSEUDONYM_COLUMN = "id_foyer"
RAW_IDENTIFIER = "matricule"

# Personal fields, in the contract's order; an exchange approves a subset of them.
PERSONAL_FIELDS: tuple[str, ...] = (
    "civilite",
    "nom",
    "prenom",
    "telephone",
    "email",
    "adresse",
    "code_postal",
    "ville",
)
CONTACT_COLUMNS: tuple[str, ...] = (PSEUDONYM_COLUMN, *PERSONAL_FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = ("nom", "prenom")
CIVILITES: tuple[str, ...] = ("M.", "Mme")

# What each contact channel needs to be usable.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("telephone",),
    "email": ("email",),
    "telephone": ("telephone",),
    "courrier": ("adresse", "code_postal", "ville"),
}

# A pseudonym of the extract contract: 16 to 128 characters of [A-Za-z0-9_-].
PSEUDONYM_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"

_CHUNK = 500


# The exit code of an import that stored the valid records but rejected others (duplicate or malformed
# `id_foyer`): a script must see that part of the directory is missing.
INCOMPLETE_EXIT = 1


@dataclass(frozen=True)
class DirectoryImport:
    """What importing the contact directory did: the vault's report, and per column the number of
    households whose stored valid value was kept because the file's value was rejected."""

    report: ImportReport
    kept: dict[str, int]

    @property
    def exit_code(self) -> int:
        """0 when every record of the file was stored, `INCOMPLETE_EXIT` when some were rejected."""
        return INCOMPLETE_EXIT if self.report.rejected else 0


@dataclass(frozen=True)
class _Held:
    """A household's record as it was before the import (still encrypted)."""

    nonce: bytes
    ciphertext: bytes
    usable: frozenset[str]


def import_directory(
    session: Session,
    keyring: Keyring,
    source: Path,
    *,
    territory: str,
    actor: str,
    replace_all: bool = False,
    now: datetime | None = None,
) -> DirectoryImport:
    """Validate the contact directory and store it in the vault (`vault.import_contacts`), keeping a
    household's stored valid value of a field whose value in the file is rejected: a number mistyped
    in this month's directory must not erase the good one held."""
    # The vault reads this module's contract constants: imported here rather than in a cycle.
    from privacy import vault

    frame = read_table(source)
    names = (
        frame[PSEUDONYM_COLUMN].cast(pl.String).str.strip_chars().to_list()
        if PSEUDONYM_COLUMN in frame.columns
        else []
    )
    held = _held(session, territory, names)
    report = vault.import_contacts(
        session, keyring, source, territory=territory, actor=actor, replace_all=replace_all, now=now
    )
    cipher = AESGCM(keyring.secret(vault.vault_key_name(territory)))
    kept: Counter[str] = Counter()
    for pseudonym, before in held.items():
        kept.update(_keep_valid_fields(session, cipher, pseudonym, before))
    session.flush()
    return DirectoryImport(report, dict(kept))


def _held(session: Session, territory: str, names: list[str]) -> dict[str, _Held]:
    """The territory's records of the households `names`, as they are now."""
    unique = [name for name in dict.fromkeys(names) if name]
    found: dict[str, _Held] = {}
    for start in range(0, len(unique), _CHUNK):
        query = select(
            ContactRecord.pseudonym,
            ContactRecord.nonce,
            ContactRecord.ciphertext,
            ContactRecord.usable_fields,
        ).where(
            ContactRecord.territory == territory,
            ContactRecord.pseudonym.in_(unique[start : start + _CHUNK]),
        )
        for pseudonym, nonce, ciphertext, usable in session.execute(query):
            found[pseudonym] = _Held(nonce, ciphertext, frozenset(usable))
    return found


def _keep_valid_fields(session: Session, cipher: AESGCM, pseudonym: str, before: _Held) -> list[str]:
    """Put back into the household's new record the stored values of the fields the file gave
    invalid; the fields put back."""
    record = session.get(ContactRecord, pseudonym)
    if record is None:  # the file's row was rejected: the import left nothing to complete
        return []
    restored = sorted((before.usable & set(record.invalid_fields)) - set(record.usable_fields))
    if not restored:
        return []
    aad = pseudonym.encode()
    old = json.loads(cipher.decrypt(before.nonce, before.ciphertext, aad))
    values = json.loads(cipher.decrypt(record.nonce, record.ciphertext, aad))
    values.update({name: old[name] for name in restored if name in old})
    nonce = secrets.token_bytes(12)
    record.nonce, record.ciphertext = nonce, cipher.encrypt(nonce, canonical_json(values), aad)
    record.usable_fields = sorted(values)
    record.invalid_fields = [name for name in record.invalid_fields if name not in values]
    return [name for name in restored if name in old]
