"""Schedules and the scheduler daemon (APScheduler 3.11, job store in the project's database).

- Schedules are APScheduler jobs stored in `uptake_scheduler_jobs`: they survive restarts and
  every process (CLI, daemons) sees the same ones. A schedule's function is one of the registered
  jobs of `uptake.jobs.JOBS`, referenced by its import path, with plain keyword arguments.
- Each job runs at most once at a time (`max_instances=1`), missed runs are coalesced into one
  and dropped after `MISFIRE_GRACE_S` (logged as `execution_missed`, with the command that runs it).
- Two daemons on the same database never run the same execution: before running, a daemon
  claims (job, scheduled time) in `uptake_job_claims`, whose primary key lets only one claim in.
- The daemon stops gracefully on SIGTERM/SIGINT: the running job is asked to stop (a detection
  run is then marked failed, nothing is published) and the daemon waits for it.
- Each daemon writes a sign of life in `uptake_scheduler_daemons` at every poll, so that
  `uptake schedule list` and the web page can tell whether schedules will run at all.
- An execution whose daemon died during it (kill -9, the OOM killer, a power cut) would keep no
  outcome forever: at start and at every poll, a daemon closes the claims of daemons no longer alive
  as interrupted (a failure, alerted like the others), never those of a live daemon.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any, cast

import psutil
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from privacy.canonical import TIME_ZONE_ENV, caf_time_zone
from uptake import french
from uptake.alerts import AlertSettings, alert_settings, send_failure_alert
from uptake.failures import told
from uptake.jobs import JOBS, STOP, JobSpec, ScheduleError, result_outcome
from uptake.logs import log_event

logger = logging.getLogger("uptake.scheduler")

JOBSTORE_TABLE = "uptake_scheduler_jobs"
MISFIRE_GRACE_S = 6 * 3600
# How often the daemon re-reads the job store, to see schedules added or changed by the CLI.
POLL_ENV = "UPTAKE_SCHEDULER_POLL_S"
DEFAULT_POLL_S = 30.0
# A daemon silent for longer than this many polls (and at least a minute) is taken for stopped.
SILENT_POLLS = 3
SUCCEEDED, FAILED = "succeeded", "failed"
OUTCOME_LABELS = {SUCCEEDED: "réussie", FAILED: "échec"}

# The daemon's own tables (created by the `uptake_scheduler` migrations), apart from APScheduler's.
SCHEDULER_TABLES = MetaData()
_claims = Table(
    "uptake_job_claims",
    SCHEDULER_TABLES,
    Column("job_id", String(191), primary_key=True),
    Column("scheduled_at", DateTime(timezone=True), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("outcome", String(16)),  # SUCCEEDED or FAILED; empty while it runs (or if it was killed)
    Column("message", String(2000)),  # what went wrong, in French
    Column("alerted_at", DateTime(timezone=True)),  # when the failure's alert was tried
    Column("alert_problem", String(500)),  # why the relay did not take it; empty when it did
)
_misses = Table(
    "uptake_job_misses",
    SCHEDULER_TABLES,
    Column("job_id", String(191), primary_key=True),
    Column("scheduled_at", DateTime(timezone=True), primary_key=True),
    Column("noticed_by", String(255), nullable=False),
    Column("noticed_at", DateTime(timezone=True), nullable=False),
)
_daemons = Table(
    "uptake_scheduler_daemons",
    SCHEDULER_TABLES,
    Column("owner", String(255), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("poll_s", Float, nullable=False),
)


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule as plain data."""

    name: str
    job: str
    cron: str
    next_run: dt.datetime | None
    params: dict[str, Any]
    last_claimed: dt.datetime | None = None  # the last execution a daemon started
    last_outcome: str | None = None  # how it ended: SUCCEEDED, FAILED, None while running
    last_message: str | None = None  # what went wrong, when it failed (or what it found to say)
    alert_problem: str | None = None  # why the last execution's alert could not be sent
    missed: dt.datetime | None = None  # an execution no daemon ran in time, since the last started
    never: bool = False  # its cron names no date that exists (the 31st of February): it cannot fire
    zone: str = ""  # the time zone its cron is read in: the Caf's when it was added

    @property
    def paused(self) -> bool:
        """A paused schedule has no next run, though its cron has dates."""
        return self.next_run is None and not self.never


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


def _owner_alive(owner: str, live: set[str], me: str, *, starting: bool) -> bool:
    """Whether the daemon that claimed an execution may still be running it.

    This daemon's own name at its start is an earlier daemon with the same pid (after a reboot):
    gone. Any other is alive when `daemons` says so (`live`): on this host while its process runs,
    elsewhere while its sign of life is recent.
    """
    if owner == me:
        return not starting
    return owner in live


