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
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.errors import DetectionError
from detection.records import SUCCEEDED, DetectionRun
from detection.retention import (
    FLAGS_RETENTION_MONTHS,
    ExtractsPurge,
    FlagsPurge,
    purge_archived_extracts,
    purge_flags,
)
from detection.runs import DetectionRunner, RunRequest
from detection.validation import ExtractRejected
from outreach.campaigns import find_campaign
from outreach.channels import smtp_relay
from outreach.delivery_reports import is_maildir, remove_messages, set_aside
from outreach.errors import OutreachError
from outreach.launch import launch_campaign, run_followups
from outreach.models import Launch
from outreach.provider_returns import Bounces, StopReplies, import_bounces, import_stop_replies
from outreach.reconcile import reconcile_extract
from outreach.retention import OutreachPurge, purge_history
from privacy import retention
from privacy.files import file_sha256
from uptake.alerts import email_addresses
from uptake.context import AppContext
from uptake.db import transaction
from uptake.logs import log_event
from uptake.reporting import produce_report, report_mailing
from uptake.settings import load_settings

if TYPE_CHECKING:
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


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        target = folder / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    shutil.move(path, target)
    return target


def _next_extract(inbox: Path, processed: set[str], min_age_s: int) -> tuple[Path, list[Path]] | None:
    """The newest extract of the inbox not processed yet, and the older ones not processed either;
    processed ones are archived on the way.

    Hidden files (a transfer's temporary copy) are not extracts; files changed in the last
    `min_age_s` seconds wait for a later execution.
    """
    settled_before = dt.datetime.now(dt.UTC).timestamp() - min_age_s
    candidates = [
        (path, path.stat().st_mtime)
        for path in inbox.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in EXTRACT_SUFFIXES
    ]
    arriving = sorted(path.name for path, changed in candidates if changed > settled_before)
    if arriving:
        log_event(
            logger, "extracts_still_arriving", level=logging.WARNING, files=arriving, min_age_s=min_age_s
        )
    files = [
        path
        for path, changed in sorted(candidates, key=lambda c: c[1], reverse=True)
        if changed <= settled_before
    ]
    for index, path in enumerate(files):
        if file_sha256(path) not in processed:
            return path, files[index + 1 :]
        archived = _move(path, inbox / ARCHIVE_DIR)
        log_event(logger, "extract_already_processed", file=path.name, archived_as=archived.name)
    return None


