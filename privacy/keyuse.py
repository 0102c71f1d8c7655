"""Which keys the database already depends on, so that a lost key file is said, never replaced.

Keys are generated at first use. Once the vault holds contacts, the pseudonyms of a territory are in
use, or the audit log is signed, the key behind them must exist: a key file lost with a folder
restored without it would otherwise be generated again, and the vault would no longer decrypt, every
matricule typed for a person's request would match nothing (« aucune donnée »), and the log's
checkpoints would stop verifying.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy.keys import SIGNING_KEY, Keyring, pseudonym_root_name, vault_key_name
from privacy.models import AuditCheckpoint, AuditEntry, ContactRecord


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
    """Mark the keys in use as required in `keyring` (never generated again); return the names of
    those whose file is missing, for a check to say."""
    keyring.required = keys_in_use(session)
    return sorted(name for name in keyring.required if not keyring.has(name))