def interrupted_message(job_id: str, owner: str) -> str:
    """What to say of an execution whose daemon died during it, in French."""
    return (
        f"interrompue : le démon {owner} s'est arrêté brutalement pendant l'exécution (arrêt forcé, "
        "manque de mémoire, coupure) ; une détection interrompue ne publie rien : relancez-la avec "
        f"« uptake schedule run {job_id} » ; un lancement déjà enregistré ne se refait pas, ses "
        "courriels restés à envoyer partent avec « uptake campaigns send » (ou les relances planifiées)"
    )


def close_orphaned_claims(
    engine: Engine, owner: str, alerts: AlertSettings | None = None, *, starting: bool = False
) -> list[tuple[str, dt.datetime]]:
    """Close as interrupted (failed) the executions left unfinished by daemons no longer alive, and
    send their alerts; the (schedule, time) of each closed here.

    Each is closed by one daemon only (the update requires it still open). `starting`: this daemon
    has claimed nothing yet, so an open claim in its own name is an earlier process's.
    """
    try:
        live = {d.owner for d in daemons(engine) if d.alive}
        with engine.connect() as connection:
            open_claims = connection.execute(
                select(_claims.c.job_id, _claims.c.scheduled_at, _claims.c.owner).where(
                    _claims.c.finished_at.is_(None)
                )
            ).all()
        closed: list[tuple[str, dt.datetime, str]] = []
        for row in open_claims:
            if _owner_alive(row.owner, live, owner, starting=starting):
                continue
            message = interrupted_message(row.job_id, row.owner)
            with engine.begin() as connection:
                done = connection.execute(
                    update(_claims)
                    .where(
                        _claims.c.job_id == row.job_id,
                        _claims.c.scheduled_at == row.scheduled_at,
                        _claims.c.finished_at.is_(None),
                    )
                    .values(finished_at=dt.datetime.now(dt.UTC), outcome=FAILED, message=message)
                )
            if done.rowcount:
                closed.append((row.job_id, cast(dt.datetime, _utc(row.scheduled_at)), row.owner))
    except SQLAlchemyError as exc:  # the database may be briefly away: the next poll retries
        log_event(logger, "orphans_not_checked", level=logging.WARNING, error=type(exc).__name__)
        return []
    for job_id, scheduled_at, stale_owner in closed:
        log_event(
            logger,
            "execution_interrupted",
            level=logging.ERROR,
            schedule=job_id,
            scheduled_at=scheduled_at,
            owner=stale_owner,
            cause=interrupted_message(job_id, stale_owner),
        )
        _alert(engine, alerts, job_id, scheduled_at, interrupted_message(job_id, stale_owner))
    return [(job_id, scheduled_at) for job_id, scheduled_at, _owner in closed]


class ClaimingExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """A thread pool that runs only the executions this daemon managed to claim in the database."""

    def __init__(self, engine: Engine, owner: str, max_workers: int = 2) -> None:
        super().__init__(max_workers=max_workers)
        self.engine, self.owner = engine, owner

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        # Past their grace time, executions are not run but reported missed (by the pool, which
        # checks it): they are not claimed, the schedule's last start stays the real one.
        now, grace = dt.datetime.now(dt.UTC), job.misfire_grace_time
        late = [t for t in run_times if grace is not None and (now - t).total_seconds() > grace]
        due = [t for t in run_times if t not in late]
        claimed = [t for t in due if claim_execution(self.engine, job.id, t, self.owner)]
        for moment in set(due) - set(claimed):
            log_event(logger, "execution_claimed_elsewhere", schedule=job.id, scheduled_at=moment)
        for moment in claimed:
            log_event(logger, "execution_claimed", schedule=job.id, scheduled_at=moment, owner=self.owner)
        # Submitting an empty list still passes through the pool, which keeps the executor's
        # count of running instances right.
        super()._do_submit_job(job, sorted(late + claimed))


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
            timezone=caf_time_zone(),
        )
        self.scheduler.start(paused=True)
        return self.scheduler

    def __exit__(self, *_exc: object) -> None:
        self.scheduler.shutdown(wait=False)


# The five crontab fields: APScheduler's name, the French name and the values allowed.
_CRON_FIELDS = (
    ("minute", "minute", "de 0 à 59"),
    ("hour", "heure", "de 0 à 23"),
    ("day", "jour du mois", "de 1 à 31"),
    ("month", "mois", "de 1 à 12"),
    ("day_of_week", "jour de la semaine", "de 0 à 7 (0 et 7 : dimanche) ou sun à sat"),
)


