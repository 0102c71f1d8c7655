"""Runs whose process died (kill -9, power cut): found and marked `failed` at the next start.

Kept apart from `detection.runs` so that `uptake runs list` and the scheduler can recover a run
without loading the rule engine.
"""

from __future__ import annotations

import shutil
import socket
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import psutil
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from detection.records import FAILED, RUNNING, SUCCEEDED, DetectionRun, as_utc, utcnow
from privacy.datafolder import own_file

# A running run on another host is failed once its heartbeat is older than this.
HEARTBEAT_EVERY_S = 15.0
STALE_AFTER = timedelta(minutes=3)

SLICES_SUFFIX = ".tranches-"  # after the partial file's name


def process_started_at(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch); None when no such process exists."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _is_gone(run: DetectionRun, host: str) -> bool:
    if run.host == host and run.pid is not None:
        started = process_started_at(run.pid)
        # Same pid but another start time: the pid was reused by an unrelated process.
        return started is None or (
            run.process_started_at is not None and abs(started - run.process_started_at) > 1.0
        )
    heartbeat = as_utc(run.heartbeat_at) or as_utc(run.started_at)
    return heartbeat is None or utcnow() - heartbeat > STALE_AFTER


def remove_outputs(run: DetectionRun, data_folder: Path, *, final_is_ours: bool) -> None:
    """Remove what `run` wrote: its partial file and slices, and its final file when it is its own
    (renamed by its publication; otherwise that path may hold another run's flags). Nothing is
    removed outside `data_folder` that another data folder wrote (`privacy.datafolder`)."""
    final = None if run.flags_path is None else own_file(run.flags_path, run.data_folder, data_folder)
    if final is None:
        return
    partial = temporary_path(final, run.id)
    for path in (final, partial) if final_is_ours else (partial,):
        with suppress(FileNotFoundError, NotADirectoryError):  # nothing there to remove
            path.unlink()
    if partial.parent.is_dir():
        for leftover in partial.parent.glob(f"{partial.name}{SLICES_SUFFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _published_elsewhere(session: Session, run: DetectionRun) -> bool:
    """Whether another run's published flags are at `run`'s flags path (a shared `--out`)."""
    others = select(DetectionRun.id).where(
        DetectionRun.flags_path == run.flags_path, DetectionRun.status == SUCCEEDED, DetectionRun.id != run.id
    )
    return session.scalar(others.limit(1)) is not None


def recover_interrupted_runs(engine: Engine, data_folder: Path) -> list[int]:
    """Mark `failed` every running run whose process is gone; return their ids.

    A run on this host is gone when its pid no longer exists (or belongs to a newer process); a
    run on another host when its heartbeat is stale. Its output files are removed: an
    interrupted run publishes nothing. It ended at its last sign of life (its heartbeat, within
    `HEARTBEAT_EVERY_S`), not when it was found: a run killed on Friday and found on Monday did
    not last three days.
    """
    host = socket.gethostname()
    recovered = []
    with Session(engine) as session, session.begin():
        for run in session.scalars(select(DetectionRun).where(DetectionRun.status == RUNNING)):
            if _is_gone(run, host):
                run.status = FAILED
                run.finished_at = as_utc(run.heartbeat_at) or as_utc(run.started_at)
                run.error_summary = (
                    "interrompue : le processus a disparu avant la fin (arrêt brutal) ; "
                    "durée comptée jusqu'à son dernier signe de vie ; aucun drapeau publié, "
                    "relancez la détection"
                )
                # Killed while publishing, the run may have renamed its file already: it is its own
                # unless another run published at that path.
                remove_outputs(run, data_folder, final_is_ours=not _published_elsewhere(session, run))
                recovered.append(run.id)
    return recovered


def temporary_path(final: Path, run_id: int) -> Path:
    """Where run `run_id` writes its flags until it publishes them: its own, so that two runs
    given the same `--out` never write into each other's file."""
    return final.with_name(f".{final.name}.partiel-{run_id}")
