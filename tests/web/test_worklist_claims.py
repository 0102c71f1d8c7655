"""Claiming "the next household": never the same one twice, even with 20 workers at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from outreach.models import WorklistItem
from outreach.outcomes import DONE, IN_PROGRESS, TO_CALL
from privacy import subjects
from tests.web.conftest import seed_worklist
from uptake.db import transaction
from uptake.web.worklist import (
    OPPOSED,
    WorklistError,
    claim_next,
    close_with_outcome,
    count_free,
    holds_one,
    my_worklist,
    open_claimed,
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


def test_release_gives_the_household_back_to_a_colleague_and_only_its_holder_can_act(engine: Engine) -> None:
    seed_worklist(engine, 2)
    row = claim_next(engine, "ts-a", ["04088"])
    assert row is not None
    with transaction(engine) as session, pytest.raises(WorklistError):
        release(session, row, "ts-b")
    with transaction(engine) as session:
        release(session, row, "ts-a")
    with transaction(engine) as session:
        item = session.get(WorklistItem, row)
        assert item is not None and item.statut == TO_CALL

    again = claim_next(engine, "ts-a", ["04088"])

    assert again is not None and again != row  # the worker who gave it back gets another one
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


def test_a_household_given_back_is_never_handed_again_to_the_worker_who_gave_it_back(engine: Engine) -> None:
    seed_worklist(engine, 1)
    row = claim_next(engine, "ts-a", ["04088"])
    assert row is not None
    with transaction(engine) as session:
        release(session, row, "ts-a")

    assert claim_next(engine, "ts-a", ["04088"]) is None
    with transaction(engine) as session:
        now = datetime.now(UTC)
        assert count_free(session, "ts-a", ["04088"], now) == 0
        assert count_free(session, "ts-b", ["04088"], now) == 1
        [shown] = my_worklist(session, "ts-a", ["04088"])
        assert shown.released_by("ts-a") and not shown.held_by("ts-a")
    assert claim_next(engine, "ts-b", ["04088"]) == row


def test_claims_and_the_list_go_by_priority_then_rank_households_without_priority_last(
    engine: Engine,
) -> None:
    seed_worklist(engine, 4)
    # (rank, priority): the launch's ranking disagrees with the priority, 1 being the most urgent.
    with transaction(engine) as session:
        for item, priority in zip(
            session.query(WorklistItem).order_by(WorklistItem.rang), (None, 3, 1, 1), strict=True
        ):
            item.priorite = priority
    expected = [3, 4, 2, 1]  # rows by id: priority 1 (ranks 3 then 4), priority 3, no priority

    with transaction(engine) as session:
        listed = [r.id for r in my_worklist(session, "ts-a", ["04088"])]
    claimed = [claim_next(engine, f"ts-{n}", ["04088"]) for n in range(4)]

    assert listed == expected
    assert claimed == expected


def test_opening_the_card_renews_the_claim_so_a_colleague_does_not_take_it_during_the_call(
    engine: Engine,
) -> None:
    seed_worklist(engine, 1)
    start = datetime.now(UTC)
    row = claim_next(engine, "ts-a", ["04088"], now=start)
    assert row is not None
    with transaction(engine) as session:
        open_claimed(session, row, "ts-a", ["04088"], now=start + timedelta(hours=1, minutes=30))

    # Two hours after the claim, but only one after the card was last opened: still the holder's.
    assert claim_next(engine, "ts-b", ["04088"], now=start + timedelta(hours=2, minutes=30)) is None
    # Two hours after the card was last opened, the claim is taken for abandoned.
    assert claim_next(engine, "ts-b", ["04088"], now=start + timedelta(hours=3, minutes=31)) == row
    with transaction(engine) as session, pytest.raises(WorklistError):
        open_claimed(session, row, "ts-a", ["04088"])


def test_a_household_held_outside_my_new_sectors_goes_back_to_the_list_when_i_take_the_next(
    engine: Engine,
) -> None:
    seed_worklist(engine, 1)
    seed_worklist(engine, 1, commune="04178", start=100)
    start = datetime.now(UTC)
    held = claim_next(engine, "ts-a", ["04088"], now=start)

    following = claim_next(engine, "ts-a", ["04178"], now=start)  # the sectors changed meanwhile

    assert following is not None and following != held
    assert claim_next(engine, "ts-b", ["04088"], now=start) == held  # a colleague of its commune's


def test_a_household_held_outside_new_sectors_is_given_back_and_takes_no_result(engine: Engine) -> None:
    from tests.web.conftest import LOGINS, create_accounts
    from uptake.users import set_sectors

    create_accounts(engine, ("travailleur_social",))
    worker = LOGINS["travailleur_social"]
    seed_worklist(engine, 1)
    held = claim_next(engine, worker, ["04088"])
    assert held is not None

    with transaction(engine) as session:  # the administrator moves the worker to another commune
        set_sectors(session, worker, ["04178"], actor="admin")

    with transaction(engine) as session, pytest.raises(WorklistError):
        close_with_outcome(session, held, worker, resultat="refus", commentaire="note")
    with transaction(engine) as session:
        item = session.get(WorklistItem, held)
        assert item is not None and (item.statut, item.attribue_a) == (TO_CALL, None)
    assert claim_next(engine, "ts-collegue", ["04088"]) == held  # a colleague of its commune's


def test_the_same_result_sent_twice_at_once_is_recorded_once(engine: Engine) -> None:
    from sqlalchemy import func, select

    from outreach.models import Outcome

    seed_worklist(engine, 1)
    row = claim_next(engine, "ts-a", ["04088"])
    assert row is not None
    barrier = threading.Barrier(2)

    def send() -> str:  # a double press on Enter: two requests, each its own transaction
        barrier.wait()
        try:
            with transaction(engine) as session:
                close_with_outcome(session, row, "ts-a", resultat="refus", commentaire="note")
        except WorklistError:
            return "déjà"
        return "enregistré"

    with ThreadPoolExecutor(max_workers=2) as pool:
        told = sorted(pool.map(lambda _: send(), range(2)))

    assert told == ["déjà", "enregistré"]
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Outcome)) == 1


def test_only_the_holder_is_told_of_their_household_in_progress_and_only_within_their_sectors(
    engine: Engine,
) -> None:
    seed_worklist(engine, 2)
    with transaction(engine) as session:
        assert not holds_one(session, "ts-a", ["04088"])  # waiting households are nobody's
    row = claim_next(engine, "ts-a", ["04088"])
    assert row is not None
    with transaction(engine) as session:
        assert holds_one(session, "ts-a", ["04088"])
        assert not holds_one(session, "ts-b", ["04088"])  # a colleague of the same sector
        assert not holds_one(session, "ts-a", ["04178"])  # my sectors changed since the claim
        close_with_outcome(session, row, "ts-a", resultat="refus")
    with transaction(engine) as session:
        assert not holds_one(session, "ts-a", ["04088"])  # handled: nothing to take up again