def _unreadable_field(fields: list[str]) -> str | None:
    """What to say of the first of five cron `fields` that cannot be read, None when all can."""
    for (name, label, allowed), value in zip(_CRON_FIELDS, fields, strict=False):
        try:
            CronTrigger(**{name: _weekdays(value) if name == "day_of_week" else value})
        except ValueError:
            return f"{label} « {value} » illisible (valeurs {allowed}, *, listes a,b, plages a-b, pas */n) ; "
    return None


def _invalid_cron(cron: str, fields: list[str] | None = None) -> ScheduleError:
    """The error for `cron`, naming the first of its `fields` that cannot be read, if one is found."""
    culprit = f"{len(fields)} champ(s) au lieu de cinq ; " if fields is not None and len(fields) != 5 else ""
    if not culprit and fields:
        culprit = _unreadable_field(fields) or ""
    return ScheduleError(
        f"expression cron invalide « {cron} » : {culprit}cinq champs « minute heure jour mois "
        "jour-de-semaine », par exemple « 0 6 5 * * » pour le 5 de chaque mois à 6 h, "
        "« 30 7 * * 1-5 » du lundi au vendredi à 7 h 30"
    )


def cron_trigger(cron: str, now: dt.datetime | None = None) -> CronTrigger:
    """The trigger of a standard crontab expression (as `man 5 crontab` reads it); one with no date
    in the next five years after `now` (the 31st of February) is refused."""
    fields = cron.split()
    if len(fields) != 5:
        raise _invalid_cron(cron, fields)
    minute, hour, day, month, weekday = fields
    if _unreadable_field(fields) is not None:  # a value out of range is what to fix first
        raise _invalid_cron(cron, fields)
    if day != "*" and weekday != "*":
        # cron runs when either matches, APScheduler only when both do: ask for one of them.
        raise ScheduleError(
            f"expression cron « {cron} » : indiquez soit le jour du mois, soit le jour de la semaine "
            "(l'autre champ à « * ») ; pour les deux, ajoutez deux planifications"
        )
    try:
        values = {
            "minute": minute,
            "hour": hour,
            "day": day,
            "month": month,
            "day_of_week": _weekdays(weekday),
        }
        trigger = CronTrigger(**values, timezone=caf_time_zone())
    except ValueError:
        raise _invalid_cron(cron, fields) from None
    if _first_fire(values, now or dt.datetime.now(dt.UTC)) is None:
        raise ScheduleError(
            f"expression cron « {cron} » : {_no_such_date(day, month)}, aucune exécution ne serait "
            "possible ; choisissez un jour qui existe dans ces mois, par exemple « 0 6 28 2 * » pour le "
            "28 février"
        )
    return trigger


# A schedule must fire within this horizon (the 29th of February comes back within four years);
# searching further, APScheduler would try every year up to 9999.
_HORIZON = dt.timedelta(days=5 * 366)
_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def _first_fire(fields: Mapping[str, str], now: dt.datetime) -> dt.datetime | None:
    """The first time a cron trigger of these fields fires after `now`, within the horizon."""
    bounded = CronTrigger(**fields, timezone=caf_time_zone(), end_date=now + _HORIZON)
    return cast(dt.datetime | None, bounded.get_next_fire_time(None, now))


def _no_such_date(day: str, month: str) -> str:
    """Why a day of the month and a month never meet, in French (`le 31 février n'existe jamais`)."""
    if day.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return f"le {int(day)} {_MONTHS[int(month) - 1]} n'existe jamais"
    return f"aucun des mois « {month} » n'a de jour « {day} »"


def never_sentences(infos: list[ScheduleInfo]) -> list[str]:
    """What to tell of the schedules whose cron names no date that exists: they will never fire."""
    return [
        f"La planification « {info.name} » ne se déclenchera jamais : aucune date n'existe pour « "
        f"{info.cron} » ; supprimez-la (uptake schedule remove {info.name}) puis ajoutez-la avec un "
        "jour qui existe."
        for info in infos
        if info.never
    ]


def zone_sentences(infos: list[ScheduleInfo]) -> list[str]:
    """What to tell of the schedules added under another time zone than the Caf's (`UPTAKE_FUSEAU`
    changed since): their cron is still read in the old one."""
    zone = caf_time_zone().key
    return [
        f"La planification « {info.name} » suit le fuseau {info.zone}, alors que l'installation est dans "
        f"le fuseau {zone} ({TIME_ZONE_ENV}) : elle ne part pas à l'heure voulue ; passez-la au fuseau "
        f"de l'installation, aux mêmes heures (uptake schedule fuseau {info.name})."
        for info in infos
        if info.zone and info.zone != zone
    ]


