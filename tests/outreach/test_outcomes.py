"""Outcomes: closed list, history kept, CSV import all-or-nothing with every bad line reported."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.errors import OutcomeImportInvalid, OutcomeInvalid
from outreach.launch import launch_campaign
from outreach.models import Outcome, WorklistItem
from outreach.outcome_import import import_outcome_file
from outreach.outcomes import (
    DONE,
    IN_PROGRESS,
    MAX_MONTHLY_AMOUNT,
    STOPPING,
    TO_CALL,
    check_outcome,
    outcome_history,
    record_outcome,
)
from outreach.worklist import claim_next, complete
from privacy import subjects
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, campaign_71, flag, flags_frame, pseudonym


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
        assert (
            import_outcome_file(session, path, actor="import-cli", now=NOW + dt.timedelta(days=3)).recorded
            == 3
        )
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
        import_outcome_file(session, path, actor="import-cli", now=NOW + dt.timedelta(days=3))
    lines = sorted((p.line, p.column) for p in refused.value.problems)
    assert lines == [(3, "resultat"), (4, "montant"), (5, "id_foyer"), (6, "date")]
    assert "rien n'a été importé" in str(refused.value)
    assert _count(world.engine) == 0


def _on_the_call_list(make_world, n: int = 3):
    """Action 7.1 launched without holdout: each household has a line on the call list."""
    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, n + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    return world, report.launch_id


@pytest.mark.parametrize("resultat", sorted(STOPPING))
def test_an_outcome_that_ends_the_contact_closes_the_households_waiting_call_lines_of_its_launch(
    make_world, resultat: str
) -> None:
    world, launch_id = _on_the_call_list(make_world)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session,
            id_foyer=pseudonym(1),
            resultat=resultat,
            montant=182.5 if resultat == "droit_ouvert" else None,
            launch_id=launch_id,
            acteur="rapprochement",
            source="rapprochement" if resultat == "droit_ouvert" else "import",
            now=NOW,
        )
    with Session(world.engine) as session:
        lines = {line.id_foyer: line.statut for line in session.scalars(select(WorklistItem))}
        handed = claim_next(session, worker="ts1", now=NOW + dt.timedelta(hours=1))
        assert handed is not None and handed.id_foyer != pseudonym(1)
    assert lines[pseudonym(1)] == DONE
    assert lines[pseudonym(2)] == lines[pseudonym(3)] == TO_CALL


@pytest.mark.parametrize(("resultat", "closed"), [("accompagnement_engage", True), ("message_laisse", False)])
def test_a_call_result_typed_back_from_a_filled_call_list_closes_the_line_as_the_card_does(
    make_world, resultat: str, closed: bool
) -> None:
    world, launch_id = _on_the_call_list(make_world)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session,
            id_foyer=pseudonym(1),
            resultat=resultat,
            launch_id=launch_id,
            canal="appel",
            acteur="equipe",
            source="import",
            now=NOW,
        )
    with Session(world.engine) as session:
        lines = {line.id_foyer: line.statut for line in session.scalars(select(WorklistItem))}
    assert lines[pseudonym(1)] == (DONE if closed else TO_CALL)
    assert lines[pseudonym(2)] == TO_CALL


def test_a_line_in_progress_is_left_to_its_holder_when_the_contact_ends_meanwhile(make_world) -> None:
    world, launch_id = _on_the_call_list(make_world, 1)
    with Session(world.engine) as session, session.begin():
        held = claim_next(session, worker="ts1", now=NOW + dt.timedelta(hours=1))
        assert held is not None
        record_outcome(
            session,
            id_foyer=pseudonym(1),
            resultat="droit_ouvert",
            montant=182.5,
            launch_id=launch_id,
            acteur="rapprochement",
            source="rapprochement",
            now=NOW,
        )
        assert (held.statut, held.attribue_a) == (IN_PROGRESS, "ts1")
        complete(session, held.id, worker="ts1", resultat="joint", now=NOW + dt.timedelta(hours=1))


def test_an_outcome_that_goes_on_leaves_the_waiting_call_lines(make_world) -> None:
    world, launch_id = _on_the_call_list(make_world, 1)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session, id_foyer=pseudonym(1), resultat="joint", launch_id=launch_id, acteur="ts1", now=NOW
        )
    with Session(world.engine) as session:
        assert session.scalars(select(WorklistItem.statut)).one() == TO_CALL


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("montant", "said"),
    [
        (math.nan, "le montant est illisible"),
        (math.inf, "le montant est illisible"),
        (-math.inf, "le montant est illisible"),
        (-5.0, "le montant est négatif"),
        (10_000.01, "10\u202f000,01 € par mois dépasse le plafond de 10\u202f000,00 €"),
        (1e308, "ce montant par mois dépasse le plafond de 10\u202f000,00 €"),
        (None, "un droit ouvert demande son montant mensuel. Donnez-le en euros, par exemple 182,50."),
    ],
)
def test_an_opened_right_needs_a_finite_believable_monthly_amount(engine, montant, said: str) -> None:
    with Session(engine) as session, pytest.raises(OutcomeInvalid) as refused:
        record_outcome(
            session, id_foyer=pseudonym(1), resultat="droit_ouvert", montant=montant, acteur="ts1", now=NOW
        )
    assert said in str(refused.value)
    assert refused.value.field == "montant"


def test_an_amount_for_another_outcome_is_refused_in_words() -> None:
    with pytest.raises(OutcomeInvalid) as refused:
        check_outcome("joint", 12.0)

    assert refused.value.problem == "un montant ne se donne que pour « droit ouvert », pas pour « joint »"
    assert refused.value.fix == "Retirez le montant, ou choisissez « droit ouvert »."
    assert refused.value.field == "montant"


def test_the_ceiling_itself_and_zero_are_accepted_amounts() -> None:
    check_outcome("droit_ouvert", MAX_MONTHLY_AMOUNT)
    check_outcome("droit_ouvert", 0.0)


def test_the_workers_note_comes_back_with_the_history(make_world) -> None:
    world, _ = _launched(make_world, 1)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session,
            id_foyer=pseudonym(1),
            resultat="joint",
            acteur="ts1",
            commentaire="Rappeler après le 15, dossier en cours.",
            now=NOW,
        )
    with Session(world.engine) as session:
        [record] = outcome_history(session, pseudonym(1))
    assert record.commentaire == "Rappeler après le 15, dossier en cours."
