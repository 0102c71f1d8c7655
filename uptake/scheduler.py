"""Schedules and the scheduler daemon (APScheduler 3.11, job store in the project's database).

- Schedules are APScheduler jobs stored in `uptake_scheduler_jobs`: they survive restarts and
  every process (CLI, daemons) sees the same ones. A schedule's function is one of the registered
  jobs of `uptake.jobs.JOBS`, referenced by its import path, with plain keyword arguments.
- Each job runs at most once at a time (`max_instances=1`), missed runs are coalesced into one
  and dropped after `MISFIRE_GRACE_S`.
- Two daemons on the same database never run the same execution: before running, a daemon
  claims (job, scheduled time) in `uptake_job_claims`, whose primary key lets only one claim in.
- The daemon stops gracefully on SIGTERM/SIGINT: the running job is asked to stop (a detection
  run is then marked failed, nothing is published) and the daemon waits for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from uptake.jobs import JOBS, STOP, JobSpec, ScheduleError
from uptake.logs import log_event

logger = logging.getLogger("uptake.scheduler")

JOBSTORE_TABLE = "uptake_scheduler_jobs"
TIMEZONE = "Europe/Paris"
MISFIRE_GRACE_S = 6 * 3600
# How often the daemon re-reads the job store, to see schedules added or changed by the CLI.
POLL_ENV = "UPTAKE_SCHEDULER_POLL_S"
DEFAULT_POLL_S = 30.0

_claims = Table(
    "uptake_job_claims",
    MetaData(),
    Column("job_id", String(191), primary_key=True),
    Column("scheduled_at", DateTime(timezone=True), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule as plain data."""

    name: str
    job: str
    cron: str
    next_run: dt.datetime | None
    params: dict[str, Any]

    @property
    def paused(self) -> bool:
        """A paused schedule has no next run."""
        return self.next_run is None


def owner_name() -> str:
    """Who claims an execution: host and pid of this daemon."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_execution(engine: Engine, job_id: str, scheduled_at: dt.datetime, owner: str) -> bool:
    """Claim one execution of a job; True for exactly one claimant, False for every other."""
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(_claims).values(
                    job_id=job_id,
                    scheduled_at=scheduled_at.astimezone(dt.UTC),
                    owner=owner,
                    claimed_at=dt.datetime.now(dt.UTC),
                )
            )
    except IntegrityError:
        return False
    return True


class ClaimingExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """A thread pool that runs only the executions this daemon managed to claim in the database."""

    def __init__(self, engine: Engine, owner: str, max_workers: int = 2) -> None:
        super().__init__(max_workers=max_workers)
        self.engine, self.owner = engine, owner

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        claimed = [t for t in run_times if claim_execution(self.engine, job.id, t, self.owner)]
        for moment in set(run_times) - set(claimed):
            log_event(logger, "execution_claimed_elsewhere", schedule=job.id, scheduled_at=moment)
        for moment in claimed:
            log_event(logger, "execution_claimed", schedule=job.id, scheduled_at=moment, owner=self.owner)
        # Submitting an empty list still passes through the pool, which keeps the executor's
        # count of running instances right.
        super()._do_submit_job(job, claimed)


def _jobstore(engine: Engine) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)


def _job_defaults() -> dict[str, Any]:
    return {"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S}


class _StoreOnlyScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A scheduler that reads and changes stored schedules but never runs a job.

    A plain scheduler started paused still processes due jobs while it shuts down: it would
    consume a "run now" request meant for the daemon.
    """

    def _process_jobs(self) -> None:
        return None


@dataclass
class _Store:
    """A scheduler opened only to read and change the stored schedules (it never runs a job)."""

    engine: Engine

    def __enter__(self) -> BaseScheduler:
        self.scheduler = _StoreOnlyScheduler(
            jobstores={"default": _jobstore(self.engine)},
            job_defaults=_job_defaults(),
            timezone=TIMEZONE,
        )
        self.scheduler.start(paused=True)
        return self.scheduler

    def __exit__(self, *_exc: object) -> None:
        self.scheduler.shutdown(wait=False)