def next_run_text(info: ScheduleInfo, *, short: bool = False) -> str:
    """When the schedule fires next, in French: its date, « en pause », or « jamais (date impossible) »."""
    if info.never:
        return "jamais (date impossible)"
    return "en pause" if info.next_run is None else french.moment(info.next_run, short=short)


# Day-of-week as crontab numbers them (0 or 7 is Sunday); APScheduler 3 numbers Monday 0, so the
# field is handed over as day names (`1-5` → `mon,tue,wed,thu,fri`, not Tuesday to Saturday).
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekdays(field: str) -> str:
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(field)
        if base == "*":
            first, last = 0, 6
        else:
            low, _, high = base.partition("-")
            first, last = _cron_day(low), _cron_day(high or low)
            if high == "7":
                last = 7  # `5-7` is Friday to Sunday
            if first > last:
                raise ValueError(field)
        days.update(d % 7 for d in range(first, last + 1, step or 1))
    order = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return ",".join(name for name in order if _CRON_DAYS.index(name) in days)


def _standard_weekdays(field: str) -> str:
    """The days APScheduler keeps (`mon,tue,wed,thu,fri`) as the crontab the data team wrote them
    (`1-5`, 0 being Sunday)."""
    names = field.split(",")
    if field == "*" or not all(name in _CRON_DAYS for name in names):
        return field
    days = sorted(_CRON_DAYS.index(name) for name in names)
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(str(d) for d in run) for run in runs)


def _cron_day(token: str) -> int:
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    raise ValueError(token)


def _spec(job: str) -> JobSpec:
    if job not in JOBS:
        raise ScheduleError(f"tâche inconnue « {job} » : tâches possibles : {', '.join(sorted(JOBS))}")
    return JOBS[job]


# A schedule's name appears in commands, logs and web addresses: a plain word.
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def add_schedule(
    engine: Engine, name: str, *, cron: str, job: str, params: Mapping[str, Any]
) -> ScheduleInfo:
    """Store a new schedule; its function is the registered job `job`, called with `params`."""
    if not SCHEDULE_NAME.fullmatch(name):
        raise ScheduleError(
            f"nom de planification « {name} » invalide : lettres sans accent, chiffres, « - », « _ » ou "
            "« . », 64 caractères au plus (par exemple detection-mensuelle)"
        )
    spec = _spec(job)
    typed = spec.checked(params)
    trigger = cron_trigger(cron)
    with _Store(engine) as scheduler:
        if scheduler.get_job(name) is not None:
            raise ScheduleError(
                f"la planification « {name} » existe déjà : choisissez un autre nom ou supprimez-la "
                f"(uptake schedule remove {name})"
            )
        _refuse_shared_inbox(scheduler, job, typed)
        added = scheduler.add_job(
            spec.reference,
            trigger=trigger,
            id=name,
            name=name,
            kwargs={**typed, "schedule": name},
            **_job_defaults(),
        )
        return _info(added)


# The jobs that take the files of their inbox away (archive, rejete/, deleted once imported): two of
# them on one folder would take each other's files. The reconciliation only reads the detection's.
_TAKES_FILES = frozenset({"detection", "courriels_en_echec", "stop"})


def _refuse_shared_inbox(scheduler: BaseScheduler, job: str, params: Mapping[str, Any]) -> None:
    inbox = params.get("inbox")
    if inbox is None or job not in _TAKES_FILES:
        return
    for other in map(_info, scheduler.get_jobs()):
        if other.job in _TAKES_FILES and other.params.get("inbox") == inbox:
            if other.job == job:
                # Two of the same job on one folder: the second finds the file the first archived.
                raise ScheduleError(
                    f"le dossier de dépôt {inbox} est déjà pris par la planification « {other.name} » "
                    f"({other.job}) : une seule planification par dossier ; pour changer son rythme, "
                    f"supprimez-la (uptake schedule remove {other.name}) puis ajoutez la nouvelle"
                )
            raise ScheduleError(
                f"le dossier de dépôt {inbox} est déjà celui de la planification « {other.name} » "
                f"({other.job}) : chaque tâche range ou supprime les fichiers qu'elle prend, elles se "
                "prendraient leurs fichiers ; donnez un dossier à chacune"
            )


