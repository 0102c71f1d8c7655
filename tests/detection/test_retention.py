"""The flags of a run are deleted at the end of their retention; the run's record stays."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from detection.geography import Geography
from detection.records import DetectionFlag, DetectionRun, get_run
from detection.retention import (
    archived_extracts,
    flags_kept_until,
    kept_flags,
    purge_archived_extracts,
    purge_flags,
)
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from privacy.canonical import DEFAULT_TIME_ZONE
from privacy.models import AuditEntry
from privacy.retention import first_day_past

PARIS = ZoneInfo(DEFAULT_TIME_ZONE)  # the installation's clock when UPTAKE_FUSEAU is not set


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory, geography: Geography) -> Path:
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    write_synthetic(
        SynthesisSpec(households=600, seed=5),
        commune_table(geography.reference, geography.territory.communes),
        path,
    )
    return path


def _flags_of(engine: Engine, run_id: int) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(DetectionFlag.run_id == run_id)) or 0


def _finished(engine: Engine, run_id: int) -> dt.datetime:
    with Session(engine) as session:
        record = get_run(session, run_id)
    assert record is not None and record.finished_at is not None
    return record.finished_at


def test_flags_past_their_retention_are_deleted_with_their_file_and_the_run_record_stays(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    run = DetectionRunner(engine, geography, tmp_path).run(RunRequest(extract)).run
    flags_file = Path(run.flags_path or "")
    assert flags_file.exists() and _flags_of(engine, run.id) == run.flags_count > 0
    finished = _finished(engine, run.id)

    with Session(engine) as session, session.begin():  # eleven months later: kept
        early = purge_flags(session, tmp_path, actor="dpo", months=12, now=finished + dt.timedelta(days=335))
    assert early.runs == 0 and flags_file.exists() and _flags_of(engine, run.id) == run.flags_count

    thirteen_months_later = finished + dt.timedelta(days=400)
    with Session(engine) as session, session.begin():
        report = purge_flags(session, tmp_path, actor="dpo", months=12, now=thirteen_months_later)

    assert (report.runs, report.flags, report.files_deleted) == (1, run.flags_count, 1)
    assert _flags_of(engine, run.id) == 0
    assert not flags_file.exists() and not flags_file.parent.exists()  # the run's own folder, emptied
    with Session(engine) as session:
        kept = get_run(session, run.id)
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge.drapeaux"))
    assert kept is not None and kept.flags_purged_at is not None
    assert kept.counts_by_rule == run.counts_by_rule and kept.flags_count == run.flags_count
    assert entry.object_ref == f"execution:{run.id}" and entry.actor == "dpo"

    with Session(engine) as session, session.begin():  # done once
        again = purge_flags(session, tmp_path, actor="dpo", months=12, now=thirteen_months_later)
    assert again.runs == 0


def test_the_same_extract_run_again_after_the_purge_publishes_new_flags(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    runner = DetectionRunner(engine, geography, tmp_path)
    first = runner.run(RunRequest(extract)).run
    assert runner.run(RunRequest(extract)).reused  # recognised while its flags are kept
    with Session(engine) as session, session.begin():
        purge_flags(session, tmp_path, actor="dpo", now=_finished(engine, first.id) + dt.timedelta(days=400))

    again = runner.run(RunRequest(extract))

    assert not again.reused and again.run.id != first.id
    assert _flags_of(engine, again.run.id) == first.flags_count
    assert pl.read_parquet(again.run.flags_path or "").height == first.flags_count


def test_a_file_another_run_published_later_at_the_same_path_is_not_deleted(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    runner = DetectionRunner(engine, geography, tmp_path)
    shared = tmp_path / "sortie"
    old = runner.run(RunRequest(extract, out_dir=shared)).run
    Path(old.flags_path or "").unlink()  # removed by hand, and the folder given again months later
    new = runner.run(RunRequest(extract, out_dir=shared, force=True)).run
    assert new.flags_path == old.flags_path
    six_months_later = _finished(engine, old.id) + dt.timedelta(days=183)
    with Session(engine) as session, session.begin():
        session.get_one(DetectionRun, new.id).finished_at = six_months_later

    with Session(engine) as session, session.begin():
        report = purge_flags(session, tmp_path, actor="dpo", now=six_months_later + dt.timedelta(days=200))

    assert (report.runs, report.files_deleted) == (1, 0)
    assert _flags_of(engine, old.id) == 0 and _flags_of(engine, new.id) == new.flags_count
    assert Path(new.flags_path or "").exists()


def test_the_retention_is_counted_in_calendar_months_and_at_least_one() -> None:
    now = dt.datetime(2027, 3, 31, 8, 0, tzinfo=dt.UTC)
    # Midnight in France (summer time on 31 March 2026, winter time on 28 February 2027).
    assert flags_kept_until(12, now) == dt.datetime(2026, 3, 30, 22, 0, tzinfo=dt.UTC)
    assert flags_kept_until(1, now) == dt.datetime(2027, 2, 27, 23, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="au moins un mois"):
        flags_kept_until(0, now)


@pytest.mark.parametrize("months", [1, 6, 12])
def test_the_day_said_for_the_deletion_is_exact_for_every_day_including_month_ends(months: int) -> None:
    day = dt.date(2024, 1, 1)
    while day < dt.date(2028, 1, 1):
        deleted_from = first_day_past(day, months)
        # Days in France: a run finished at 11:30 pm UTC on 30 November finished on 1 December.
        last_moment = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=PARIS)
        first_moment = dt.datetime.combine(day, dt.time(), tzinfo=PARIS)
        on_that_day = dt.datetime.combine(deleted_from, dt.time(), tzinfo=PARIS)
        assert last_moment < flags_kept_until(months, on_that_day), day
        assert first_moment >= flags_kept_until(months, on_that_day - dt.timedelta(days=1)), day
        day += dt.timedelta(days=1)


def test_the_day_said_for_the_deletion_is_the_first_day_a_purge_deletes_the_flags(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    run = DetectionRunner(engine, geography, tmp_path).run(RunRequest(extract)).run
    # Six months after a 30 November is a 30 May, and 31 May goes back to 30 November: the day said
    # must be 1 June (a CI run on 30 November found this).
    with Session(engine) as session, session.begin():
        session.get_one(DetectionRun, run.id).finished_at = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        [kept] = kept_flags(session, months=6)
    assert kept.deleted_from == dt.date(2027, 6, 1)
    assert (kept.run_id, kept.flags) == (run.id, run.flags_count)
    day_before = dt.datetime.combine(kept.deleted_from, dt.time(23, 59), tzinfo=PARIS) - dt.timedelta(days=1)
    that_day = dt.datetime.combine(kept.deleted_from, dt.time(0, 1), tzinfo=PARIS)

    with Session(engine) as session, session.begin():
        assert purge_flags(session, tmp_path, actor="dpo", months=6, now=day_before).runs == 0
    with Session(engine) as session, session.begin():
        assert purge_flags(session, tmp_path, actor="dpo", months=6, now=that_day).runs == 1
        assert kept_flags(session) == []


def test_the_day_said_for_an_archived_extract_is_the_first_day_a_purge_deletes_it(
    engine: Engine, tmp_path: Path
) -> None:
    archive = tmp_path / "depot" / "archive"
    archive.mkdir(parents=True)
    dropped = archive / "foyers-2025-01.parquet"
    dropped.write_bytes(b"PAR1")
    moment = dt.datetime(2025, 1, 31, 22, 30, tzinfo=dt.UTC).timestamp()
    os.utime(dropped, (moment, moment))
    [listed] = archived_extracts([archive, tmp_path / "absent"], months=1)
    assert listed.path == dropped and listed.deleted_from == dt.date(2025, 3, 1)  # 28/02 + 1 day
    day_before = dt.datetime(2025, 2, 28, 23, 59, tzinfo=PARIS)  # the day in France

    with Session(engine) as session, session.begin():
        kept = purge_archived_extracts(session, [archive], actor="dpo", months=1, now=day_before)
    assert kept.files_deleted == 0 and dropped.exists()
    with Session(engine) as session, session.begin():
        done = purge_archived_extracts(
            session,
            [archive],
            actor="dpo",
            months=1,
            now=dt.datetime(2025, 3, 1, 0, 1, tzinfo=PARIS),
        )
    assert (done.files_deleted, done.not_deleted) == (1, ()) and not dropped.exists()
    assert archived_extracts([archive]) == []