def detection_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Run detection on the newest new extract of `inbox`, then archive it (or set it aside, rejected).

    After success the file goes to `inbox/archive/`, and the older extracts not processed to
    `inbox/remplace/` (superseded: not run); after rejection to `inbox/rejete/` with its French
    report next to it (`<file>.rapport.txt`), the older ones staying for the next execution. A file
    changed less than `min_age_s` seconds ago is left for a later execution, as are hidden files.
    """
    ctx = AppContext.from_env()
    folder = Path(inbox)
    if not folder.is_dir():
        log_event(logger, "inbox_missing", level=logging.ERROR, schedule=schedule, inbox=str(folder))
        return {"status": "inbox_missing"}
    with Session(ctx.engine) as session:
        processed = {
            h
            for h in session.scalars(
                select(DetectionRun.extract_sha256).where(DetectionRun.status == SUCCEEDED).distinct()
            )
            if h is not None
        }
    found = _next_extract(folder, processed, int(min_age_s))
    if found is None:
        log_event(logger, "no_new_extract", schedule=schedule)
        return {"status": "nothing_to_do"}
    extract, older = found
    runner = DetectionRunner(ctx.engine, ctx.geography, ctx.settings.home / "runs", stop=STOP)
    try:
        trigger = f"planification {schedule}".strip()
        outcome = runner.run(RunRequest(extract=extract, trigger=trigger, actor="planificateur"))
    except ExtractRejected as rejected:
        moved = _move(extract, folder / REJECTED_DIR)
        moved.with_name(moved.name + REPORT_SUFFIX).write_text(rejected.report(), encoding="utf-8")
        log_event(logger, "extract_rejected", schedule=schedule, file=moved.name)
        if older:  # the newest being refused, the next execution takes the next newest
            log_event(
                logger,
                "older_extracts_waiting",
                level=logging.WARNING,
                schedule=schedule,
                waiting=[p.name for p in older],
            )
        return {"status": "rejected", "file": moved.name}
    archived = _move(extract, folder / ARCHIVE_DIR)
    superseded = [_move(path, folder / SUPERSEDED_DIR).name for path in older]
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
    result = {"status": "succeeded", "run_id": outcome.run.id, "reused": outcome.reused}
    return result | ({"superseded": superseded} if superseded else {})


def launch_job(*, campagne: str, schedule: str = "", smtp: str = "") -> dict[str, Any]:
    """Scheduler job (after the monthly detection): launch `campagne` on the newest succeeded
    detection run, if it was not launched on it yet: selection, holdout group, first-contact lists.

    The lists go to `$UPTAKE_HOME/campagnes/<campaign>/`, like `uptake campaigns launch`; e-mails
    go through the relay `smtp` (`HOTE:PORT`) when given. Without an exchange approved by the DPO
    for the fields the campaign needs, the launch is refused (the execution fails, and says so).
    """
    ctx = AppContext.from_env()
    campaign = find_campaign(ctx.settings.config_dir, campagne)
    with Session(ctx.engine) as session:
        newest = session.scalars(
            select(DetectionRun)
            .where(DetectionRun.status == SUCCEEDED, DetectionRun.flags_purged_at.is_(None))
            .order_by(DetectionRun.id.desc())
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
        smtp=smtp_relay(smtp) if smtp else None,
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
    return {"status": "succeeded", "launch_id": report.launch_id, "run_id": newest.id}


def followups_job(*, schedule: str = "", days: int = 90) -> dict[str, Any]:
    """Scheduler job (daily): produce the follow-ups due for every launch of the last `days` days.

    The lists go to `$UPTAKE_HOME/campagnes/<campaign>/`, like `uptake campaigns followup`.
    """
    ctx = AppContext.from_env()
    now = dt.datetime.now(dt.UTC)
    actor = f"planification {schedule}".strip()
    env = ctx.outreach_env(actor)
    with Session(ctx.engine) as session:
        launches = session.execute(
            select(Launch.id, Launch.campagne).where(Launch.lance_le >= now - dt.timedelta(days=int(days)))
        ).all()
    produced = 0
    for launch_id, name in launches:
        campaign = find_campaign(ctx.settings.config_dir, name)
        out_dir = ctx.campaign_dir(campaign)
        attempts = run_followups(env, campaign, launch_id, out_dir=out_dir, now=now)
        produced += sum(a.foyers for a in attempts)
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
    return {"status": "succeeded", "lancements": len(launches), "foyers": produced}


def reconciliation_job(*, inbox: str, schedule: str = "") -> dict[str, Any]:
    """Scheduler job: reconcile every earlier launch with the newest extract of `inbox`.

    `inbox` is the detection job's drop folder (its `archive/` sub-folder holds the extracts already
    processed) or one extract file. Safe to repeat: a right opened is never recorded twice.
    """
    ctx = AppContext.from_env()
    path = Path(inbox)
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
        path = max(candidates, key=lambda p: p.stat().st_mtime)
    report = reconcile_extract(
        ctx.engine, path, actor=f"planification {schedule}".strip(), now=dt.datetime.now(dt.UTC)
    )
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
        return {"status": "inbox_missing"}
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
    refused = []
    for path in files:
        if STOP.is_set():
            break
        try:
            with Session(ctx.engine) as session, session.begin():
                done = importer(session, ctx.keyring, path, actor=f"planification {schedule}".strip())
        except OutreachError as exc:
            moved = _move(path, folder / REJECTED_DIR)
            moved.with_name(moved.name + REPORT_SUFFIX).write_text(f"{exc}\n", encoding="utf-8")
            refused.append(moved.name)
            continue
        path.unlink()
        totals.update(done.counts())
    log_event(logger, f"{event}_done", schedule=schedule, files=len(files), refused=refused, **totals)
    if refused:
        return {"status": "refused", "files": ", ".join(refused), **totals}
    return {"status": "succeeded", **totals}


def stop_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Scheduler job (daily, before the follow-ups): every file of STOP replies the SMS provider
    dropped in `inbox` becomes objections (`outreach.provider_returns`).

    A file imported is deleted; a file refused goes to `inbox/rejete/` with its report. Hidden files
    and files changed less than `min_age_s` seconds ago wait for a later execution.
    """
    return _provider_files(inbox, schedule, min_age_s, import_stop_replies, "stop_replies")


def bounces_job(*, inbox: str, schedule: str = "", min_age_s: int = DEFAULT_MIN_AGE_S) -> dict[str, Any]:
    """Scheduler job (daily, before the follow-ups): the addresses the relay could not deliver to are
    recorded, and no longer used (`outreach.provider_returns`).

    `inbox` is the Maildir folder where the relay returns the undelivered e-mails (its delivery
    reports are recorded then deleted; any other message goes to `rejete/` for a person to read),
    or a folder where the relay drops CSV lists of addresses or `.eml` reports, taken, deleted or
    set aside as by `stop_job`.
    """
    folder = Path(inbox)
    if is_maildir(folder):
        return _maildir_bounces(folder, schedule)
    return _provider_files(inbox, schedule, min_age_s, import_bounces, "bounces", (".csv", ".eml"))


