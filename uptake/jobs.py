"""Jobs the scheduler can run, and their registry.

Adding a job = one function + one line in `JOBS`. A job function:

- is a module-level function (APScheduler stores it by its import path, e.g.
  `uptake.jobs:detection_job`);
- takes keyword arguments only, with plain values (strings, numbers, booleans): the ones its
  `JobSpec` declares, plus `schedule` (the schedule's name, for the records);
- opens what it needs from the environment (`AppContext.from_env()`), so it runs the same in the
  daemon and in a test;
- returns a small dict of plain values (ids, counts) that the daemon logs; never personal data;
- checks `STOP` between long steps and stops cleanly when it is set (SIGTERM to the daemon).

The domain modules a job runs are imported inside it: the schedule commands and `uptake check`
read this registry without loading the whole detection and outreach machinery.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from detection.errors import DetectionError
from detection.records import SUCCEEDED, DetectionRun
from detection.retention import (
    FLAGS_MONTHS_BOUNDS,
    FLAGS_RETENTION_MONTHS,
    ExtractsPurge,
    FlagsPurge,
    purge_archived_extracts,
    purge_flags,
)
from outreach.channels import SmtpSettings
from outreach.errors import OutreachError
from outreach.models import Launch
from privacy import retention
from privacy.errors import PrivacyError
from privacy.files import file_sha256
from uptake.context import AppContext
from uptake.db import transaction
from uptake.failures import file_problem
from uptake.logs import log_event
from uptake.relay import caf_relay
from uptake.settings import load_settings
from uptake.users import DORMANT_AFTER

if TYPE_CHECKING:
    from outreach.attempts import AttemptReport
    from outreach.campaigns import Campaign
    from outreach.launch import OutreachEnv
    from outreach.provider_returns import Bounces, StopReplies
    from outreach.retention import OutreachPurge
    from uptake.scheduler import ScheduleInfo

logger = logging.getLogger("uptake.jobs")

# Set by the daemon on SIGTERM: jobs stop at their next step and leave nothing half-done.
STOP = threading.Event()

EXTRACT_SUFFIXES = (".parquet", ".csv")
ARCHIVE_DIR, REJECTED_DIR = "archive", "rejete"
# Older extracts left in the inbox when a newer one succeeds: running them afterwards would publish
# a run of a past month as the newest one. Kept aside (and purged with the archive), not run.
SUPERSEDED_DIR = "remplace"
# The sub-folders of a drop folder that keep extracts until the purge.
KEPT_DIRS = (ARCHIVE_DIR, REJECTED_DIR, SUPERSEDED_DIR)
REPORT_SUFFIX = ".rapport.txt"
# A file changed this recently may still be arriving (a copy or a transfer in progress): taken
# then, it would be read half-written and set aside as rejected while the rest of it lands.
DEFAULT_MIN_AGE_S = 60


class ScheduleError(DetectionError):
    """A schedule cannot be created or changed: the message says why and how to fix it."""

    exit_code = 2


# How long a scheduled detection waits for an extract still arriving at its time (an extract copied
# at 05:59:30 for a 06:00 monthly run would otherwise wait a whole month). Well within the misfire
# grace, and the job's thread is free again long before the next monthly date.
ARRIVAL_WAIT_S = 30 * 60


def _same_content(one: Path, other: Path) -> bool:
    return one.stat().st_size == other.stat().st_size and file_sha256(one) == file_sha256(other)


def _inbox_folder(folder: Path) -> None:
    """Create a sub-folder of an inbox (`archive/`, `rejete/`…) with the inbox's own permissions: the
    service's umask keeps its files private, but whoever drops extracts in the inbox reads the
    refusal reports there."""
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(stat.S_IMODE(folder.parent.stat().st_mode))


def _write_report(moved: Path, text: str) -> Path:
    """Write the report beside a file set aside in an inbox, readable by whoever may read that file."""
    report = moved.with_name(moved.name + REPORT_SUFFIX)
    report.write_text(text, encoding="utf-8")
    report.chmod(stat.S_IMODE(moved.stat().st_mode) & 0o666)
    return report


def _move(path: Path, folder: Path) -> Path:
    """Move `path` into `folder`, under a free name; `OSError` when it cannot, the file then left
    where it was.

    A rename only: either the file is in `folder` or it is still where it was, never in both places
    (a copy then a removal would leave two copies when the removal is refused). A file of the same
    content already in `folder` is not kept twice: the one moved is removed instead.
    """
    _inbox_folder(folder)
    target = folder / path.name
    counter = 1
    while target.exists():
        if target.is_file() and _same_content(target, path):
            path.unlink()
            return target
        target = folder / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    os.rename(path, target)  # the sub-folders are on the inbox's file system: atomic
    return target


def _cause(exc: OSError) -> str:
    """What the file system refused, in French (path and cause), for a job's outcome."""
    return file_problem(exc) or f"{exc.filename or 'fichier'} : erreur {type(exc).__name__}"


def _unwritable(inbox: Path) -> Path | None:
    """The first of the inbox and its kept sub-folders that the job could not move a file in or out of.

    Checked before a run: a run published whose extract then stays in the inbox would be half done.
    """
    for folder in (inbox, *(inbox / sub for sub in KEPT_DIRS)):
        if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            return folder
    return None


def _extract_month(path: Path) -> dt.date | None:
    """The reference month of an extract's first row, read without validating the file; None when it
    cannot be read (the run's validation then says why)."""
    from detection.contract import COLUMNS_BY_NAME
    from detection.reading import convert, open_extract

    column = COLUMNS_BY_NAME["mois_reference"]
    try:
        source = open_extract(path)
        raw = source.raw_schema.get(column.name)
        conversion = None if raw is None else convert(column, raw, trim=source.file_format != "parquet")
        if conversion is None:
            return None
        value = source.scan_raw().select(conversion.value).head(1).collect().to_series().first()
    except (DetectionError, OSError, pl.exceptions.PolarsError):
        return None
    return value if isinstance(value, dt.date) else None


