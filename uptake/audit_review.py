"""What the DPO reviews before attesting the log's unattested entries: the range, its dates, and each
operation with its count, actors and dates. `uptake audit attester` and the web journal show the same."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy.audit import Unattested
from privacy.models import AuditEntry
from uptake.audit_labels import action_label

# How many actors of one operation are named before « … ».
ACTORS_SHOWN = 4


@dataclass(frozen=True)
class OperationReviewed:
    """The entries of one operation in the reviewed range: how many, by whom, first and last stamps
    (UTC, as stored)."""

    action: str
    label: str
    entries: int
    actors: tuple[str, ...]
    first_at: str
    last_at: str

    @property
    def actors_shown(self) -> str:
        """The first actors by name, « … » for the others."""
        shown = ", ".join(self.actors[:ACTORS_SHOWN])
        return shown + (", …" if len(self.actors) > ACTORS_SHOWN else "")


@dataclass(frozen=True)
class Review:
    """The unattested entries `pending` as the DPO sees them before attesting; `end` is the log's last
    entry (after `pending.last` when the review stops short of it)."""

    pending: Unattested
    first_at: str
    last_at: str
    operations: tuple[OperationReviewed, ...]
    end: int


def review(session: Session, pending: Unattested) -> Review:
    """The facts of `pending` read from the log, operations in the order they first appear."""
    rows = session.execute(
        select(AuditEntry.at, AuditEntry.actor, AuditEntry.action)
        .where(AuditEntry.seq.between(pending.first, pending.last))
        .order_by(AuditEntry.seq)
    ).all()
    by_action: dict[str, list[tuple[str, str]]] = {}
    for at, actor, action in rows:
        by_action.setdefault(action, []).append((at, actor))
    operations = tuple(
        OperationReviewed(
            action=action,
            label=action_label(action),
            entries=len(entries),
            actors=tuple(sorted({actor for _at, actor in entries})),
            first_at=entries[0][0],
            last_at=entries[-1][0],
        )
        for action, entries in by_action.items()
    )
    end = session.scalar(select(func.max(AuditEntry.seq))) or pending.last
    return Review(pending=pending, first_at=rows[0].at, last_at=rows[-1].at, operations=operations, end=end)
