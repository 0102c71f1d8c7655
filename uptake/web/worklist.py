"""Social workers' call lists over outreach's `outreach_worklist` table: my list, claiming the next
household so that two workers never get the same one, releasing it, closing it with an outcome.

The claim picks the most urgent free row of the worker's sectors with `SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL (concurrent workers skip each other's locked rows instead of waiting), then
takes it with a conditional `UPDATE … WHERE attribue_a IS NULL` whose row count proves the claim.
SQLite ignores the row lock but serialises writers, so the conditional update alone is the guard:
a worker who lost the race sees a row count of 0 and tries the next row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from outreach.models import WorklistItem
from outreach.outcomes import record_outcome
from privacy import subjects
from uptake.db import transaction

FREE, CLAIMED, DONE, OPPOSED = "a_appeler", "en_cours", "traite", "opposition"
STATUS_LABELS = {FREE: "à appeler", CLAIMED: "en cours", DONE: "traité", OPPOSED: "opposition"}
# Each failed try means a colleague took that row: enough for a team of social workers at once.
MAX_CLAIM_TRIES = 50


class WorklistError(Exception):
    """A worklist action that cannot be done; `str()` is a French message safe to show."""


@dataclass(frozen=True)
class WorklistRow:
    """One line of a call list, as pages show it (pseudonym only)."""

    id: int
    campagne: str
    id_foyer: str
    regle: str
    tentative: int
    priorite: int | None
    montant_estime: float | None
    code_commune: str
    distance_services_km: float | None
    motifs: str
    statut: str
    attribue_a: str | None
    launch_id: int

    @property
    def statut_label(self) -> str:
        """The status in French."""
        return STATUS_LABELS.get(self.statut, self.statut)

    @classmethod
    def of(cls, item: WorklistItem) -> WorklistRow:
        """Plain data from a row."""
        return cls(
            item.id,
            item.campagne,
            item.id_foyer,
            item.regle,
            item.tentative,
            item.priorite,
            item.montant_estime,
            item.code_commune,
            item.distance_services_km,
            item.motifs,
            item.statut,
            item.attribue_a,
            item.launch_id,
        )


def _urgency() -> list[ColumnElement[Any]]:
    # Same order as outreach's selection: priority (1 = highest), larger estimate, farther away.
    return [
        func.coalesce(WorklistItem.priorite, 99),
        func.coalesce(WorklistItem.montant_estime, 0.0).desc(),
        func.coalesce(WorklistItem.distance_services_km, 0.0).desc(),
        WorklistItem.id.asc(),
    ]


_ROW_COLUMNS = (
    WorklistItem.id,
    WorklistItem.campagne,
    WorklistItem.id_foyer,
    WorklistItem.regle,
    WorklistItem.tentative,
    WorklistItem.priorite,
    WorklistItem.montant_estime,
    WorklistItem.code_commune,
    WorklistItem.distance_services_km,
    WorklistItem.motifs,
    WorklistItem.statut,
    WorklistItem.attribue_a,
    WorklistItem.launch_id,
)


def my_worklist(
    session: Session, login: str, secteurs: Sequence[str], *, limit: int = 50
) -> list[WorklistRow]:
    """My claimed households first, then the free ones of my sectors, most urgent first."""
    # Plain columns, not ORM objects: this page is the most loaded one.
    query = (
        select(*_ROW_COLUMNS)
        .where(
            WorklistItem.code_commune.in_(list(secteurs)),
            or_(
                WorklistItem.statut == FREE,
                and_(WorklistItem.statut == CLAIMED, WorklistItem.attribue_a == login),
            ),
        )
        .order_by(case((WorklistItem.attribue_a == login, 0), else_=1), *_urgency())
        .limit(limit)
    )
    return [WorklistRow(**row._mapping) for row in session.execute(query)]


def count_free(session: Session, secteurs: Sequence[str], now: dt.datetime) -> int:
    """How many households of these sectors can be called now and are not claimed."""
    return (
        session.scalar(
            select(func.count())
            .select_from(WorklistItem)
            .where(
                WorklistItem.code_commune.in_(list(secteurs)),
                WorklistItem.statut == FREE,
                WorklistItem.appel_a_partir_de <= now,
            )
        )
        or 0
    )


def _current_claim(session: Session, login: str) -> WorklistItem | None:
    return session.scalars(
        select(WorklistItem).where(WorklistItem.statut == CLAIMED, WorklistItem.attribue_a == login).limit(1)
    ).first()


def claim_next(
    engine: Engine, login: str, secteurs: Sequence[str], *, now: dt.datetime | None = None
) -> int | None:
    """Claim the most urgent free household of my sectors; its row id, or None when none is left.

    A worker holds one household at a time: an unfinished claim is returned again. Households that
    objected since the list was made are set aside (status `opposition`) and skipped.
    """
    moment = now or dt.datetime.now(dt.UTC)
    for _ in range(MAX_CLAIM_TRIES):
        with transaction(engine) as session:
            held = _current_claim(session, login)
            if held is not None:
                return held.id
            candidate = session.execute(
                select(WorklistItem.id, WorklistItem.id_foyer)
                .where(
                    WorklistItem.code_commune.in_(list(secteurs)),
                    WorklistItem.statut == FREE,
                    WorklistItem.attribue_a.is_(None),
                    WorklistItem.appel_a_partir_de <= moment,
                )
                .order_by(*_urgency())
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if candidate is None:
                return None
            row_id, pseudonym = candidate
            if subjects.opposed(session, [pseudonym], now=moment):
                session.execute(update(WorklistItem).where(WorklistItem.id == row_id).values(statut=OPPOSED))
                continue
            taken = session.execute(
                update(WorklistItem)
                .where(
                    WorklistItem.id == row_id, WorklistItem.attribue_a.is_(None), WorklistItem.statut == FREE
                )
                .values(statut=CLAIMED, attribue_a=login, attribue_le=moment)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return int(row_id)
    return None


def claimed_by(session: Session, row_id: int, login: str) -> WorklistItem:
    """The row `row_id` if `login` holds it, else `WorklistError` (a card is shown to its holder only)."""
    item = session.get(WorklistItem, row_id)
    if item is None or item.statut != CLAIMED or item.attribue_a != login:
        raise WorklistError(
            "Ce foyer ne vous est pas attribué (déjà traité, libéré ou pris par un collègue). "
            "Revenez à votre liste et prenez le foyer suivant."
        )
    return item


def release(session: Session, row_id: int, login: str) -> None:
    """Give the household back to the list, for a colleague or later."""
    item = claimed_by(session, row_id, login)
    item.statut, item.attribue_a, item.attribue_le = FREE, None, None


def close_with_outcome(
    session: Session,
    row_id: int,
    login: str,
    *,
    resultat: str,
    montant: float | None = None,
    commentaire: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record the call's outcome (closed list, validated by outreach) and close the row."""
    item = claimed_by(session, row_id, login)
    record_outcome(
        session,
        id_foyer=item.id_foyer,
        resultat=resultat,
        acteur=login,
        montant=montant,
        launch_id=item.launch_id,
        regle=item.regle,
        canal="appel",
        tentative=item.tentative,
        commentaire=commentaire,
        now=now,
    )
    item.statut = OPPOSED if resultat == "opposition" else DONE