def _maildir_bounces(folder: Path, schedule: str) -> dict[str, Any]:
    """Record the delivery reports of a Maildir in one transaction, then delete them; set the other
    messages aside in `rejete/` with a report (the delivery into a Maildir is atomic: no settling)."""
    ctx = AppContext.from_env()
    with Session(ctx.engine) as session, session.begin():
        done = import_bounces(session, ctx.keyring, folder, actor=f"planification {schedule}".strip())
    remove_messages(folder, done.reports)
    for moved in set_aside(folder, done.other_messages, folder / REJECTED_DIR):
        moved.with_name(moved.name + REPORT_SUFFIX).write_text(
            "Ce message n'est pas un avis de non-distribution (RFC 3464) : à lire par une personne, "
            "puis à supprimer.\n",
            encoding="utf-8",
        )
    log_event(logger, "bounces_done", schedule=schedule, **done.counts())
    if done.other_messages:
        return {
            "status": "refused",
            "files": ", ".join(f"{key}.eml" for key in done.other_messages),
            **done.counts(),
        }
    return {"status": "succeeded", **done.counts()}


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
    try:
        mailing = report_mailing(destinataires, smtp, relay_hint="--param smtp=HOTE:PORT")
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


# How a job's result reads in `uptake schedule list` and on the web page; the results that ask the
# data team to act count as failures (the job itself ran to its end).
_FAILED_RESULTS = {
    "rejected": "extrait {file} refusé : son rapport est à côté de lui dans rejete/",
    "inbox_missing": "dossier de dépôt introuvable : recréez-le ou corrigez la planification",
    "refused": "fichier(s) {files} refusé(s) : leur rapport est à côté d'eux dans rejete/",
}
_DONE_RESULTS = {
    "nothing_to_do": "rien de nouveau à traiter",
}


def result_outcome(result: object) -> tuple[bool, str | None]:
    """Whether a job's returned result is a success, and what to say of it (in French)."""
    if not isinstance(result, Mapping):
        return True, None
    status = str(result.get("status"))
    if status in _FAILED_RESULTS:
        return False, _FAILED_RESULTS[status].format_map(result)
    return True, _DONE_RESULTS.get(status)


def drop_folders(schedules: Iterable[ScheduleInfo]) -> list[Path]:
    """The sub-folders keeping extracts (`KEPT_DIRS`) of every drop folder these schedules name."""
    folders = set()
    for info in schedules:
        inbox = Path(str(info.params.get("inbox", "")))
        if info.params.get("inbox") and inbox.is_dir():
            folders |= {inbox / sub for sub in KEPT_DIRS}
    return sorted(folders)


def scheduled_flags_months(schedules: Iterable[ScheduleInfo]) -> int:
    """The retention of detection data the active purge schedule applies (its `flags_months`)."""
    for info in schedules:
        if info.job == "purge" and info.next_run is not None:
            return int(info.params.get("flags_months", FLAGS_RETENTION_MONTHS))
    return FLAGS_RETENTION_MONTHS


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
    from uptake.scheduler import list_schedules  # imported here: the scheduler imports this module

    folders = drop_folders(list_schedules(ctx.engine))
    folders += [folder / sub for folder in extra_drop_folders for sub in KEPT_DIRS]
    flags = purge_flags(session, actor=actor, months=flags_months)
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


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its function, its French description and the parameters it requires."""

    function: Callable[..., dict[str, Any]]
    description: str
    required: tuple[str, ...] = ()
    minimums: Mapping[str, int] = field(default_factory=dict)  # integer parameters' smallest value

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
        if "campagne" in typed:  # a misspelt campaign or relay is told now, not at the first execution
            find_campaign(load_settings().config_dir, str(typed["campagne"]))
        if typed.get("smtp"):
            smtp_relay(str(typed["smtp"]))
        if typed.get("destinataires"):
            try:
                email_addresses(str(typed["destinataires"]))
            except ValueError as exc:
                raise ScheduleError(f"paramètre destinataires : {exc}") from None
        if "inbox" in typed and not Path(typed["inbox"]).is_dir():
            inbox = Path(typed["inbox"])
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
    "purge": JobSpec(
        purge_job,
        "purge des listes échues et de leurs clés, et des drapeaux des exécutions anciennes (quotidien)",
        minimums={"flags_months": 1},
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