def _info(job: Job) -> ScheduleInfo:
    kwargs = dict(job.kwargs)
    kwargs.pop("schedule", None)
    names = {spec.reference: key for key, spec in JOBS.items()}
    fields = {f.name: str(f) for f in job.trigger.fields}
    # Shown as written in crontab (`1-5`); `fields` stays APScheduler's, for `_first_fire`.
    shown = {**fields, "day_of_week": _standard_weekdays(fields["day_of_week"])}
    cron = " ".join(shown[k] for k in ("minute", "hour", "day", "month", "day_of_week"))
    return ScheduleInfo(
        name=job.id,
        job=names.get(job.func_ref, job.func_ref),
        cron=cron,
        next_run=job.next_run_time,
        params=kwargs,
        # Asked of schedules without a next run only: an active one has a date.
        never=job.next_run_time is None and _first_fire(fields, dt.datetime.now(dt.UTC)) is None,
        zone=str(job.trigger.timezone),
    )


def list_schedules(engine: Engine) -> list[ScheduleInfo]:
    """Every stored schedule, by name, with the last execution a daemon started."""
    # Read from the job store alone: a web page or a listing needs no scheduler thread.
    store = _jobstore(engine)
    store.start(_StoreOnlyScheduler(timezone=caf_time_zone()), "default")
    infos = sorted((_info(job) for job in store.get_all_jobs()), key=lambda s: s.name)
    newest = select(_claims.c.job_id, func.max(_claims.c.scheduled_at).label("at")).group_by(_claims.c.job_id)
    latest = newest.subquery()
    with engine.connect() as connection:
        last = {
            row.job_id: row
            for row in connection.execute(
                select(
                    _claims.c.job_id,
                    _claims.c.scheduled_at,
                    _claims.c.outcome,
                    _claims.c.message,
                    _claims.c.alert_problem,
                ).join(
                    latest,
                    (_claims.c.job_id == latest.c.job_id) & (_claims.c.scheduled_at == latest.c.at),
                )
            )
        }
        missed = dict(
            connection.execute(
                select(_misses.c.job_id, func.max(_misses.c.scheduled_at)).group_by(_misses.c.job_id)
            ).all()
        )
    listed = []
    for info in infos:
        claim = last.get(info.name)
        started, skipped = _utc(claim.scheduled_at if claim else None), _utc(missed.get(info.name))
        if skipped is not None and started is not None and started > skipped:
            skipped = None  # run since, by hand or at its next date
        listed.append(
            replace(
                info,
                last_claimed=started,
                last_outcome=claim.outcome if claim else None,
                last_message=claim.message if claim else None,
                alert_problem=claim.alert_problem if claim else None,
                missed=skipped,
            )
        )
    return listed


def missed_sentences(infos: list[ScheduleInfo]) -> list[str]:
    """What to tell of the schedules whose last execution no daemon ran in time."""
    return [
        f"Exécution manquée : « {info.name} » prévue le {french.moment(info.missed)}, aucun démon ne "
        f"l'a lancée à temps ; lancez-la avec « uptake schedule run {info.name} »."
        for info in infos
        if info.missed is not None
    ]


def failure_sentences(infos: list[ScheduleInfo]) -> list[str]:
    """What to tell of the schedules whose last execution failed, with what went wrong."""
    return [
        f"Échec de la dernière exécution de « {info.name} » ({french.moment(info.last_claimed)}) : "
        f"{info.last_message or 'voir le journal du démon'}"
        + (f" (l'alerte n'a pas pu être envoyée : {info.alert_problem})" if info.alert_problem else "")
        for info in infos
        if info.last_outcome == FAILED
    ]


def last_alert_problem(engine: Engine) -> str | None:
    """What to tell when the last alert tried could not be sent (None when it was, or none was tried)."""
    with engine.connect() as connection:
        last = connection.execute(
            select(_claims.c.job_id, _claims.c.alerted_at, _claims.c.alert_problem)
            .where(_claims.c.alerted_at.is_not(None))
            .order_by(_claims.c.alerted_at.desc())
            .limit(1)
        ).first()
    if last is None or not last.alert_problem:
        return None
    return (
        f"la dernière alerte (échec de « {last.job_id} », le {french.moment(_utc(last.alerted_at))}) n'a "
        f"pas pu être envoyée : {last.alert_problem} ; vérifiez le relais (UPTAKE_SMTP) et qu'il accepte "
        "l'expéditeur et les destinataires (UPTAKE_ALERTES_EXPEDITEUR, UPTAKE_ALERTES)"
    )


