"""The privacy opposition register, as outreach sees it: who objected, and recording a new objection.

The register belongs to `privacy` (table `privacy_opposition`); this module is outreach's only door
to it, so that selection and outcomes do not each read it their own way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import utc_stamp
from privacy.models import Opposition
from privacy.retention import add_months

# How long an objection recorded by outreach is kept (the privacy policy: 12 to 24 months).
OPPOSITION_MONTHS = 24
_CHUNK = 5000


def opposed(session: Session, pseudonyms: Iterable[str], *, today: dt.date | None = None) -> set[str]:
    """The households among `pseudonyms` with an objection still in force."""
    day = today or dt.datetime.now(dt.UTC).date()
    names = list(dict.fromkeys(pseudonyms))
    found: set[str] = set()
    for start in range(0, len(names), _CHUNK):
        query = select(Opposition.pseudonym).where(
            Opposition.pseudonym.in_(names[start : start + _CHUNK]), Opposition.expires_on >= day
        )
        found.update(session.scalars(query))
    return found


def record(session: Session, pseudonym: str, *, source: str, actor: str, now: dt.datetime) -> None:
    """Add an objection to the register (audited with the pseudonym only)."""
    session.add(
        Opposition(
            pseudonym=pseudonym,
            recorded_at=utc_stamp(now),
            expires_on=add_months(now.date(), OPPOSITION_MONTHS),
            source=source,
        )
    )
    session.flush()
    audit.append(
        session, actor=actor, action="opposition.enregistrement", object_ref=f"foyer:{pseudonym}", now=now
    )
