"""Outcomes: closed list, history kept, CSV import all-or-nothing with every bad line reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.errors import OutcomeImportInvalid, OutcomeInvalid
from outreach.launch import launch_campaign
from outreach.models import Outcome
from outreach.outcome_import import import_outcomes
from outreach.outcomes import outcome_history, record_outcome
from privacy import subjects
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame, pseudonym


def _launched(make_world, n: int = 3):
    world = make_world()
    flags = flags_frame([flag(i) for i in range(1, n + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    report = launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    return world, report


def test_history_is_kept_and_attached_to_the_latest_launch(make_world) -> None:
    world, report = _launched(make_world)
    with Session(world.engine) as session, session.begin():
        record_outcome(session, id_foyer=pseudonym(1), resultat="injoignable", acteur="ts1", now=NOW)
        record_outcome(
            session, id_foyer=pseudonym(1), resultat="joint", acteur="ts2", now=NOW + dt.timedelta(days=1)
        )
        record_outcome(
            session,
            id_foyer=pseudonym(1),
            resultat="droit_ouvert",
            montant=182.5,
            acteur="ts2",
            now=NOW + dt.timedelta(days=20),
        )
    with Session(world.engine) as session:
        history = outcome_history(session, pseudonym(1))
    assert [h.resultat for h in history] == ["injoignable", "joint", "droit_ouvert"]
    assert [h.acteur for h in history] == ["ts1", "ts2", "ts2"]
    assert history[-1].montant == 182.5 and history[-1].launch_id == report.launch_id
    assert history[-1].label == "droit ouvert"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("resultat", "montant"),
    [("rappel", None), ("droit_ouvert", None), ("joint", 12.0), ("droit_ouvert", -3.0)],
)
def test_outcomes_outside_the_closed_list_or_with_a_wrong_amount_are_refused(
    engine, resultat, montant
) -> None:
    with Session(engine) as session, pytest.raises(OutcomeInvalid):
        record_outcome(
            session, id_foyer=pseudonym(1), resultat=resultat, montant=montant, acteur="ts1", now=NOW
        )


def test_an_opposition_outcome_enters_the_privacy_register(make_world) -> None:
    world, _ = _launched(make_world, 1)
    with Session(world.engine) as session, session.begin():
        record_outcome(session, id_foyer=pseudonym(1), resultat="opposition", acteur="ts1", now=NOW)
    with Session(world.engine) as session:
        assert subjects.opposed(session, [pseudonym(1)], now=NOW + dt.timedelta(days=300)) == {pseudonym(1)}


def _count(engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Outcome)) or 0)


def test_import_of_a_good_file_records_every_line(make_world, tmp_path: Path) -> None:
    world, _ = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        "id_foyer;resultat;date;montant;acteur\n"
        f"{pseudonym(1)};joint;2026-03-12;;ts1\n"
        f"{pseudonym(2)};droit_ouvert;12/03/2026;182,50;ts1\n"
        f"{pseudonym(3)};refus;2026-03-12T10:30;;\n",
        encoding="utf-8",
    )
    with Session(world.engine) as session, session.begin():
        assert import_outcomes(session, path, actor="import-cli", now=NOW + dt.timedelta(days=3)) == 3
    with Session(world.engine) as session:
        rows = {o.id_foyer: o for o in session.scalars(select(Outcome))}
    assert rows[pseudonym(2)].montant == 182.5
    assert rows[pseudonym(3)].acteur == "import-cli" and rows[pseudonym(3)].source == "import"


def test_import_reports_every_bad_line_and_imports_nothing(make_world, tmp_path: Path) -> None:
    world, _ = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        "id_foyer,resultat,date,montant\n"
        f"{pseudonym(1)},joint,2026-03-12,\n"  # good
        f"{pseudonym(2)},rappel,2026-03-12,\n"  # line 3: unknown outcome
        f"{pseudonym(3)},droit_ouvert,2026-03-12,\n"  # line 4: amount missing
        "foyer-inconnu-000000001,joint,2026-03-12,\n"  # line 5: unknown household
        f"{pseudonym(1)},joint,demain,\n",  # line 6: bad date
        encoding="utf-8",
    )
    with Session(world.engine) as session, pytest.raises(OutcomeImportInvalid) as refused:
        import_outcomes(session, path, actor="import-cli", now=NOW + dt.timedelta(days=3))
    lines = sorted((p.line, p.column) for p in refused.value.problems)
    assert lines == [(3, "resultat"), (4, "montant"), (5, "id_foyer"), (6, "date")]
    assert "rien n'a été importé" in str(refused.value)
    assert _count(world.engine) == 0
