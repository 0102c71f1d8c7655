"""A letter that comes back undelivered: typed back by its reference, its address is no longer used."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.errors import OutcomeImportInvalid
from outreach.indicators import indicators_71, load_tables
from outreach.launch import launch_campaign, run_followups
from outreach.models import Assignment, Contact, Outcome
from outreach.outcome_import import import_outcome_file
from privacy import vault
from privacy.models import AuditEntry
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_71, flag, flags_frame


def _launched(make_world, households: int = 3):
    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, households + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session:
        ranks = dict(
            session.execute(
                select(Assignment.id_foyer, Assignment.rang).where(Assignment.launch_id == report.launch_id)
            ).all()
        )
    return world, campaign, report.launch_id, {p: f"Q-{report.launch_id}-{r}" for p, r in ranks.items()}


def _import(world, path: Path) -> int:
    with Session(world.engine) as session, session.begin():
        return import_outcome_file(session, path, actor="courrier", now=NOW + dt.timedelta(days=2)).recorded


def test_a_returned_letter_typed_back_by_its_reference_leaves_the_address_unused(
    make_world, tmp_path: Path
) -> None:
    world, campaign, launch_id, references = _launched(make_world)
    returned, *others = sorted(references)
    path = tmp_path / "retours.csv"
    path.write_text(
        f"reference;resultat;date\n{references[returned]};pli_non_distribue;2026-03-11\n", encoding="utf-8"
    )

    assert _import(world, path) == 1
    letters = run_followups(
        world.env, campaign, launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )

    with Session(world.engine) as session:
        outcome = session.scalars(select(Outcome).where(Outcome.resultat == "pli_non_distribue")).one()
        usable = vault.usable_channels(session)
        written = set(session.scalars(select(Contact.id_foyer).where(Contact.canal == "courrier")))
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "annuaire.coordonnee_inutilisable")
        ).one()
    assert (outcome.id_foyer, outcome.launch_id, outcome.canal) == (returned, launch_id, "courrier")
    by_household = {row["id_foyer"]: row for row in usable.iter_rows(named=True)}
    assert by_household[returned]["canal_courrier"] is False and by_household[returned]["canal_telephone"]
    assert all(by_household[p]["canal_courrier"] for p in others)
    # The letters of the campaign go to the other households only.
    assert [a.foyers for a in letters] == [2] and written == set(others)
    assert entry.object_ref == returned and json.loads(entry.details or "{}")["champs"] == ["adresse"]
    assert "rue des Essais" not in (entry.details or "")
    summary = dict(indicators_71(load_tables(world.engine), threshold=1).summary.iter_rows())
    assert summary["Courriers revenus non distribués (foyers)"] == 1


def test_a_reference_no_letter_carries_or_given_with_a_pseudonym_is_refused(
    make_world, tmp_path: Path
) -> None:
    world, _, launch_id, references = _launched(make_world)
    pseudonym, reference = next(iter(references.items()))
    path = tmp_path / "retours.csv"
    path.write_text(
        "id_foyer;reference;resultat;date\n"
        f";Q-{launch_id}-99;pli_non_distribue;2026-03-11\n"
        f";Q12;pli_non_distribue;2026-03-11\n"
        f"{pseudonym};{reference};pli_non_distribue;2026-03-11\n",
        encoding="utf-8",
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    assert f"ligne 2, colonne `reference` : Q-{launch_id}-99 : aucun courrier n'a cette référence" in said
    assert "ligne 3, colonne `reference` : référence mal écrite (par exemple Q-12-345)" in said
    assert "ligne 4, colonne `reference` : donnez id_foyer ou reference, pas les deux" in said
    with Session(world.engine) as session:
        assert session.scalars(select(Outcome)).first() is None
