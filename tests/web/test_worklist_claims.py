"""Claiming "the next household": never the same one twice, even with 20 workers at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from outreach.models import WorklistItem
from outreach.worklist import DONE, IN_PROGRESS, TO_CALL
from privacy import subjects
from tests.web.conftest import seed_worklist
from uptake.db import transaction
from uptake.web.worklist import (
    OPPOSED,
    WorklistError,
    claim_next,
    close_with_outcome,
    my_worklist,
    release,
)

WORKERS = 20


def _claim_all_at_once(engine: Engine, workers: int) -> list[int | None]:
    barrier = threading.Barrier(workers)

    def work(index: int) -> int | None:
        barrier.wait()
        return claim_next(engine, f"ts-{index:02d}", ["04088"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, range(workers)))


def test_twenty_workers_at_once_never_get_the_same_household(engine: Engine) -> None:
    seed_worklist(engine, 30)
    claimed = _claim_all_at_once(engine, WORKERS)
    assert None not in claimed
    assert len(set(claimed)) == WORKERS
    with transaction(engine) as session:
        holders = {
            item.id: item.attribue_a for item in session.query(WorklistItem).filter_by(statut=IN_PROGRESS)
        }
    assert set(holders) == set(claimed)
    assert len(set(holders.values())) == WORKERS


def test_when_households_run_out_the_late_workers_get_none_and_no_duplicate(engine: Engine) -> None:
    seed_worklist(engine, 7)
    claimed = _claim_all_at_once(engine, WORKERS)
    got = [c for c in claimed if c is not None]
    assert len(got) == 7
    assert len(set(got)) == 7


def test_claims_follow_priority_and_stay_in_my_sectors(engine: Engine) -> None:
    seed_worklist(engine, 3, commune="04178")
    assert claim_next(engine, "ts-a", ["04088"]) is None
    seed_worklist(engine, 6, start=10)
    first = claim_next(engine, "ts-a", ["04088"])
    with transaction(engine) as session:
        item = session.get(WorklistItem, first)
        assert item is not None
        assert item.priorite == 1
        assert item.code_commune == "04088"
    # An unfinished claim is handed back rather than a second household.
    assert claim_next(engine, "ts-a", ["04088"]) == first


def test_release_gives_the_household_back_and_only_its_holder_can_act(engine: Engine) -> None:
    seed_worklist(engine, 2)
    row = claim_next(engine, "ts-a", ["04088"])
    assert row is not None
    with transaction(engine) as session, pytest.raises(WorklistError):
        release(session, row, "ts-b")
    with transaction(engine) as session:
        release(session, row, "ts-a")
    with transaction(engine) as session:
        item = session.get(WorklistItem, row)
        assert item is not None and item.statut == TO_CALL and item.attribue_a is None
    assert claim_next(engine, "ts-b", ["04088"]) == row


def test_outcome_closes_the_row_and_an_opposed_household_is_skipped(engine: Engine) -> None:
    pseudonyms = seed_worklist(engine, 3)
    with transaction(engine) as session:
        subjects.record_opposition(session, pseudonyms[0], source="courrier", actor="dpo")
    row = claim_next(engine, "ts-a", ["04088"])
    with transaction(engine) as session:
        item = session.get(WorklistItem, row)
        assert item is not None and item.id_foyer != pseudonyms[0]
        opposed = session.query(WorklistItem).filter_by(id_foyer=pseudonyms[0]).one()
        assert opposed.statut == OPPOSED
    assert row is not None
    with transaction(engine) as session:
        close_with_outcome(session, row, "ts-a", resultat="droit_ouvert", montant=182.5)
    with transaction(engine) as session:
        assert session.get(WorklistItem, row).statut == DONE  # type: ignore[union-attr]
        assert row not in [r.id for r in my_worklist(session, "ts-a", ["04088"])]
