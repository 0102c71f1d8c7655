"""How long the outreach tables keep a household's history, and the purge that enforces it.

- The social worker's notes are free text: whatever care is asked, one may hold what must not be
  kept (a health situation…). They are erased `NOTES_MONTHS` after they were written; the outcome
  itself stays.
- A call line repeats the reasons a household was flagged (its income, its rent debt): it is deleted
  `CALL_LINES_MONTHS` after it was made, as the contact lists are.
- The rest of a launch's history (who was in which arm, the contacts made, the outcomes, the
  questionnaire answers) measures the convention's actions: it is deleted `HISTORY_MONTHS` after the
  launch, when the convention's evaluation is over. The launch's record (its counts) stays.

Pseudonyms only: nothing here can be read without the vault. Each purge is one audit entry of counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from outreach.models import Assignment, Contact, Launch, Outcome, QuestionnaireAnswer, WorklistItem
from privacy import audit
from privacy.retention import kept_since

NOTES_MONTHS = 12
CALL_LINES_MONTHS = 12
HISTORY_MONTHS = 36


@dataclass(frozen=True)
class OutreachPurge:
    """What a purge of the outreach history removed (counts only)."""

    notes: int
    call_lines: int
    launches: int
    rows: int


def purge_history(session: Session, *, actor: str, now: dt.datetime | None = None) -> OutreachPurge:
    """Erase the notes, call lines and launch histories past their retention (caller's transaction)."""
    moment = now or dt.datetime.now(dt.UTC)
    notes = session.execute(
        update(Outcome)
        .where(Outcome.commentaire.is_not(None), Outcome.survenu_le < kept_since(moment, NOTES_MONTHS))
        .values(commentaire=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    call_lines = session.execute(
        delete(WorklistItem)
        .where(WorklistItem.cree_le < kept_since(moment, CALL_LINES_MONTHS))
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    history_limit = kept_since(moment, HISTORY_MONTHS)
    old = select(Launch.id).where(Launch.lance_le < history_limit).scalar_subquery()
    launches = len(set(session.scalars(select(Assignment.launch_id).where(Assignment.launch_id.in_(old)))))
    rows = 0
    for table in (Assignment, Contact, QuestionnaireAnswer, WorklistItem):
        rows += session.execute(
            delete(table).where(table.launch_id.in_(old)).execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    # Outcomes without a launch (an objection typed by the DPO's team…) age by their own date.
    rows += session.execute(
        delete(Outcome)
        .where(
            Outcome.launch_id.in_(old) | (Outcome.launch_id.is_(None) & (Outcome.survenu_le < history_limit))
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    done = OutreachPurge(notes, call_lines, launches, rows)
    if notes or call_lines or rows:
        audit.append(
            session,
            actor=actor,
            action="purge.historique_contacts",
            counts={"notes": notes, "lignes_appel": call_lines, "lancements": launches, "lignes": rows},
            details={
                "notes_mois": NOTES_MONTHS,
                "lignes_appel_mois": CALL_LINES_MONTHS,
                "historique_mois": HISTORY_MONTHS,
            },
        )
    return done