def _next_extract(
    inbox: Path, processed: set[str], min_age_s: int, already: list[str] | None = None
) -> tuple[tuple[Path, list[Path]] | None, list[Path]]:
    """The newest extract of the inbox not processed yet with the older ones not processed either
    (processed ones are archived on the way, their names added to `already`), and the files still
    arriving.

    Newest by reference month (read from the file's first row), then by modification time: two
    months dropped together must not leave the later one aside because its copy kept an older date
    (`rsync -t`, a file sent again). A file whose month cannot be read comes first, to be rejected
    with its report. Hidden files (a transfer's temporary copy) are not extracts; files changed in
    the last `min_age_s` seconds wait for a later look.
    """
    settled_before = dt.datetime.now(dt.UTC).timestamp() - min_age_s
    candidates = [
        (path, path.stat().st_mtime)
        for path in inbox.iterdir()
        if path.is_file()
        and not path.is_symlink()  # `_left_aside`: a link is told, never taken
        and not path.name.startswith(".")
        and path.suffix.lower() in EXTRACT_SUFFIXES
    ]
    arriving = sorted(path for path, changed in candidates if changed > settled_before)
    if arriving:
        log_event(
            logger,
            "extracts_still_arriving",
            level=logging.WARNING,
            files=[p.name for p in arriving],
            min_age_s=min_age_s,
        )
    settled = [(path, changed) for path, changed in candidates if changed <= settled_before]
    months = {path: _extract_month(path) or dt.date.max for path, _ in settled}
    files = [path for path, _ in sorted(settled, key=lambda c: (months[c[0]], c[1]), reverse=True)]
    for index, path in enumerate(files):
        if file_sha256(path) not in processed:
            return (path, files[index + 1 :]), arriving
        try:
            archived = _move(path, inbox / ARCHIVE_DIR)
        except OSError as exc:  # left in the inbox: it is recognised again next time
            log_event(logger, "extract_not_archived", level=logging.ERROR, file=path.name, cause=_cause(exc))
            continue
        log_event(logger, "extract_already_processed", file=path.name, archived_as=archived.name)
        if already is not None:
            already.append(path.name)
    return None, arriving


def _left_aside(inbox: Path) -> dict[str, list[str]]:
    """The entries of the inbox the job never takes, said at each execution for the data team to act:
    files not named as an extract (`.parq`, `.xlsx`, `.zip`…), folders named as one (the folder of
    parts a Spark or Hive export writes) and symbolic links named as one (the file they point to
    would stay outside the inbox, so outside the purge of its archive). Hidden entries are left out.
    """
    aside: dict[str, list[str]] = {"ignored": [], "folders": [], "links": []}
    for path in sorted(inbox.iterdir()):
        if path.name.startswith("."):
            continue
        named_as_extract = path.suffix.lower() in EXTRACT_SUFFIXES
        if path.is_symlink() and named_as_extract:
            aside["links"].append(path.name)
        elif path.is_dir() and named_as_extract:
            aside["folders"].append(path.name)
        elif path.is_file() and not named_as_extract:
            aside["ignored"].append(path.name)
    return {key: names for key, names in aside.items() if names}


def _month_text(month: dt.date) -> str:
    return f"{month:%m/%Y}"


def _processed(engine: Engine) -> tuple[set[str], dt.date | None]:
    """The hashes of the extracts already processed, and the newest month processed."""
    with Session(engine) as session:
        hashes = {
            h
            for h in session.scalars(
                select(DetectionRun.extract_sha256).where(DetectionRun.status == SUCCEEDED).distinct()
            )
            if h is not None
        }
        newest = session.scalar(
            select(func.max(DetectionRun.mois_reference)).where(DetectionRun.status == SUCCEEDED)
        )
    return hashes, newest


