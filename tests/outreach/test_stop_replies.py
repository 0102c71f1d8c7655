"""« STOP » replies to the SMS become objections, found without ever showing a number."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.errors import OutcomeImportInvalid
from outreach.launch import launch_campaign
from outreach.models import Outcome
from outreach.oppositions import opposed
from outreach.stop_replies import import_stop_replies
from privacy.models import AuditEntry, Opposition
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame


def _texted(make_world, households: int = 3):
    """Action 2.2 launched (SMS first) on `households` households: 06 12 00 00 00, 06 12 00 00 01…"""
    world = make_world()
    flags = flags_frame([flag(i) for i in range(households)])
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].to_list()
    world.store_contacts(ids)
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    assert [a.canal for a in report.attempts] == ["sms"]
    return world, ids


def _import(world, path: Path):
    with Session(world.engine) as session, session.begin():
        return import_stop_replies(session, world.keyring, path, actor="equipe-donnees", now=NOW)


def test_each_number_that_replied_stop_makes_its_household_object(make_world, tmp_path: Path) -> None:
    world, ids = _texted(make_world)
    path = tmp_path / "stop.csv"
    path.write_text(
        "telephone;date;message\n+33612000001;2026-03-09;STOP\n06 12 00 00 02;;Stop\n07 99 99 99 99;;STOP\n",
        encoding="utf-8",
    )

    done = _import(world, path)

    assert (done.replies, done.households, done.unknown_numbers) == (3, 2, 1)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[1], ids[2]}
        outcomes = session.execute(
            select(Outcome.id_foyer, Outcome.canal).where(Outcome.resultat == "opposition")
        ).all()
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "annuaire.rapprochement_telephones")
        ).one()
    assert sorted(outcomes) == [(ids[1], "sms"), (ids[2], "sms")]
    with Session(world.engine) as session:
        origins = {o.pseudonym: o.source for o in session.scalars(select(Opposition))}
    assert origins == {ids[1]: "réponse STOP à un SMS", ids[2]: "réponse STOP à un SMS"}
    counts = json.loads(entry.counts or "{}")
    assert counts == {"foyers_examines": 3, "numeros": 3, "numeros_trouves": 2}
    assert "3361200" not in (entry.details or "") + (entry.counts or "")


def test_a_bad_line_refuses_the_file_without_repeating_its_number(make_world, tmp_path: Path) -> None:
    world, ids = _texted(make_world)
    path = tmp_path / "stop.csv"
    path.write_text("telephone;date\n+33612000001;2026-03-09\n06 12 34;2026-03-09\n", encoding="utf-8")

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "ligne 3, colonne `telephone` : numéro absent ou illisible" in str(refused.value)
    assert "06 12 34" not in str(refused.value)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == set()