def purge_sentence(infos: list[ScheduleInfo]) -> str | None:
    """What to tell when no active schedule runs the purge: retention periods are only applied by
    a purge, and a person should not have to remember to run it."""
    if any(info.job == "purge" and info.next_run is not None for info in infos):
        return None
    return (
        "Aucune purge planifiée (ou sa planification est suspendue) : les durées de conservation "
        "ne sont appliquées que lorsqu'une purge est lancée. Planifiez-la chaque nuit : "
        '« uptake schedule add purge --cron "30 2 * * *" --job purge ».'
    )


@dataclass(frozen=True)
class DaemonInfo:
    """A scheduler daemon as last seen in the database."""

    owner: str
    started_at: dt.datetime
    last_seen_at: dt.datetime
    alive: bool


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite gives naive datetimes back: they were written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def daemons(engine: Engine, now: dt.datetime | None = None) -> list[DaemonInfo]:
    """The daemons that wrote a sign of life, the most recently seen first.

    A daemon of this host is `alive` while its process runs (the same process: started before the
    daemon announced itself), whatever its sign of life: on SQLite a long job holds the database, and
    the heartbeat waits. Another host's is alive while its last sign of life is recent (within
    `SILENT_POLLS` of its polls, and at least a minute)."""
    now = now or dt.datetime.now(dt.UTC)
    with engine.connect() as connection:
        rows = connection.execute(select(_daemons).order_by(_daemons.c.last_seen_at.desc())).all()
    found = []
    for row in rows:
        seen, started = _utc(row.last_seen_at), _utc(row.started_at)
        assert seen is not None and started is not None
        running = _running_here(row.owner, started)
        silence = dt.timedelta(seconds=max(60.0, SILENT_POLLS * row.poll_s))
        alive = running if running is not None else now - seen <= silence
        found.append(DaemonInfo(row.owner, started, seen, alive=alive))
    return found


def _running_here(owner: str, started: dt.datetime) -> bool | None:
    """Whether the daemon `owner` of this host still runs (its pid, started before `started`: not a
    pid reused since); None for another host's, which only its signs of life can tell."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        created = float(psutil.Process(int(pid)).create_time())
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # its start time cannot be read: its signs of life tell
        return None
    return created <= started.timestamp() + 1.0


def daemon_sentence(found: list[DaemonInfo]) -> str:
    """Whether a daemon runs the schedules, in one French sentence (CLI and web page)."""
    alive = [d for d in found if d.alive]
    if alive:
        each = [
            f"{d.owner}, démarré le {french.moment(d.started_at)}, "
            f"dernier signe de vie le {french.moment(d.last_seen_at)}"
            for d in alive
        ]
        return f"Démon actif : {' ; '.join(each)}."
    if found:
        last = found[0]
        return (
            f"Aucun démon actif (dernier signe de vie de {last.owner} le "
            f"{french.moment(last.last_seen_at)}) : les planifications ne s'exécutent que pendant que "
            "« uptake scheduler » tourne."
        )
    return (
        "Aucun démon actif : lancez « uptake scheduler » (par exemple comme service) pour que les "
        "planifications s'exécutent."
    )


def announce_daemon(engine: Engine, owner: str, poll_s: float) -> dt.datetime:
    """Record this daemon, forgetting those long silent (their runs are over); its start time."""
    now = dt.datetime.now(dt.UTC)
    stopped = [d.owner for d in daemons(engine, now) if not d.alive]
    with engine.begin() as connection:
        if stopped:
            connection.execute(delete(_daemons).where(_daemons.c.owner.in_(stopped)))
        connection.execute(
            insert(_daemons).values(owner=owner, started_at=now, last_seen_at=now, poll_s=poll_s)
        )
    return now


def daemon_heartbeat(engine: Engine, owner: str, started_at: dt.datetime, poll_s: float) -> None:
    """Write the daemon's sign of life; firing it also makes the daemon re-read the job store."""
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as connection:
            seen = connection.execute(
                update(_daemons).where(_daemons.c.owner == owner).values(last_seen_at=now)
            )
            if not seen.rowcount:
                # Forgotten by another daemon after a long silence (the database was away): back.
                connection.execute(
                    insert(_daemons).values(
                        owner=owner, started_at=started_at, last_seen_at=now, poll_s=poll_s
                    )
                )
    except SQLAlchemyError as exc:  # the database may be briefly away: the next poll retries
        log_event(logger, "heartbeat_failed", owner=owner, error=type(exc).__name__)


def _retire(engine: Engine, owner: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(_daemons).where(_daemons.c.owner == owner))


def _refuse_never_firing(scheduler: BaseScheduler, name: str) -> None:
    """Refuse to resume a schedule whose cron has no date: APScheduler would delete it without a word."""
    job = scheduler.get_job(name)
    if job is not None and (info := _info(job)).never:
        raise ScheduleError(never_sentences([info])[0])