def detection_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Run detection on the newest new extract of `inbox`, then archive it (or set it aside, rejected).

    After success the file goes to `inbox/archive/`, and the older extracts not processed to
    `inbox/remplace/` (superseded: not run); after rejection to `inbox/rejete/` with its French
    report next to it (`<file>.rapport.txt`), the older ones staying for the next execution. An
    extract of a month older than the newest month already processed goes to `remplace/` without
    being run (a run of a past month must not pass for the newest). A file changed less than
    `min_age_s` seconds ago is waited for, up to `ARRIVAL_WAIT_S`; hidden files are never taken, nor
    folders or symbolic links (said in the result, as files not named as an extract are). A file
    refused that changed during its validation (a copy that stalled, then went on) stays in the
    inbox for the next execution rather than going to `rejete/` half-copied.
    The inbox and its sub-folders must be writable: checked before anything runs.
    A catalogue whose rules' own test cases fail is refused before the extract is read
    (`detection.verification.CasesFailed`, raised): the execution fails with that French reason, and
    the extract, which is not at fault, stays in the inbox for the execution after the fix.
    """
    from detection.reading import file_identity
    from detection.runs import DetectionRunner, RunRequest
    from detection.validation import ExtractRejected

    ctx = AppContext.from_env()
    folder = Path(inbox)
    said: dict[str, Any] = {"inbox": str(folder), "schedule": schedule}
    if not folder.is_dir():
        log_event(logger, "inbox_missing", level=logging.ERROR, schedule=schedule, inbox=str(folder))
        return {"status": "inbox_missing", **said}
    blocked = _unwritable(folder)
    if blocked is not None:
        log_event(logger, "inbox_not_writable", level=logging.ERROR, schedule=schedule, folder=str(blocked))
        return {"status": "inbox_not_writable", "folder": str(blocked), **said}
    processed, newest_month = _processed(ctx.engine)
    # Never taken, so said at each execution (names only: never the content).
    aside = _left_aside(folder)
    if aside:
        said |= {key: ", ".join(names) for key, names in aside.items()}
        log_event(
            logger,
            "files_ignored",
            level=logging.WARNING,
            schedule=schedule,
            files=aside.get("ignored", []),
            folders=aside.get("folders", []),
            links=aside.get("links", []),
        )
    deadline = time.monotonic() + ARRIVAL_WAIT_S
    stale: list[str] = []
    already: list[str] = []
    while True:
        found, arriving = _next_extract(folder, processed, int(min_age_s), already)
        if found is not None:
            month = _extract_month(found[0])
            if newest_month is None or month is None or month >= newest_month:
                break
            moved = _move(found[0], folder / SUPERSEDED_DIR)
            stale.append(f"{moved.name} ({_month_text(month)})")
            log_event(
                logger,
                "older_month_set_aside",
                level=logging.WARNING,
                schedule=schedule,
                file=moved.name,
                month=_month_text(month),
                newest=_month_text(newest_month),
                folder=SUPERSEDED_DIR,
            )
            continue
        left = deadline - time.monotonic()
        if not arriving or STOP.is_set() or left <= 0:
            break
        # Waiting for the newest arrival to settle, looking again now and then (it may be replaced).
        STOP.wait(min(left, 10.0, max(1.0, int(min_age_s) / 4)))
    if stale:
        said |= {"stale": ", ".join(stale), "newest": _month_text(newest_month or dt.date.min)}
    if found is None:
        if arriving:
            names = ", ".join(p.name for p in arriving)
            # Stopped before the wait was over: the file may well be complete by now.
            status = "stopped_while_arriving" if STOP.is_set() else "still_arriving"
            return {"status": status, "files": names, "min_age_s": int(min_age_s), **said}
        log_event(logger, "no_new_extract", schedule=schedule)
        if already:  # dropped again: said by name, not left to « nothing new »
            said["already"] = ", ".join(already)
        return {"status": "older_month" if stale else "nothing_to_do", **said}
    extract, older = found
    # A copy that stalled longer than `min_age_s` was taken for complete: if it goes on during the
    # validation, its refusal is that of a half-copied file, and the file is not moved.
    seen = file_identity(extract)
    runner = DetectionRunner(ctx.engine, ctx.geography, ctx.settings.home, stop=STOP)
    try:
        trigger = f"planification {schedule}".strip()
        outcome = runner.run(
            RunRequest(
                extract=extract,
                trigger=trigger,
                actor="planificateur",
                catalogue_dir=ctx.settings.catalogue_dir,
                parameters_dir=ctx.settings.parameters_dir,
            )
        )
    except ExtractRejected as rejected:
        if file_identity(extract) != seen:
            log_event(
                logger,
                "rejected_extract_still_arriving",
                level=logging.WARNING,
                schedule=schedule,
                file=extract.name,
            )
            return {"status": "rejected_still_arriving", "file": extract.name, **said}
        try:
            moved = _move(extract, folder / REJECTED_DIR)
        except OSError as exc:
            return {"status": "rejected_not_moved", "file": extract.name, "cause": _cause(exc), **said}
        _write_report(moved, rejected.report())
        # A warning: the data team has to act (the cause is in the report, never household data).
        log_event(logger, "extract_rejected", level=logging.WARNING, schedule=schedule, file=moved.name)
        if older:  # the newest being refused, the next execution takes the next newest
            log_event(
                logger,
                "older_extracts_waiting",
                level=logging.WARNING,
                schedule=schedule,
                waiting=[p.name for p in older],
            )
        return {"status": "rejected", "file": moved.name, **said}
    result: dict[str, Any] = {"status": "succeeded", "run_id": outcome.run.id, "reused": outcome.reused}
    try:
        archived = _move(extract, folder / ARCHIVE_DIR)
        superseded = [_move(path, folder / SUPERSEDED_DIR).name for path in older]
    except OSError as exc:
        # Published all the same: the file, left where it was, is recognised as processed next time.
        log_event(
            logger,
            "extract_not_archived",
            level=logging.ERROR,
            schedule=schedule,
            run_id=outcome.run.id,
            file=extract.name,
            cause=_cause(exc),
        )
        return result | {"status": "archive_failed", "file": extract.name, "cause": _cause(exc), **said}
    if superseded:
        log_event(
            logger,
            "older_extracts_superseded",
            level=logging.WARNING,
            schedule=schedule,
            taken=archived.name,
            superseded=superseded,
            folder=SUPERSEDED_DIR,
        )
    log_event(
        logger,
        "detection_done",
        schedule=schedule,
        run_id=outcome.run.id,
        reused=outcome.reused,
        flags=outcome.run.flags_count,
        file=archived.name,
    )
    return (
        result
        | ({"superseded": superseded, "file": archived.name, "inbox": str(folder)} if superseded else {})
        | ({"stale": said["stale"], "newest": said["newest"]} if stale else {})
        | ({key: said[key] for key in aside} | {"inbox": str(folder)} if aside else {})
    )


def launch_job(*, campagne: str, schedule: str = "", smtp: str = "") -> dict[str, Any]:
    """Scheduler job (after the monthly detection): launch `campagne` on the succeeded detection run
    of the newest reference month (of two runs of that month, the later), if it was not launched on
    it yet: selection, holdout group, first-contact lists. A run of a past month processed late never
    passes for the newest.

    The lists go to `$UPTAKE_HOME/campagnes/<campaign>/`, like `uptake campaigns launch`; e-mails
    go through the relay `smtp` (`HOTE:PORT`) when given. Without an exchange approved by the DPO
    for the fields the campaign needs, the launch is refused (the execution fails, and says so).
    """
    from outreach.launch import launch_campaign

    ctx = AppContext.from_env()
    campaign = ctx.launchable_campaign(campagne)
    with Session(ctx.engine) as session:
        newest = session.scalars(
            select(DetectionRun)
            .where(DetectionRun.status == SUCCEEDED, DetectionRun.flags_purged_at.is_(None))
            .order_by(DetectionRun.mois_reference.desc().nulls_last(), DetectionRun.id.desc())
        ).first()
        launched = newest is not None and (
            session.scalar(
                select(Launch.id).where(Launch.campagne == campaign.id, Launch.run_id == newest.id)
            )
            is not None
        )
    if newest is None or launched:
        log_event(logger, "no_new_run", schedule=schedule, campaign=campaign.id)
        return {"status": "nothing_to_do"}
    report = launch_campaign(
        ctx.outreach_env(f"planification {schedule}".strip()),
        campaign,
        newest.id,
        out_dir=ctx.campaign_dir(campaign),
        smtp=caf_relay(smtp) if smtp else None,
    )
    log_event(
        logger,
        "campaign_launched",
        schedule=schedule,
        campaign=campaign.id,
        run_id=newest.id,
        launch_id=report.launch_id,
        contacted=report.contactes,
        holdout=report.temoins,
    )
    # The launch is recorded; its e-mails not taken wait for `uptake campaigns send`.
    _log_unsent(schedule, campaign.id, report.launch_id, report.attempts)
    return {"status": "succeeded", "launch_id": report.launch_id, "run_id": newest.id}


def followups_job(*, schedule: str = "", days: int = 90, smtp: str = "") -> dict[str, Any]:
    """Scheduler job (daily): produce the follow-ups due for every launch of the last `days` days.

    The lists go to `$UPTAKE_HOME/campagnes/<campaign>/`, like `uptake campaigns followup`. With the
    relay `smtp` (`HOTE:PORT`), each launch's e-mails still waiting (refused for now, prepared
    without a server) are handed to it first, then those of the follow-ups; not on a day the
    campaign sends no e-mail (they wait for the next execution). Without it, they wait for
    `uptake campaigns send`, and so do the follow-ups of their households.
    """
    from outreach.launch import followups_awaiting_email, run_followups
    from outreach.windows import is_allowed

    ctx = AppContext.from_env()
    now = dt.datetime.now(dt.UTC)
    actor = f"planification {schedule}".strip()
    env = ctx.outreach_env(actor)
    relay = caf_relay(smtp) if smtp else None
    with Session(ctx.engine) as session:
        launches = session.execute(
            select(Launch.id, Launch.campagne).where(Launch.lance_le >= now - dt.timedelta(days=int(days)))
        ).all()
    produced = 0
    unserved: list[str] = []
    for launch_id, name in launches:
        # One launch that cannot be served (its campaign file broken, its exchange revoked) leaves the
        # others their follow-ups; the execution fails and says which, so that the alert goes out.
        try:
            campaign = ctx.launchable_campaign(name)
            out_dir = ctx.campaign_dir(campaign)
            sending = relay if relay is not None and is_allowed(campaign.fenetres, "email", now) else None
            if sending is not None:
                _send_waiting(env, campaign, launch_id, sending, now, schedule)
            attempts = run_followups(env, campaign, launch_id, out_dir=out_dir, now=now, smtp=sending)
        except (OutreachError, PrivacyError) as exc:
            unserved.append(f"lancement n°{launch_id} ({name}) : {exc}")
            log_event(
                logger,
                "followups_not_produced",
                level=logging.WARNING,
                schedule=schedule,
                launch_id=launch_id,
                cause=type(exc).__name__,
            )
            continue
        produced += sum(a.foyers for a in attempts)
        _log_unsent(schedule, campaign.id, launch_id, attempts)
        awaiting = followups_awaiting_email(ctx.engine, launch_id)
        if awaiting:
            log_event(
                logger,
                "followup_awaits_email",
                level=logging.WARNING,
                schedule=schedule,
                launch_id=launch_id,
                households=awaiting,
            )
        for attempt in attempts:
            log_event(
                logger,
                "followup_produced",
                schedule=schedule,
                launch_id=launch_id,
                attempt=attempt.tentative,
                channel=attempt.canal,
                households=attempt.foyers,
            )
    # Always an end line: a log reader tells « nothing was due » from « still running ».
    log_event(logger, "followups_done", schedule=schedule, launches=len(launches), households=produced)
    if unserved:
        return {
            "status": "followups_not_produced",
            "lancements": len(launches),
            "foyers": produced,
            "detail": " ; ".join(unserved),
        }
    return {"status": "succeeded", "lancements": len(launches), "foyers": produced}


def _log_not_sent(schedule: str, campaign: str, launch_id: int, cause: str) -> None:
    # The causes name servers and counts, never an address.
    log_event(
        logger,
        "emails_not_sent",
        level=logging.WARNING,
        schedule=schedule,
        campaign=campaign,
        launch_id=launch_id,
        cause=cause,
    )


def _log_unsent(schedule: str, campaign: str, launch_id: int, attempts: Sequence[AttemptReport]) -> None:
    unsent = [a for a in attempts if a.echec_envoi]
    if unsent:
        _log_not_sent(schedule, campaign, launch_id, " ; ".join(str(a.echec_envoi) for a in unsent))


def _send_waiting(
    env: OutreachEnv, campaign: Campaign, launch_id: int, relay: SmtpSettings, now: dt.datetime, schedule: str
) -> None:
    """Hand the launch's waiting e-mails to `relay`, logging what it took (never raising: the
    follow-ups are produced all the same)."""
    from outreach.sending import send_pending_emails

    try:
        report = send_pending_emails(env, campaign, launch_id, relay, now=now)
    except (OutreachError, PrivacyError) as exc:
        _log_not_sent(schedule, campaign.id, launch_id, str(exc))
        return
    if report.sent or report.withdrawn or report.uncertain:
        log_event(
            logger,
            "emails_sent",
            schedule=schedule,
            campaign=campaign.id,
            launch_id=launch_id,
            sent=report.sent,
            waiting=report.waiting,
            withdrawn=report.withdrawn,
            uncertain=report.uncertain,
        )
    if report.problem is not None:
        _log_not_sent(schedule, campaign.id, launch_id, report.problem)


def reconciliation_job(*, inbox: str, schedule: str = "") -> dict[str, Any]:
    """Scheduler job: reconcile every earlier launch with the newest extract of `inbox` (by reference
    month, then modification time).

    `inbox` is the detection job's drop folder (its `archive/` sub-folder holds the extracts already
    processed) or one extract file. Safe to repeat: a right opened is never recorded twice.
    """
    from detection.validation import ExtractRejected
    from outreach.reconcile import reconcile_extract

    ctx = AppContext.from_env()
    path = Path(inbox)
    if not path.exists():
        log_event(logger, "inbox_missing", level=logging.ERROR, schedule=schedule, inbox=str(path))
        return {"status": "inbox_missing", "inbox": str(path), "schedule": schedule}
    if path.is_dir():
        candidates = [
            p
            for folder in (path, path / "archive")
            if folder.is_dir()
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in (".parquet", ".csv")
        ]
        if not candidates:
            log_event(logger, "reconciliation_nothing_to_do", schedule=schedule)
            return {"status": "nothing_to_do"}
        # The newest month, then the newest file: an old month dropped again keeps a fresh date.
        path = max(candidates, key=lambda p: (_extract_month(p) or dt.date.min, p.stat().st_mtime))
    try:
        report = reconcile_extract(
            ctx.engine, path, actor=f"planification {schedule}".strip(), now=dt.datetime.now(dt.UTC)
        )
    except ExtractRejected as exc:
        # The detection job sets a refused extract aside; until then it is not reconciled with.
        log_event(logger, "reconciliation_refused", level=logging.ERROR, schedule=schedule, file=path.name)
        return {
            "status": "reconciliation_refused",
            "file": path.name,
            "cause": str(exc),
            "schedule": schedule,
        }
    log_event(
        logger,
        "reconciliation_done",
        schedule=schedule,
        month=report.mois_reference.isoformat(),
        opened_contacted=report.rights_opened.get("contacte", 0),
        opened_holdout=report.rights_opened.get("temoin", 0),
    )
    return {
        "status": "succeeded",
        "mois_reference": report.mois_reference.isoformat(),
        "droits_ouverts_contactes": report.rights_opened.get("contacte", 0),
        "droits_ouverts_temoins": report.rights_opened.get("temoin", 0),
    }


def _provider_files(
    inbox: str,
    schedule: str,
    min_age_s: int,
    importer: Callable[..., StopReplies | Bounces],
    event: str,
    suffixes: tuple[str, ...] = (".csv",),
) -> dict[str, Any]:
    """Import every settled file (of `suffixes`) a provider dropped in `inbox`, one transaction
    each; a file imported is deleted (what it held is recorded, its numbers or addresses have no
    further use), a file refused goes to `inbox/rejete/` with its French report beside it."""
    ctx = AppContext.from_env()
    folder = Path(inbox)
    if not folder.is_dir():
        log_event(logger, "inbox_missing", level=logging.ERROR, schedule=schedule, inbox=str(folder))
        return {"status": "inbox_missing", "inbox": str(folder), "schedule": schedule}
    settled_before = dt.datetime.now(dt.UTC).timestamp() - int(min_age_s)
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() in suffixes
        and path.stat().st_mtime <= settled_before
    )
    if not files:
        log_event(logger, f"{event}_nothing_to_do", schedule=schedule)
        return {"status": "nothing_to_do"}
    totals: Counter[str] = Counter()
    refused, kept = [], []
    for path in files:
        if STOP.is_set():
            break
        try:
            with Session(ctx.engine) as session, session.begin():
                done = importer(session, ctx.keyring, path, actor=f"planification {schedule}".strip())
        except OutreachError as exc:
            moved = _move(path, folder / REJECTED_DIR)
            _write_report(moved, f"{exc}\n")
            refused.append(moved.name)
            continue
        totals.update(done.counts())
        other_lines = getattr(done, "other_lines", ())
        if not other_lines:
            path.unlink()
            continue
        # Replies asking for something else may still be objections worded otherwise: a person
        # reads them, the file is not deleted.
        moved = _move(path, folder / REJECTED_DIR)
        _write_report(moved, _unread_replies(other_lines))
        kept.append(moved.name)
    log_event(
        logger, f"{event}_done", schedule=schedule, files=len(files), refused=refused, kept=kept, **totals
    )
    if refused:  # the files kept for a person are said too: they may hold objections
        return {
            "status": "refused",
            "files": ", ".join(refused),
            **({"kept": ", ".join(kept)} if kept else {}),
            **totals,
        }
    if kept:
        return {"status": "replies_set_aside", "files": ", ".join(kept), **totals}
    return {"status": "succeeded", **totals}


def _unread_replies(lines: Sequence[int]) -> str:
    """The report beside a file of STOP replies some of whose replies asked for something else."""
    return (
        "Les réponses de ce fichier qui demandent l'arrêt sont enregistrées comme oppositions. Réponses "
        "qui ne sont pas une simple demande d'arrêt (« STOP », « stop svp », « Arrêtez, merci »…), qui "
        f"n'ont rien enregistré : {len(lines)}, lignes {', '.join(str(n) for n in lines)} du fichier "
        "(l'en-tête est la ligne 1). Lisez-les ; "
        # The file gives a number, not the matricule or pseudonym « uptake subjects oppose » asks for.
        "pour celles qui demandent tout de même l'arrêt, remplacez leur message par « STOP » et remettez "
        "le fichier dans le dépôt (les oppositions déjà enregistrées ne le sont pas deux fois) ; sinon, "
        "supprimez-le.\n"
    )


def stop_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Scheduler job (daily, before the follow-ups): every file of STOP replies the SMS provider
    dropped in `inbox` becomes objections (`outreach.provider_returns`).

    A file imported is deleted; a file refused goes to `inbox/rejete/` with its report. Hidden files
    and files changed less than `min_age_s` seconds ago wait for a later execution.
    """
    from outreach.provider_returns import import_stop_replies

    return _provider_files(inbox, schedule, min_age_s, import_stop_replies, "stop_replies")


