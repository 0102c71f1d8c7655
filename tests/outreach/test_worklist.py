"""Call worklists: next household by rank, one worker per household, outcome recorded, retry next day."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import WindowSection
from outreach.errors import OutcomeInvalid
from outreach.launch import launch_campaign
from outreach.models import WorklistItem
from outreach.outcomes import outcome_history
from outreach.worklist import WorklistItemUnavailable, claim_next, complete, release, renew_claim
from privacy.models import AuditEntry
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_71, flag, flags_frame, pseudonym

CALL_TIME = NOW + dt.timedelta(hours=1)


def _world_with_calls(make_world):
    world = make_world()
    flags = flags_frame(
        [
            flag(1, "impaye_locatif", montant_estime=None, distance_services_km=2.0),
            flag(2, "impaye_locatif", montant_estime=None, distance_services_km=9.0),
            flag(3, "logement_non_decent", montant_estime=None, priorite=2),
        ]
    )
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    return world


def test_workers_get_households_in_order_and_never_the_same_one(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        first = claim_next(session, worker="ts1", now=CALL_TIME)
        second = claim_next(session, worker="ts2", now=CALL_TIME)
        again = claim_next(session, worker="ts1", now=CALL_TIME)
        assert first is not None and second is not None
        assert (first.id_foyer, second.id_foyer) == (pseudonym(2), pseudonym(1))  # farther away first
        assert again is not None and again.id == first.id  # a worker keeps their current household
        with pytest.raises(WorklistItemUnavailable):
            release(session, first.id, worker="ts2")


def test_an_empty_sector_hands_out_no_household_not_every_commune(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        assert claim_next(session, worker="ts1", now=CALL_TIME, communes=[]) is None
        assert claim_next(session, worker="ts1", now=CALL_TIME, communes=None) is not None  # no filter asked


def test_completing_a_call_records_the_outcome_and_unreachable_comes_back_the_next_day(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        complete(session, item.id, worker="ts1", resultat="injoignable", now=CALL_TIME)
        following = claim_next(session, worker="ts1", now=CALL_TIME)
        assert following is not None and following.id != item.id
        complete(session, following.id, worker="ts1", resultat="accompagnement_engage", now=CALL_TIME)
        later = claim_next(session, worker="ts1", now=CALL_TIME + dt.timedelta(days=1, minutes=1))
        assert later is not None and later.id == item.id
        history = outcome_history(session, following.id_foyer)
    assert [(h.resultat, h.acteur, h.canal) for h in history] == [("accompagnement_engage", "ts1", "appel")]


def test_calls_are_not_given_before_their_window_opens(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        assert claim_next(session, worker="ts1", now=NOW - dt.timedelta(days=1)) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_claiming_at_the_same_time_never_get_the_same_household(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as first, first.begin(), Session(world.engine) as second, second.begin():
        held = claim_next(first, worker="ts1", now=CALL_TIME)  # row locked, not committed yet
        other = claim_next(second, worker="ts2", now=CALL_TIME)  # skips the locked row
        assert held is not None and other is not None
        assert held.id_foyer != other.id_foyer


def test_a_claim_is_kept_two_hours_and_renewed_by_its_holder(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        taken = claim_next(session, worker="ts2", now=CALL_TIME + dt.timedelta(minutes=45))
        assert taken is not None and taken.id != item.id  # 45 minutes into a call is not abandoned
        complete(session, taken.id, worker="ts2", resultat="joint", now=CALL_TIME)
        renew_claim(session, item.id, worker="ts1", now=CALL_TIME + dt.timedelta(hours=1))
        with pytest.raises(WorklistItemUnavailable):
            renew_claim(session, item.id, worker="ts2", now=CALL_TIME + dt.timedelta(hours=1))

        before = claim_next(session, worker="ts2", now=CALL_TIME + dt.timedelta(hours=2, minutes=30))
        assert before is not None and before.id != item.id
        complete(session, before.id, worker="ts2", resultat="joint", now=CALL_TIME)
        after = claim_next(session, worker="ts2", now=CALL_TIME + dt.timedelta(hours=3, minutes=1))
        assert after is not None and after.id == item.id


@pytest.mark.parametrize(
    "resultat", ["a_contacter", "questionnaire_envoye", "questionnaire_retourne", "pli_non_distribue"]
)
def test_a_call_is_closed_only_with_a_result_a_call_can_have(make_world, resultat: str) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        with pytest.raises(OutcomeInvalid) as refused:
            complete(session, item.id, worker="ts1", resultat=resultat, now=CALL_TIME)
        assert "n'est pas un résultat d'appel" in str(refused.value)
        assert outcome_history(session, item.id_foyer) == []
        assert claim_next(session, worker="ts1", now=CALL_TIME) is item  # still theirs


def test_a_household_given_back_goes_to_a_colleague_not_to_the_worker_who_gave_it_back(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        release(session, item.id, worker="ts1")

        other = claim_next(session, worker="ts1", now=CALL_TIME)
        colleague = claim_next(session, worker="ts2", now=CALL_TIME)

        assert other is not None and other.id != item.id
        assert colleague is not None and colleague.id == item.id


def test_recording_a_call_result_is_audited_without_the_note(make_world) -> None:
    world = _world_with_calls(make_world)
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        complete(
            session, item.id, worker="ts1", resultat="joint", commentaire="Rappeler après 18 h", now=CALL_TIME
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "appel.resultat")).one()
        recorded = (entry.actor, entry.object_ref == item.id_foyer, entry.details or "{}")
    assert recorded[:2] == ("ts1", True)
    details = json.loads(recorded[2])
    assert (details["resultat"], details["note"]) == ("joint", True)
    assert "18 h" not in recorded[2]


def test_a_no_answer_on_friday_evening_is_called_back_on_monday_morning_within_the_calling_hours(
    make_world,
) -> None:
    world = _world_with_calls(make_world)
    friday_evening = dt.datetime(2026, 3, 13, 16, 30, tzinfo=dt.UTC)  # 17:30 in Paris
    with Session(world.engine) as session, session.begin():
        item = claim_next(session, worker="ts1", now=CALL_TIME)
        assert item is not None
        complete(
            session, item.id, worker="ts1", resultat="injoignable", now=friday_evening, window=WindowSection()
        )
        line = item.id
    with Session(world.engine) as session:
        again = session.get_one(WorklistItem, line).appel_a_partir_de

    monday_morning_in_paris = dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC)
    assert again.replace(tzinfo=dt.UTC) == monday_morning_in_paris