def _change(engine: Engine, name: str, action: str) -> ScheduleInfo:
    with _Store(engine) as scheduler:
        try:
            if action == "resume":
                _refuse_never_firing(scheduler, name)
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
            raise _unknown_schedule(name) from None
        return _info(job)


def _unknown_schedule(name: str) -> ScheduleError:
    return ScheduleError(f"planification inconnue « {name} » : voyez la liste avec « uptake schedule list »")


def pause_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Stop a schedule from firing until it is resumed."""
    return _change(engine, name, "pause")


def resume_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Let a paused schedule fire again at its next cron time."""
    return _change(engine, name, "resume")


def run_schedule_now(engine: Engine, name: str) -> ScheduleInfo:
    """Make a schedule due now: the next daemon to look runs it once, then it follows its cron."""
    return _change(engine, name, "now")


def rezone_schedule(engine: Engine, name: str) -> tuple[ScheduleInfo, str]:
    """Read a schedule's cron in the Caf's time zone (`UPTAKE_FUSEAU`) from now on, at the same
    hours, paused or not as it was: the schedule and the zone it followed before."""
    with _Store(engine) as scheduler:
        job = scheduler.get_job(name)
        if job is None:
            raise _unknown_schedule(name)
        before = str(job.trigger.timezone)
        fields = {field.name: str(field) for field in job.trigger.fields}
        trigger = CronTrigger(**fields, timezone=caf_time_zone())
        paused = job.next_run_time is None
        now = dt.datetime.now(dt.UTC)
        job = scheduler.modify_job(
            name, trigger=trigger, next_run_time=None if paused else trigger.get_next_fire_time(None, now)
        )
        return _info(job), before


def remove_schedule(engine: Engine, name: str) -> ScheduleInfo:
    """Delete a schedule."""
    return _change(engine, name, "remove")


def _poll_seconds() -> float:
    return float(os.environ.get(POLL_ENV, "") or DEFAULT_POLL_S)


class DaemonScheduler(BlockingScheduler):  # type: ignore[misc]
    """The daemon's scheduler: once told to stop, it starts nothing more.

    APScheduler 3's loop processes the due jobs once more after `shutdown()` has stopped the
    executors: an execution due then (a "run now" request, say) would be claimed, fail to start,
    and be moved on to the next date of its schedule, lost. Left due instead, the next daemon to
    start runs it.
    """

    def _process_jobs(self) -> float | None:
        # The job stores' lock is the one `shutdown()` takes before stopping the executors: a pass
        # that starts before it runs what it claims; one that starts after sees the stop.
        with self._jobstores_lock:
            if STOP.is_set() or self.state == STATE_STOPPED:
                return None
            return cast("float | None", super()._process_jobs())


def _record_missed(engine: Engine, owner: str, event: JobExecutionEvent) -> None:
    """An execution due longer ago than its grace time (no daemon was running then) is skipped by
    APScheduler: said in the log, then recorded for `uptake schedule list` and the web page."""
    # Logged first: a database that does not answer must not silence the one sign of the miss.
    log_event(
        logger,
        "execution_missed",
        level=logging.WARNING,
        schedule=event.job_id,
        scheduled_at=event.scheduled_run_time,
        grace_s=MISFIRE_GRACE_S,
        hint=f"uptake schedule run {event.job_id}",
    )
    with suppress(IntegrityError), engine.begin() as connection:  # another daemon noticed it first
        connection.execute(
            insert(_misses).values(
                job_id=event.job_id,
                scheduled_at=event.scheduled_run_time.astimezone(dt.UTC),
                noticed_by=owner,
                noticed_at=dt.datetime.now(dt.UTC),
            )
        )


def _record_outcome(engine: Engine, alerts: AlertSettings | None, event: JobExecutionEvent) -> None:
    """How a claimed execution ended, for `uptake schedule list` and the web page (the log has it
    too); a failure is also sent to the alert addresses, if any."""
    if event.jobstore != "default":  # the daemon's own heartbeat
        return
    succeeded, message = result_outcome(event.retval)
    if event.exception is not None:
        internal = f"erreur interne ({type(event.exception).__name__}) : voir le journal du démon"
        succeeded, message = False, told(event.exception) or internal
    try:
        with engine.begin() as connection:
            connection.execute(
                update(_claims)
                .where(
                    _claims.c.job_id == event.job_id,
                    _claims.c.scheduled_at == event.scheduled_run_time.astimezone(dt.UTC),
                )
                .values(
                    finished_at=dt.datetime.now(dt.UTC),
                    outcome=SUCCEEDED if succeeded else FAILED,
                    message=message[:2000] if message else None,
                )
            )
    except SQLAlchemyError:  # the database went away: the log still tells how the execution ended
        log_event(logger, "outcome_not_recorded", level=logging.WARNING, schedule=event.job_id)
    if not succeeded:
        # The French cause (paths and fixes, never household data) for whoever reads only the log.
        log_event(
            logger,
            "execution_failed",
            level=logging.ERROR,
            schedule=event.job_id,
            scheduled_at=event.scheduled_run_time,
            cause=message or "",
        )
        _alert(engine, alerts, event.job_id, event.scheduled_run_time, message or "")