def bounces_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Scheduler job (daily, before the follow-ups): the addresses the relay could not deliver to are
    recorded, and no longer used (`outreach.provider_returns`).

    `inbox` is the Maildir folder where the relay returns the undelivered e-mails (its delivery
    reports are recorded then deleted; any other message goes to `rejete/` for a person to read),
    or a folder where the relay drops CSV lists of addresses or `.eml` reports, taken, deleted or
    set aside as by `stop_job`.
    """
    from outreach.delivery_reports import is_maildir
    from outreach.provider_returns import import_bounces

    folder = Path(inbox)
    if is_maildir(folder):
        return _maildir_bounces(folder, schedule)
    return _provider_files(inbox, schedule, min_age_s, import_bounces, "bounces", (".csv", ".eml"))


def _maildir_bounces(folder: Path, schedule: str) -> dict[str, Any]:
    """Record the delivery reports of a Maildir in one transaction, then delete them; set the other
    messages aside in `rejete/` with a report (the delivery into a Maildir is atomic: no settling)."""
    from outreach.delivery_reports import remove_messages, set_aside
    from outreach.provider_returns import import_bounces

    ctx = AppContext.from_env()
    with Session(ctx.engine) as session, session.begin():
        done = import_bounces(session, ctx.keyring, folder, actor=f"planification {schedule}".strip())
    remove_messages(folder, done.reports)
    for moved in set_aside(folder, done.other_messages, folder / REJECTED_DIR):
        _write_report(
            moved,
            "Ce message n'est pas un avis de non-distribution (RFC 3464) : à lire par une personne, "
            "puis à supprimer.\n",
        )
    log_event(logger, "bounces_done", schedule=schedule, **done.counts())
    if done.other_messages:
        return {
            "status": "refused",
            "files": ", ".join(f"{key}.eml" for key in done.other_messages),
            **done.counts(),
        }
    return {"status": "succeeded", **done.counts()}


# Where a scheduled report's relay is given (else `UPTAKE_SMTP`, in the daemon's environment too).
_RELAY_HINT = "--param smtp=HOTE:PORT"


def report_job(
    *, schedule: str = "", destinataires: str = "", smtp: str = "", seuil: int = 0
) -> dict[str, Any]:
    """Scheduler job (monthly, after the reconciliation): the indicators report, written to
    `$UPTAKE_HOME/rapport/` like `uptake report`, and e-mailed with its CSV tables to `destinataires`
    (addresses separated by commas) through the relay `smtp` (`HOTE:PORT`) or `UPTAKE_SMTP`.

    The report holds only counts under statistical secrecy (`seuil`; 0: the configured threshold,
    `UPTAKE_SEUIL_SECRET`, like the web pages), never household data. A report that cannot be sent
    fails the execution (the alert says so); the files stay written.
    """
    from uptake.reporting import produce_report, report_mailing

    try:
        mailing = report_mailing(destinataires, smtp, relay_hint=_RELAY_HINT)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    ctx = AppContext.from_env()
    actor = f"planification {schedule}".strip()
    files = produce_report(
        ctx,
        ctx.settings.home / "rapport",
        actor=actor,
        threshold=seuil or None,
        mailing=mailing,
    )
    recipients = mailing.recipients if mailing else ()
    log_event(logger, "report_written", schedule=schedule, recipients=len(recipients))
    return {"status": "succeeded", "rapport": str(files.html), "destinataires": len(recipients)}


# How a job's result reads in `uptake schedule list`, on the web page and in the alerts; the results
# that ask the data team to act count as failures (the job itself ran to its end). Each names the
# folder or file concerned and what to do.
_FAILED_RESULTS = {
    "followups_not_produced": (
        "relances produites pour les autres lancements, pas pour : {detail} ; corrigez la cause, la "
        "prochaine exécution les produira"
    ),
    "rejected": "extrait {file} refusé : son rapport est à côté de lui dans rejete/",
    "rejected_not_moved": (
        "extrait {file} refusé, mais il n'a pas pu être mis de côté dans rejete/ ({cause}) : il est "
        "resté dans le dépôt {inbox} ; donnez au compte du démon le droit d'y écrire"
    ),
    "inbox_missing": (
        "dossier de dépôt {inbox} introuvable, ou ce n'est pas un dossier : recréez le dossier ou corrigez "
        "la planification"
    ),
    "reconciliation_refused": (
        "rapprochement impossible : l'extrait le plus récent, {file}, est refusé ({cause}) ; rien n'a été "
        "rapproché : déposez un extrait valide ou retirez celui-ci, puis « uptake schedule run {schedule} »"
    ),
    "stopped_while_arriving": (
        "démon arrêté pendant l'attente de l'extrait en cours de dépôt {files} dans {inbox} ; rien n'a été "
        "traité : une fois le démon relancé, « uptake schedule run {schedule} » le traite sans attendre la "
        "date suivante"
    ),
    "inbox_not_writable": (
        "dossier {folder} non modifiable par le compte du démon : l'extrait n'aurait pas pu y être "
        "archivé, rien n'a donc été traité ; donnez-lui le droit d'y écrire (propriétaire, droits, "
        "chattr -i), puis « uptake schedule run {schedule} »"
    ),
    "archive_failed": (
        "détection publiée (exécution n° {run_id}), mais l'extrait {file} n'a pas pu être archivé "
        "({cause}) : il est resté dans le dépôt {inbox}, reconnu comme déjà traité ; donnez au compte "
        "du démon le droit d'écrire dans ce dossier et dans archive/ : il y sera rangé à la prochaine "
        "exécution"
    ),
    "still_arriving": (
        "extrait en cours de dépôt : {files} (modifié il y a moins de {min_age_s} s, encore après "
        "{wait_min} min d'attente) dans {inbox} ; rien n'a été traité : vérifiez que le transfert est "
        "terminé, puis « uptake schedule run {schedule} »"
    ),
    "older_month": (
        "extrait(s) d'un mois passé {stale}, plus ancien(s) que le dernier mois traité ({newest}) : "
        "mis de côté dans remplace/ sans être traité(s), pour qu'une exécution d'un mois passé ne "
        "passe pas pour la plus récente ; pour en traiter un quand même : « uptake run --extract "
        "{inbox}/remplace/FICHIER »"
    ),
    "rejected_still_arriving": (
        "extrait {file} refusé, mais modifié pendant sa validation : sa copie était sans doute encore en "
        "cours ; il n'a pas été mis dans rejete/, il reste dans le dépôt {inbox} et la prochaine "
        "exécution le reprendra une fois la copie terminée (le refus enregistré porte sur la copie "
        "incomplète) ; pour ne pas attendre : « uptake schedule run {schedule} »"
    ),
    "refused": "fichier(s) {files} refusé(s) : leur rapport est à côté d'eux dans rejete/",
    "replies_set_aside": (
        "réponses STOP enregistrées ({foyers} foyer(s) opposé(s)) ; {autres_messages} réponse(s) qui ne "
        "sont pas une simple demande d'arrêt, dans {files}, mis de côté dans rejete/ avec la liste de leurs "
        "lignes : lisez-les ; pour celles qui demandent une opposition, remplacez leur message par « STOP » "
        "et remettez le fichier dans le dépôt"
    ),
}
_DONE_RESULTS = {
    "nothing_to_do": "rien de nouveau à traiter",
}
_ALREADY_NOTE = (
    "rien de nouveau à traiter : {already} déjà traité(s) (même contenu qu'un extrait déjà exécuté), "
    "rangé(s) dans archive/ sans nouvelle exécution"
)
_KEPT_NOTE = (
    "fichier(s) {kept} mis de côté dans rejete/ : des réponses n'y sont pas une simple demande d'arrêt, "
    "lisez-les (leurs lignes sont dans le rapport à côté)"
)
_IGNORED_NOTE = (
    "fichier(s) {ignored} laissé(s) dans le dépôt {inbox} sans être traité(s) : ni .parquet ni .csv ; "
    "renommez-les si ce sont des extraits, sinon retirez-les"
)
_FOLDERS_NOTE = (
    "dossier(s) {folders} laissé(s) dans le dépôt {inbox} sans être traité(s) : c'est un dossier : "
    "déposez un seul fichier (Parquet ou CSV), pas le dossier de fichiers qu'écrit un export en "
    "plusieurs parties"
)
_LINKS_NOTE = (
    "lien(s) symbolique(s) {links} laissé(s) dans le dépôt {inbox} sans être traité(s) : le fichier "
    "désigné resterait hors du dépôt, donc hors de la purge de son archive ; déposez le fichier "
    "lui-même (copié ou déplacé) et retirez le lien"
)
_SUPERSEDED_NOTE = (
    "extrait(s) plus ancien(s) {superseded} mis de côté dans {inbox}/remplace/ sans être traité(s) : "
    "l'extrait {file}, plus récent, a été traité ; pour en traiter un quand même : « uptake run "
    "--extract {inbox}/remplace/FICHIER »"
)
_STALE_NOTE = (
    "extrait(s) d'un mois passé {stale} (dernier mois traité : {newest}) mis de côté dans remplace/ sans "
    "être traité(s)"
)


class _Said(dict[str, Any]):
    """A result's values for its sentence; one missing (an older daemon's result) reads as « ? »."""

    def __missing__(self, key: str) -> str:
        return "?"


def result_outcome(result: object) -> tuple[bool, str | None]:
    """Whether a job's returned result is a success, and what to say of it (in French)."""
    if not isinstance(result, Mapping):
        return True, None
    status = str(result.get("status"))
    said = _Said(result, wait_min=ARRIVAL_WAIT_S // 60)
    if isinstance(result.get("superseded"), list):
        said["superseded"] = ", ".join(str(name) for name in result["superseded"])
    # Said whatever else the execution did: an entry dropped that the job never takes (a file not
    # named as an extract, a folder, a link: the data team acts on it), files of STOP replies kept
    # for a person beside refused ones.
    notes = [
        note.format_map(said)
        for key, note in (
            ("ignored", _IGNORED_NOTE),
            ("folders", _FOLDERS_NOTE),
            ("links", _LINKS_NOTE),
            ("kept", _KEPT_NOTE),
        )
        if result.get(key)
    ]
    if status in _FAILED_RESULTS:
        return False, " ; ".join([_FAILED_RESULTS[status].format_map(said), *notes])
    if status == "succeeded" and (result.get("stale") or result.get("superseded")):
        set_aside = [
            note.format_map(said)
            for key, note in (("superseded", _SUPERSEDED_NOTE), ("stale", _STALE_NOTE))
            if result.get(key)
        ]
        done: str | None = " ; ".join(set_aside)
    elif status == "nothing_to_do" and result.get("already"):
        done = _ALREADY_NOTE.format_map(said)
    else:
        done = _DONE_RESULTS.get(status)
    if notes:
        return False, " ; ".join([done or "extrait traité", *notes])
    return True, done


def drop_folders(schedules: Iterable[ScheduleInfo]) -> list[Path]:
    """The sub-folders keeping extracts (`KEPT_DIRS`) of every drop folder these schedules name."""
    folders = set()
    for info in schedules:
        inbox = Path(str(info.params.get("inbox", "")))
        if info.params.get("inbox") and inbox.is_dir():
            folders |= {inbox / sub for sub in KEPT_DIRS}
    return sorted(folders)


def active_purge(schedules: Iterable[ScheduleInfo]) -> ScheduleInfo | None:
    """The purge schedule that runs (not paused), None when no purge is scheduled."""
    return next((info for info in schedules if info.job == "purge" and info.next_run is not None), None)


def scheduled_flags_months(schedules: Iterable[ScheduleInfo]) -> int:
    """The retention of detection data the active purge schedule applies (its `flags_months`)."""
    purge = active_purge(schedules)
    return (
        FLAGS_RETENTION_MONTHS
        if purge is None
        else int(purge.params.get("flags_months", FLAGS_RETENTION_MONTHS))
    )


@dataclass(frozen=True)
class PurgeSummary:
    """What one purge did, domain by domain."""

    flags: FlagsPurge
    extracts: ExtractsPurge
    outputs: retention.PurgeReport
    history: OutreachPurge


def purge_everything(
    ctx: AppContext,
    session: Session,
    *,
    actor: str,
    flags_months: int = FLAGS_RETENTION_MONTHS,
    audit_months: int = retention.AUDIT_LOG_MONTHS,
    extra_drop_folders: Sequence[Path] = (),
) -> PurgeSummary:
    """Everything past its retention, in the caller's transaction: the flags of old detection runs,
    the extracts archived or set aside in the drop folders (the schedules' and `extra_drop_folders`),
    the outreach history (notes, call lines, old launches), then the personal outputs, their keys,
    the old traces and the audit log's old entries."""
    from outreach.retention import purge_history
    from uptake.scheduler import list_schedules  # imported here: the scheduler imports this module

    folders = drop_folders(list_schedules(ctx.engine))
    folders += [folder / sub for folder in extra_drop_folders for sub in KEPT_DIRS]
    flags = purge_flags(session, ctx.settings.home, actor=actor, months=flags_months)
    extracts = purge_archived_extracts(session, sorted(set(folders)), actor=actor, months=flags_months)
    history = purge_history(session, actor=actor)
    outputs = retention.purge(session, ctx.keyring, actor=actor, audit_months=audit_months)
    return PurgeSummary(flags, extracts, outputs, history)


def purge_job(*, schedule: str = "", flags_months: int = FLAGS_RETENTION_MONTHS) -> dict[str, Any]:
    """Scheduler job: delete the outputs past their retention end and destroy their keys; the flags
    of the detection runs finished, and the extracts dropped, more than `flags_months` months ago;
    the outreach history past its retention (`outreach.retention`) (audited)."""
    ctx = AppContext.from_env()
    with transaction(ctx.engine) as session:
        done = purge_everything(
            ctx, session, actor=f"planificateur:{schedule}", flags_months=int(flags_months)
        )
    counts = {k: v for k, v in asdict(done.outputs).items() if isinstance(v, int)}
    counts |= {
        "flag_runs": done.flags.runs,
        "flags": done.flags.flags,
        "flag_files": done.flags.files_deleted,
        "extracts": done.extracts.files_deleted,
        "notes": done.history.notes,
        "call_lines": done.history.call_lines,
        "history_rows": done.history.rows,
    }
    if done.extracts.not_deleted:
        log_event(
            logger,
            "extracts_not_deleted",
            level=logging.ERROR,
            schedule=schedule,
            files=[str(p) for p in done.extracts.not_deleted],
        )
    log_event(logger, "purge_done", schedule=schedule, **counts)
    return {"status": "succeeded", **counts}


def dormant_accounts_job(*, schedule: str = "", days: int = DORMANT_AFTER.days) -> dict[str, Any]:
    """Scheduler job (daily): disable the web accounts unused for more than `days` days (audited);
    the last active administrator is kept and pointed out in the log."""
    from uptake.users import disable_dormant

    ctx = AppContext.from_env()
    with transaction(ctx.engine) as session:
        sweep = disable_dormant(
            session, actor=f"planificateur:{schedule}", after=dt.timedelta(days=int(days))
        )
    # Logins are account names, not personal data of the households: the administrator needs them.
    log_event(logger, "dormant_accounts_disabled", schedule=schedule, accounts=list(sweep.disabled))
    if sweep.admin_kept is not None:
        log_event(
            logger,
            "dormant_admin_kept",
            level=logging.WARNING,
            schedule=schedule,
            account=sweep.admin_kept,
            days=int(days),
        )
    return {"status": "succeeded", "comptes_desactives": len(sweep.disabled)}


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its function, its French description and the parameters it requires."""

    function: Callable[..., dict[str, Any]]
    description: str
    required: tuple[str, ...] = ()
    minimums: Mapping[str, int] = field(default_factory=dict)  # integer parameters' smallest value
    maximums: Mapping[str, int] = field(default_factory=dict)  # and largest value

    @property
    def reference(self) -> str:
        """The import path APScheduler stores (`module:function`)."""
        return f"{self.function.__module__}:{self.function.__qualname__}"

    def checked(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A new schedule's parameters as the job takes them: none unknown, the required ones
        given, integers read, an inbox folder that exists; otherwise a `ScheduleError` saying so."""
        accepted = {
            name: parameter.annotation
            for name, parameter in inspect.signature(self.function, eval_str=True).parameters.items()
            if name != "schedule"  # given by the scheduler itself
        }
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ScheduleError(
                f"paramètre inconnu pour cette tâche : {', '.join(unknown)} "
                f"(paramètres possibles : {', '.join(sorted(accepted)) or 'aucun'})"
            )
        missing = [name for name in self.required if not params.get(name)]
        if missing:
            options = ", ".join("--inbox" if name == "inbox" else f"--param {name}=…" for name in missing)
            raise ScheduleError(f"paramètre manquant pour cette tâche : {options}")
        typed = dict(params)
        for name, value in params.items():
            if accepted[name] is int:
                text = str(value).strip()
                if not (text.isascii() and text.isdigit()):
                    raise ScheduleError(
                        f"paramètre {name} : nombre entier positif ou nul attendu, « {value} » reçu"
                    )
                typed[name] = int(text)
                if typed[name] < self.minimums.get(name, 0):
                    raise ScheduleError(
                        f"paramètre {name} : au moins {self.minimums[name]} attendu, « {value} » reçu"
                    )
                if name in self.maximums and typed[name] > self.maximums[name]:
                    raise ScheduleError(
                        f"paramètre {name} : de {self.minimums.get(name, 0)} à {self.maximums[name]} "
                        f"attendu, « {value} » reçu"
                    )
        if "campagne" in typed:  # a misspelt campaign or relay is told now, not at the first execution
            from outreach.campaigns import find_campaign

            find_campaign(load_settings().config_dir, str(typed["campagne"]))
        if typed.get("smtp"):
            caf_relay(str(typed["smtp"]))
        if typed.get("destinataires"):
            # As the execution will ask: the addresses, and a relay to send through (told now rather
            # than on the 1st of the month).
            from uptake.reporting import report_mailing

            try:
                report_mailing(
                    str(typed["destinataires"]), str(typed.get("smtp", "")), relay_hint=_RELAY_HINT
                )
            except ValueError as exc:
                raise ScheduleError(str(exc)) from None
        if typed.get("seuil"):
            # Told now rather than at each execution: a report may be stricter than the Caf's
            # configured threshold, never looser.
            from privacy.disclosure import publication_threshold

            try:
                publication_threshold(int(typed["seuil"]))
            except PrivacyError as exc:
                raise ScheduleError(f"paramètre seuil : {exc}") from None
        if "inbox" in typed:
            # The daemon runs from another folder (/ under systemd): a relative path would name
            # another folder there.
            inbox = Path(str(typed["inbox"])).expanduser().resolve()
            typed["inbox"] = str(inbox)
            if not inbox.is_dir():
                problem = "est un fichier, pas un dossier" if inbox.exists() else "n'existe pas"
                raise ScheduleError(f"le dossier de dépôt {inbox} {problem} : créez-le, ou corrigez --inbox")
        return typed


JOBS: dict[str, JobSpec] = {
    "detection": JobSpec(
        detection_job,
        "détection sur le plus récent extrait non traité d'un dossier de dépôt",
        required=("inbox",),
    ),
    "lancement": JobSpec(
        launch_job,
        "lancement d'une campagne sur la plus récente exécution de détection (après la détection)",
        required=("campagne",),
    ),
    "relances": JobSpec(followups_job, "relances de campagne arrivées à échéance (quotidien)"),
    "rapprochement": JobSpec(
        reconciliation_job,
        "rapprochement des campagnes avec le plus récent extrait du dossier de dépôt",
        required=("inbox",),
    ),
    "rapport": JobSpec(
        report_job,
        "rapport des indicateurs (HTML et CSV, secret statistique), envoyé par courriel aux destinataires "
        "s'il y en a (mensuel, après le rapprochement)",
        minimums={"seuil": 1},
        maximums={"seuil": 1000},  # beyond, every count of the report would be hidden
    ),
    "courriels_en_echec": JobSpec(
        bounces_job,
        "courriels non distribués : avis de non-distribution du relais (dossier Maildir) ou listes "
        "d'adresses en échec déposées (CSV) ; ces adresses ne sont plus utilisées (quotidien, avant les "
        "relances)",
        required=("inbox",),
    ),
    "stop": JobSpec(
        stop_job,
        "réponses STOP aux SMS déposées par le prestataire : oppositions enregistrées (quotidien, avant "
        "les relances)",
        required=("inbox",),
    ),
    "comptes_inactifs": JobSpec(
        dormant_accounts_job,
        "désactivation des comptes de l'application restés sans connexion plus de « days » jours (90 "
        "par défaut), jamais le dernier administrateur actif (quotidien)",
        minimums={"days": 30},
        maximums={"days": 3650},
    ),
    "purge": JobSpec(
        purge_job,
        "purge des listes échues et de leurs clés, et des drapeaux des exécutions anciennes (quotidien)",
        minimums={"flags_months": FLAGS_MONTHS_BOUNDS[0]},
        maximums={"flags_months": FLAGS_MONTHS_BOUNDS[1]},
    ),
}


def jobs_described() -> str:
    """Each registered job, what it does and the parameters it takes (for `uptake schedule add`)."""
    lines = []
    for name, spec in sorted(JOBS.items()):
        taken = [p for p in inspect.signature(spec.function).parameters if p != "schedule"]
        marked = [f"{p} (obligatoire)" if p in spec.required else p for p in taken]
        lines.append(f"{name} : {spec.description} ; paramètres : {', '.join(marked) or 'aucun'}.")
    return "\n\n".join(lines)
