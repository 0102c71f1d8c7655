"""The outreach history is kept no longer than the register says: notes and call lines 12 months,
a launch's history 36 months."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.launch import launch_campaign
from outreach.models import Assignment, Contact, Launch, Outcome, WorklistItem
from outreach.outcomes import record_outcome
from outreach.retention import purge_history
from privacy.models import AuditEntry
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_71, flag, flags_frame


def _count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_notes_and_call_lines_go_after_12_months_the_launch_history_after_36(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(i, regle="impaye_locatif") for i in range(3)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launch = launch_campaign(world.env, campaign_71(), run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session, session.begin():
        assert _count(session, WorklistItem) > 0
        record_outcome(
            session,
            id_foyer=flags["id_foyer"][0],
            resultat="joint",
            acteur="ts1",
            commentaire="Rappeler après l'hospitalisation",
            now=NOW,
        )

    with Session(world.engine) as session, session.begin():
        early = purge_history(session, actor="purge", now=NOW + dt.timedelta(days=300))
        assert (early.notes, early.call_lines, early.rows) == (0, 0, 0)

    with Session(world.engine) as session, session.begin():
        year = purge_history(session, actor="purge", now=NOW + dt.timedelta(days=370))
        assert year.notes == 1 and year.call_lines > 0 and year.rows == 0
        assert session.scalars(select(Outcome.commentaire)).all() == [None]
        assert _count(session, WorklistItem) == 0 and _count(session, Assignment) == 3

    with Session(world.engine) as session, session.begin():
        later = purge_history(session, actor="purge", now=NOW + dt.timedelta(days=3 * 366))
        assert later.launches == 1 and later.rows > 0
        assert [_count(session, t) for t in (Assignment, Contact, Outcome)] == [0, 0, 0]
        assert session.get(Launch, launch.launch_id) is not None  # its counts stay for the record
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "purge.historique_contacts")
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert entry is not None and json.loads(entry.counts or "{}")["lancements"] == 1