def _cron_trigger(cron: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron, timezone=TIMEZONE)
    except ValueError:
        raise ScheduleError(
            f"expression cron invalide « {cron} » : cinq champs « minute heure jour mois "
            "jour-de-semaine », par exemple « 0 6 5 * * » pour le 5 de chaque mois à 6 h"
        ) from None


def _spec(job: str) -> JobSpec:
    if job not in JOBS:
        raise ScheduleError(f"tâche inconnue « {job} » : tâches possibles : {', '.join(sorted(JOBS))}")
    return JOBS[job]


def add_schedule(
    engine: Engine, name: str, *, cron: str, job: str, params: Mapping[str, Any]
) -> ScheduleInfo:
    """Store a new schedule; its function is the registered job `job`, called with `params`."""
    spec = _spec(job)
    spec.check(params)
    trigger = _cron_trigger(cron)
    with _Store(engine) as scheduler:
        if scheduler.get_job(name) is not None:
            raise ScheduleError(
                f"la planification « {name} » existe déjà : choisissez un autre nom ou supprimez-la "
                f"(uptake schedule remove {name})"
            )
        added = scheduler.add_job(
            spec.reference,
            trigger=trigger,
            id=name,
            name=name,
            kwargs={**params, "schedule": name},
            **_job_defaults(),
        )
        return _info(added)


def _info(job: Job) -> ScheduleInfo:
    kwargs = dict(job.kwargs)
    kwargs.pop("schedule", None)
    names = {spec.reference: key for key, spec in JOBS.items()}
    fields = {f.name: str(f) for f in job.trigger.fields}
    cron = " ".join(fields[k] for k in ("minute", "hour", "day", "month", "day_of_week"))
    return ScheduleInfo(
        name=job.id,
        job=names.get(job.func_ref, job.func_ref),
        cron=cron,
        next_run=job.next_run_time,
        params=kwargs,
    )


def list_schedules(engine: Engine) -> list[ScheduleInfo]:
    """Every stored schedule, by name."""
    with _Store(engine) as scheduler:
        return sorted((_info(job) for job in scheduler.get_jobs()), key=lambda s: s.name)


def _change(engine: Engine, name: str, action: str) -> ScheduleInfo:
    with _Store(engine) as scheduler:
        try:
            if action == "pause":
                scheduler.pause_job(name)
            elif action == "resume":
                scheduler.resume_job(name)
            elif action == "now":
                scheduler.modify_job(name, next_run_time=dt.datetime.now(dt.UTC))
            job = scheduler.get_job(name)
            if action == "remove":
                scheduler.remove_job(name)
        except JobLookupError:
            raise ScheduleError(
                f"planification inconnue « {name} » : voyez la liste avec « uptake schedule list »"
            ) from None
        return _info(job)


def pause_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Stop a schedule from firing until it is resumed."""
    return _change(engine, name, "pause")


def resume_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Let a paused schedule fire again at its next cron time."""
    return _change(engine, name, "resume")


def run_schedule_now(engine: Engine, name: str) -> ScheduleInfo:
    """Make a schedule due now: the next daemon to look runs it once, then it follows its cron."""
    return _change(engine, name, "now")


def remove_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Delete a schedule."""
    return _change(engine, name, "remove")


def _poll_seconds() -> float:
    return float(os.environ.get(POLL_ENV, "") or DEFAULT_POLL_S)


def _wake() -> None:
    """Does nothing: firing it makes the daemon re-read the job store."""


def run_daemon(engine: Engine) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT."""
    owner = owner_name()
    scheduler = BlockingScheduler(
        jobstores={"default": _jobstore(engine), "internal": MemoryJobStore()},
        executors={"default": ClaimingExecutor(engine, owner), "internal": ThreadPoolExecutor(1)},
        job_defaults=_job_defaults(),
        timezone=TIMEZONE,
    )
    scheduler.add_job(
        _wake, "interval", seconds=_poll_seconds(), id="_wake", jobstore="internal", executor="internal"
    )

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log_event(logger, "scheduler_stopping", signal=signal.Signals(signum).name)
        STOP.set()
        # Shutting down waits for the running job: do it off the signal handler.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="shutdown").start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log_event(logger, "scheduler_started", owner=owner, poll_s=_poll_seconds())
    scheduler.start()
    log_event(logger, "scheduler_stopped", owner=owner)