def _alert(
    engine: Engine, alerts: AlertSettings | None, job_id: str, scheduled_at: dt.datetime, message: str
) -> None:
    """Send the failure's alert, if alerts are configured, and record whether the relay took it."""
    if alerts is None:
        return
    problem = send_failure_alert(alerts, schedule=job_id, scheduled_at=scheduled_at, message=message)
    if problem is None:
        log_event(logger, "alert_sent", schedule=job_id, recipients=len(alerts.recipients))
    else:
        log_event(logger, "alert_not_sent", level=logging.ERROR, schedule=job_id, problem=problem)
    with suppress(SQLAlchemyError), engine.begin() as connection:  # the log has it in any case
        connection.execute(
            update(_claims)
            .where(_claims.c.job_id == job_id, _claims.c.scheduled_at == scheduled_at.astimezone(dt.UTC))
            .values(alerted_at=dt.datetime.now(dt.UTC), alert_problem=problem[:500] if problem else None)
        )


def daemon_scheduler(
    engine: Engine,
    owner: str,
    started_at: dt.datetime,
    poll_s: float,
    alerts: AlertSettings | None = None,
) -> DaemonScheduler:
    """The daemon's scheduler over the stored schedules, with its heartbeat every `poll_s` seconds;
    failed executions are sent to `alerts`, if given."""
    scheduler = DaemonScheduler(
        jobstores={"default": _jobstore(engine), "internal": MemoryJobStore()},
        executors={"default": ClaimingExecutor(engine, owner), "internal": ThreadPoolExecutor(1)},
        job_defaults=_job_defaults(),
        timezone=caf_time_zone(),
    )
    scheduler.add_listener(functools.partial(_record_missed, engine, owner), EVENT_JOB_MISSED)
    recorder = functools.partial(_record_outcome, engine, alerts)
    scheduler.add_listener(recorder, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.add_job(
        functools.partial(daemon_heartbeat, engine, owner, started_at, poll_s),
        "interval",
        seconds=poll_s,
        id="daemon_heartbeat",
        # Named in APScheduler's own log lines (« … skipped: maximum number of running instances »,
        # while a long SQLite job holds the database), where a partial would read « partial ».
        name="signe de vie du démon",
        jobstore="internal",
        executor="internal",
    )
    scheduler.add_job(
        functools.partial(close_orphaned_claims, engine, owner, alerts),
        "interval",
        seconds=poll_s,
        id="orphaned_claims",
        name="exécutions d'un démon arrêté",
        jobstore="internal",
        executor="internal",
    )
    return scheduler


def run_daemon(engine: Engine) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT."""
    owner, poll_s = owner_name(), _poll_seconds()
    alerts = alert_settings()  # a misconfiguration stops the daemon before it starts
    zone = caf_time_zone()  # so does a wrong UPTAKE_FUSEAU
    started_at = announce_daemon(engine, owner, poll_s)
    try:
        close_orphaned_claims(engine, owner, alerts, starting=True)
        scheduler = daemon_scheduler(engine, owner, started_at, poll_s, alerts)

        def _stop(signum: int, _frame: FrameType | None) -> None:
            if STOP.is_set():
                # A second signal (`timeout` and a service manager both signal, Ctrl-C twice): the
                # shutdown already under way is the one; another would find the scheduler stopped.
                return
            log_event(logger, "scheduler_stopping", signal=signal.Signals(signum).name)
            STOP.set()
            # Shutting down waits for the running job: do it off the signal handler.
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="shutdown").start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        log_event(
            logger,
            "scheduler_started",
            owner=owner,
            poll_s=poll_s,
            alerts=len(alerts.recipients) if alerts else 0,
            time_zone=zone.key,
        )
        scheduler.start()
    finally:
        _retire(engine, owner)
    log_event(logger, "scheduler_stopped", owner=owner)
