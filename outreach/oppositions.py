"""The privacy opposition register, as outreach sees it: who objected, and recording a new objection.

The register belongs to `privacy.subjects`; this module is outreach's only door to it, so that
selection, follow-ups and outcomes all read and write it the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from privacy import subjects


def opposed(session: Session, pseudonyms: Iterable[str], *, now: dt.datetime) -> set[str]:
    """The households among `pseudonyms` with an objection in force at `now`."""
    return subjects.opposed(session, pseudonyms, now=now)


def record(session: Session, pseudonym: str, *, source: str, actor: str, now: dt.datetime) -> None:
    """Add an objection to the register (kept for the privacy default duration; audited)."""
    subjects.record_opposition(session, pseudonym, source=source, actor=actor, now=now)
