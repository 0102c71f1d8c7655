"""Schedules, the detection job and the scheduler daemon (real subprocesses, real database)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from detection.errors import ConfigInvalid
from detection.records import FAILED, SUCCEEDED, DetectionFlag, DetectionRun
from detection.reference import load_reference
from detection.runs import STEP_DELAY_ENV
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from outreach.channels import SmtpSettings
from outreach.errors import CampaignNotFound, CampaignNotLaunchable, NobodyReachable
from outreach.models import Launch
from privacy.errors import ExchangeRefused
from privacy.models import AuditEntry
from tests.catalogues import catalogue_copy, edit_rule
from tests.conftest import CONFIG_DIR, QUIET_CRON, SmtpInbox
from uptake import french
from uptake import jobs as jobs_module
from uptake import scheduler as scheduler_module
from uptake.context import AppContext
from uptake.db import make_engine, transaction
from uptake.jobs import (
    ARCHIVE_DIR,
    DEFAULT_MIN_AGE_S,
    JOBS,
    REJECTED_DIR,
    REPORT_SUFFIX,
    STOP,
    SUPERSEDED_DIR,
    ScheduleError,
    detection_job,
    launch_job,
    reconciliation_job,
    result_outcome,
)
from uptake.logs import FIELDS_KEY
from uptake.scheduler import (
    POLL_ENV,
    ClaimingExecutor,
    DaemonScheduler,
    add_schedule,
    announce_daemon,
    claim_execution,
    cron_trigger,
    daemon_heartbeat,
    daemon_scheduler,
    daemon_sentence,
    daemons,
    list_schedules,
    missed_sentences,
    run_schedule_now,
)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 synthetic households of the configured territory (their contacts in `contacts.csv`, a
    folder above: never taken for an extract)."""
    folder = tmp_path_factory.mktemp("extrait")
    path = folder / "foyers.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    write_synthetic(
        SynthesisSpec(households=1_000, seed=3),
        commune_table(load_reference(), territory.communes),
        path,
        contacts=_contacts_of(path),
    )
    return path


def _contacts_of(extract: Path) -> Path:
    """Where the `extract` fixture wrote its households' contacts."""
    return extract.parent.parent / f"{extract.parent.name}-contacts.csv"


def _import_contacts(contacts: Path) -> None:
    """Contacts in the vault, as `uptake contacts import` stores them."""
    from privacy import vault

    ctx = AppContext.from_env()
    with transaction(ctx.engine) as session:
        vault.import_contacts(session, ctx.keyring, contacts, territory=ctx.key_territory, actor="test")


@pytest.fixture
def home_engine(uptake_home: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    yield engine
    engine.dispose()


def _runs(engine: Engine) -> list[DetectionRun]:
    with Session(engine) as session:
        return list(session.scalars(select(DetectionRun).order_by(DetectionRun.id)))


def _wait_for(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def _drop(extract: Path, target: Path) -> None:
    """Put an extract in an inbox as delivered a while ago (a file changed within the last minute
    is taken for one still arriving)."""
    shutil.copy(extract, target)
    delivered = time.time() - 2 * DEFAULT_MIN_AGE_S
    os.utime(target, (delivered, delivered))


def _add_monthly(cli, inbox: Path) -> None:
    added = cli(
        "schedule", "add", "mensuel", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox)
    )
    assert added.code == 0, added.output


class Daemon:
    """One `uptake scheduler` process; its JSON log lines are read back after it stops."""

    def __init__(self, home: Path, log: Path, extra_env: dict[str, str] | None = None) -> None:
        self.log = log
        env = {**os.environ, "UPTAKE_HOME": str(home), POLL_ENV: "0.5", **(extra_env or {})}
        self.handle = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uptake", "scheduler"], env=env, stdout=self.handle, stderr=self.handle
        )
        _wait_for(lambda: "scheduler_started" in self.log.read_text())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=120)
        self.handle.close()
        return code

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]


def test_an_execution_is_claimed_once(engine: Engine) -> None:
    at = dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.UTC)
    assert claim_execution(engine, "mensuel", at, "a:1")
    assert not claim_execution(engine, "mensuel", at, "b:2")
    assert claim_execution(engine, "mensuel", at + dt.timedelta(days=31), "b:2")
    assert claim_execution(engine, "autre", at, "b:2")


def test_detection_job_archives_a_processed_extract_and_sets_aside_a_rejected_one(
    extract: Path, uptake_home: Path, home_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "nothing_to_do"

    _drop(extract, inbox / "foyers-2025-06.parquet")
    bad = inbox / "foyers-casse.csv"
    pl.read_parquet(extract).with_columns(age_allocataire=pl.lit(-4)).write_csv(bad)
    settled = time.time() - DEFAULT_MIN_AGE_S - 10
    os.utime(bad, (settled, settled))  # the newest settled file is taken first

    with caplog.at_level(logging.WARNING, logger="uptake.jobs"):
        rejected = detection_job(inbox=str(inbox), schedule="mensuel")
    assert rejected["status"] == "rejected"
    [waiting] = [r for r in caplog.records if r.getMessage() == "older_extracts_waiting"]
    assert getattr(waiting, FIELDS_KEY)["waiting"] == ["foyers-2025-06.parquet"]  # said, then taken next
    report = inbox / REJECTED_DIR / ("foyers-casse.csv" + REPORT_SUFFIX)
    assert (inbox / REJECTED_DIR / "foyers-casse.csv").exists()
    assert "Extrait refusé" in report.read_text(encoding="utf-8")

    done = detection_job(inbox=str(inbox), schedule="mensuel")
    assert done["status"] == "succeeded"
    assert (inbox / ARCHIVE_DIR / "foyers-2025-06.parquet").exists()
    assert not list(inbox.glob("*.parquet"))
    runs = _runs(home_engine)
    assert [r.status for r in runs] == ["rejected", SUCCEEDED]
    assert runs[1].trigger == "planification mensuel"

    # The same file dropped again is recognised by its content and archived without a new run.
    _drop(extract, inbox / "foyers-copie.parquet")
    again = detection_job(inbox=str(inbox), schedule="mensuel")
    assert again["status"] == "nothing_to_do"
    assert result_outcome(again) == (
        True,
        "rien de nouveau à traiter : foyers-copie.parquet déjà traité(s) (même contenu qu'un extrait déjà "
        "exécuté), rangé(s) dans archive/ sans nouvelle exécution",
    )
    assert (inbox / ARCHIVE_DIR / "foyers-copie.parquet").exists()
    assert len(_runs(home_engine)) == 2


def _register_then_approve_every_field(ctx: AppContext, *, approve: bool) -> None:
    from privacy import exchanges
    from privacy import register as processing_register

    with transaction(ctx.engine) as session:
        entries = processing_register.load_dir(CONFIG_DIR / "registre")
        processing_register.save(session, entries, actor="test", source="config/registre")
        if not approve:
            return
        asked = exchanges.ExchangeRequest(
            requester="Équipe données",
            recipient="Service d'action sociale",
            purpose="Information proactive sur les droits",
            register_code=entries[0].code,
            fields=exchanges.EXCHANGE_FIELDS,
            legal_basis="CRPA art. L.114-8 II",
            retention_days=90,
            expires_on=dt.date.today() + dt.timedelta(days=30),
        )
        exchange = exchanges.request(session, asked)
        exchanges.approve(session, ctx.keyring, exchange.id, dpo="DPO", avis="Favorable")


def test_the_launch_job_launches_a_campaign_once_on_the_newest_run(
    extract: Path, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    assert launch_job(campagne="action-2-2-non-recours", schedule="lancement") == {"status": "nothing_to_do"}
    _drop(extract, inbox / "foyers-2025-06.parquet")
    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "succeeded"
    _register_then_approve_every_field(AppContext.from_env(), approve=False)
    with pytest.raises(ExchangeRefused):  # no personal data leaves without the DPO's approval
        launch_job(campagne="action-2-2-non-recours", schedule="lancement")
    _register_then_approve_every_field(AppContext.from_env(), approve=True)
    # The month's contacts not imported yet: refused, and the run is not used up by a launch to nobody.
    with pytest.raises(NobodyReachable):
        launch_job(campagne="action-2-2-non-recours", schedule="lancement")
    _import_contacts(_contacts_of(extract))

    done = launch_job(campagne="action-2-2-non-recours", schedule="lancement")

    [run] = _runs(home_engine)
    assert done == {"status": "succeeded", "launch_id": done["launch_id"], "run_id": run.id}
    with Session(home_engine) as session:
        launch = session.get(Launch, done["launch_id"])
        assert launch is not None and launch.acteur == "planification lancement"
        assert launch.nb_signales > 0
    # Once launched on that run, the next executions have nothing to do until a newer run.
    assert launch_job(campagne="action-2-2-non-recours", schedule="lancement") == {"status": "nothing_to_do"}


def test_the_help_of_schedule_add_lists_every_job_and_its_parameters(cli) -> None:
    shown = " ".join(cli("schedule", "add", "--help").stdout.split())
    for name, spec in JOBS.items():
        assert f"{name} : {spec.description} ; paramètres :" in shown
    assert "campagne (obligatoire), smtp." in shown and "inbox (obligatoire), min_age_s." in shown


def test_a_launch_schedule_names_an_existing_campaign() -> None:
    spec = JOBS["lancement"]
    with pytest.raises(ScheduleError, match=r"--param campagne=…"):
        spec.checked({})
    with pytest.raises(CampaignNotFound):
        spec.checked({"campagne": "action-9-9"})
    assert spec.checked({"campagne": "action-7-1-logement"}) == {"campagne": "action-7-1-logement"}


def test_after_a_success_older_extracts_left_in_the_inbox_are_set_aside_not_run(
    extract: Path, uptake_home: Path, home_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _drop(extract, inbox / "foyers-2025-06.parquet")
    older = inbox / "foyers-2025-05.parquet"
    pl.read_parquet(extract).head(-1).write_parquet(older)  # another file, dropped a month before
    month_ago = time.time() - 31 * 86_400
    os.utime(older, (month_ago, month_ago))

    with caplog.at_level(logging.WARNING, logger="uptake.jobs"):
        done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "succeeded" and done["superseded"] == ["foyers-2025-05.parquet"]
    assert (inbox / ARCHIVE_DIR / "foyers-2025-06.parquet").exists()
    assert (inbox / SUPERSEDED_DIR / "foyers-2025-05.parquet").exists()
    [said] = [r for r in caplog.records if r.getMessage() == "older_extracts_superseded"]
    assert getattr(said, FIELDS_KEY)["taken"] == "foyers-2025-06.parquet"
    assert len(_runs(home_engine)) == 1
    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "nothing_to_do"
    assert len(_runs(home_engine)) == 1


def test_a_schedule_survives_a_restart_of_the_daemon(
    cli, extract: Path, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    assert (
        cli(
            "schedule", "add", "mensuel", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox)
        ).code
        == 0
    )

    first = Daemon(uptake_home, uptake_home.parent / "daemon1.log")
    assert first.stop() == 0
    assert "scheduler_stopped" in [e["event"] for e in first.events()]

    listed = cli("schedule", "list")
    assert "mensuel" in listed.stdout and QUIET_CRON in listed.stdout

    second = Daemon(uptake_home, uptake_home.parent / "daemon2.log")
    try:
        _drop(extract, inbox / "foyers.parquet")
        assert cli("schedule", "run", "mensuel").code == 0
        _wait_for(lambda: any(r.status == SUCCEEDED for r in _runs(home_engine)))
        _wait_for(lambda: (inbox / ARCHIVE_DIR / "foyers.parquet").exists())
    finally:
        assert second.stop() == 0
    assert "mensuel" in cli("schedule", "list").stdout
    for event in second.events():
        assert "id_foyer" not in json.dumps(event)


def test_two_daemons_run_one_execution(cli, extract: Path, uptake_home: Path, home_engine: Engine) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _drop(extract, inbox / "foyers.parquet")
    assert (
        cli(
            "schedule", "add", "mensuel", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox)
        ).code
        == 0
    )
    daemons = [Daemon(uptake_home, uptake_home.parent / f"daemon{i}.log") for i in (1, 2)]
    try:
        for _ in range(3):  # three requests, so that both daemons get the chance to race
            assert cli("schedule", "run", "mensuel").code == 0
            time.sleep(1.5)
        _wait_for(lambda: any(r.status == SUCCEEDED for r in _runs(home_engine)))
        time.sleep(2)
    finally:
        codes = [d.stop() for d in daemons]
    assert codes == [0, 0]
    events = [e["event"] for d in daemons for e in d.events()]
    with home_engine.connect() as connection:
        claims = connection.execute(text("SELECT job_id, scheduled_at FROM uptake_job_claims")).all()
    # Three requested executions, each claimed and run by exactly one of the two daemons.
    assert len(claims) == len(set(claims)) == events.count("execution_claimed") == 3
    assert events.count("detection_done") + events.count("no_new_extract") == 3
    assert [r.status for r in _runs(home_engine)] == [SUCCEEDED]


def test_of_two_claiming_executors_only_one_runs_a_given_execution(engine: Engine) -> None:
    ran: list[str] = []
    scheduler = BackgroundScheduler(timezone="UTC")
    at = dt.datetime.now(dt.UTC)
    job = scheduler.add_job(
        ran.append, "date", run_date=at, args=["run"], id="mensuel", max_instances=1, coalesce=True,
        misfire_grace_time=60,
    )  # fmt: skip
    executors = [ClaimingExecutor(engine, owner) for owner in ("a:1", "b:2")]
    for executor in executors:
        executor.start(scheduler, "default")
    for executor in executors:
        executor.submit_job(job, [at])
    later = at + dt.timedelta(minutes=1)
    _wait_for(lambda: ran == ["run"])
    # The executor that lost the claim is not left counting a phantom instance: it runs the next one.
    loser = executors[1]
    loser.submit_job(job, [later])
    for executor in executors:
        executor.shutdown(wait=True)
    assert ran == ["run", "run"]
    with engine.connect() as connection:
        owners = connection.execute(
            text("SELECT owner FROM uptake_job_claims ORDER BY scheduled_at")
        ).scalars()
        assert list(owners) == ["a:1", "b:2"]


def test_sigterm_stops_the_daemon_cleanly_and_fails_the_running_run(
    cli, extract: Path, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _drop(extract, inbox / "foyers.parquet")
    assert (
        cli(
            "schedule", "add", "mensuel", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox)
        ).code
        == 0
    )
    daemon = Daemon(uptake_home, uptake_home.parent / "daemon.log", {STEP_DELAY_ENV: "1.5"})
    try:
        assert cli("schedule", "run", "mensuel").code == 0
        _wait_for(lambda: bool(_runs(home_engine)))
    finally:
        assert daemon.stop() == 0

    [run] = _runs(home_engine)
    assert run.status == FAILED and "arrêt" in (run.error_summary or "")
    with Session(home_engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionFlag)) == 0
    assert (inbox / "foyers.parquet").exists()  # left in the inbox for the next execution


def test_every_registered_job_is_importable_by_its_reference_and_documented() -> None:
    import importlib

    from uptake.jobs import JOBS

    assert {"detection", "relances", "rapprochement", "purge"} <= set(JOBS)
    for name, spec in JOBS.items():
        module, _, function = spec.reference.partition(":")
        assert getattr(importlib.import_module(module), function) is spec.function, name
        assert spec.description, name


def test_purge_job_runs_on_an_empty_data_folder(uptake_home: Path) -> None:
    from uptake.jobs import purge_job

    result = purge_job(schedule="test")
    assert result["status"] == "succeeded"
    assert result["outputs"] == 0 and result["flag_runs"] == 0


def test_purge_job_deletes_the_flags_of_runs_older_than_its_flags_months(
    uptake_home: Path, home_engine: Engine
) -> None:
    from uptake.db import upgrade
    from uptake.jobs import purge_job

    upgrade(home_engine)
    now = dt.datetime.now(dt.UTC)
    files = []
    with Session(home_engine) as session, session.begin():
        for months_ago in (8, 4):
            flags_file = uptake_home / "runs" / str(months_ago) / "flags.parquet"
            flags_file.parent.mkdir(parents=True)
            flags_file.write_bytes(b"PAR1")
            files.append(flags_file)
            finished = now - dt.timedelta(days=31 * months_ago)
            session.add(
                DetectionRun(
                    status=SUCCEEDED,
                    trigger="test",
                    extract_name="x.parquet",
                    flags_path=str(flags_file),
                    started_at=finished,
                    finished_at=finished,
                )
            )

    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    add_schedule(home_engine, "mensuelle", cron=QUIET_CRON, job="detection", params={"inbox": str(inbox)})
    dropped = {}
    for name, months_ago in (("archive/2025-01.parquet", 8), ("archive/2025-06.parquet", 4)):
        dropped[name] = inbox / name
        dropped[name].parent.mkdir(exist_ok=True)
        dropped[name].write_bytes(b"PAR1")
        moment = (now - dt.timedelta(days=31 * months_ago)).timestamp()
        os.utime(dropped[name], (moment, moment))
    for name in ("rejete/mauvais.csv", "rejete/mauvais.csv.rapport.txt", "remplace/2025-02.parquet"):
        dropped[name] = inbox / name
        dropped[name].parent.mkdir(exist_ok=True)
        dropped[name].write_text("x", encoding="utf-8")
        moment = (now - dt.timedelta(days=31 * 7)).timestamp()
        os.utime(dropped[name], (moment, moment))

    result = purge_job(schedule="quotidienne", flags_months=6)

    assert (result["flag_runs"], result["flag_files"], result["extracts"]) == (1, 1, 4)
    assert not files[0].exists() and files[1].exists()
    older, newer = _runs(home_engine)
    assert older.flags_purged_at is not None and newer.flags_purged_at is None
    assert [name for name, path in dropped.items() if path.exists()] == ["archive/2025-06.parquet"]
    with Session(home_engine) as session:
        purged = set(
            session.scalars(select(AuditEntry.object_ref).where(AuditEntry.action == "purge.extrait"))
        )
    assert purged == {
        "fichier:2025-01.parquet",
        "fichier:mauvais.csv",
        "fichier:mauvais.csv.rapport.txt",
        "fichier:2025-02.parquet",
    }


def test_schedule_list_says_whether_a_daemon_runs_and_when_each_schedule_last_started(
    cli, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    assert "Aucun démon actif : lancez « uptake scheduler »" in cli("schedule", "list").stdout

    daemon = Daemon(uptake_home, uptake_home.parent / "daemon.log")
    try:
        listed = cli("schedule", "list").stdout
        assert "Démon actif" in listed and f":{daemon.proc.pid}," in listed
        assert list_schedules(home_engine)[0].last_claimed is None
        assert cli("schedule", "run", "mensuel").code == 0  # an empty inbox: the job has nothing to do
        _wait_for(lambda: "no_new_extract" in daemon.log.read_text())
        [info] = list_schedules(home_engine)
        assert info.last_claimed is not None
        assert french.moment(info.last_claimed) in cli("schedule", "list").stdout
    finally:
        assert daemon.stop() == 0
    # A daemon stopped cleanly leaves no sign of life behind.
    assert "Aucun démon actif : lancez" in cli("schedule", "list").stdout


def test_schedule_list_tells_a_failed_execution_and_what_went_wrong_and_it_is_mailed(
    cli, extract: Path, uptake_home: Path, home_engine: Engine, smtp_server: tuple[SmtpInbox, SmtpSettings]
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    bad = inbox / "foyers-casse.csv"
    pl.read_parquet(extract).with_columns(age_allocataire=pl.lit(-4)).write_csv(bad)
    settled = time.time() - 2 * DEFAULT_MIN_AGE_S
    os.utime(bad, (settled, settled))

    inbox_of_mails, smtp = smtp_server
    alerts = {"UPTAKE_ALERTES": "donnees@caf.fr", "UPTAKE_SMTP": f"{smtp.host}:{smtp.port}"}
    daemon = Daemon(uptake_home, uptake_home.parent / "daemon.log", extra_env=alerts)
    try:
        assert cli("schedule", "run", "mensuel").code == 0
        _wait_for(lambda: list_schedules(home_engine)[0].last_outcome is not None)
        _wait_for(lambda: len(inbox_of_mails.messages) == 1)
        assert "foyers-casse.csv" in inbox_of_mails.messages[0][2].decode("utf-8", "replace")
        listed = " ".join(cli("schedule", "list").stdout.split())
        assert "échec" in listed
        assert (
            "Échec de la dernière exécution de « mensuel » "
            f"({french.moment(list_schedules(home_engine)[0].last_claimed)}) : extrait foyers-casse.csv "
            "refusé : son rapport est à côté de lui dans rejete/"
        ) in listed

        _drop(extract, inbox / "foyers-2025-06.parquet")
        first = list_schedules(home_engine)[0].last_claimed
        assert cli("schedule", "run", "mensuel").code == 0
        _wait_for(lambda: list_schedules(home_engine)[0].last_claimed != first)
        _wait_for(lambda: list_schedules(home_engine)[0].last_outcome == scheduler_module.SUCCEEDED)
    finally:
        assert daemon.stop() == 0
    listed = " ".join(cli("schedule", "list").stdout.split())
    assert "réussie" in listed and "Échec de la dernière exécution" not in listed
    assert len(inbox_of_mails.messages) == 1  # the success sent nothing


def _outcome_of(engine: Engine, exception: BaseException) -> str | None:
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert claim_execution(engine, "mensuel", at, "a:1")
    event = JobExecutionEvent(EVENT_JOB_ERROR, "mensuel", "default", at, exception=exception)
    scheduler_module._record_outcome(engine, None, event)
    [info] = list_schedules(engine)
    assert info.last_outcome == scheduler_module.FAILED
    return info.last_message


def test_a_failed_execution_keeps_the_french_message_of_a_domain_error(
    engine: Engine, tmp_path: Path
) -> None:
    add_schedule(engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(tmp_path)})
    problem = ConfigInvalid("territoire.toml", "eloignement.part_communes", "doit être au plus 1.0", "")
    assert _outcome_of(engine, problem) == str(problem)


def test_a_failed_execution_keeps_only_the_type_of_an_unexpected_error(
    engine: Engine, tmp_path: Path
) -> None:
    add_schedule(engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(tmp_path)})
    message = _outcome_of(engine, KeyError("foyer 0612345678"))  # a message may quote a value
    assert message == "erreur interne (KeyError) : voir le journal du démon"


def test_schedule_list_warns_until_a_purge_is_scheduled_and_active(cli, uptake_home: Path) -> None:
    warning = "Aucune purge planifiée (ou sa planification est suspendue)"
    assert warning in " ".join(cli("schedule", "list").stdout.split())  # nothing scheduled yet
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    assert warning in " ".join(cli("schedule", "list").stdout.split())
    assert cli("schedule", "add", "nuit", "--cron", "30 2 * * *", "--job", "purge").code == 0
    assert warning not in " ".join(cli("schedule", "list").stdout.split())
    assert cli("schedule", "pause", "nuit").code == 0
    assert warning in " ".join(cli("schedule", "list").stdout.split())


def test_a_silent_daemon_is_reported_stopped_and_forgotten_when_another_starts(engine: Engine) -> None:
    announce_daemon(engine, "hote-a:101", poll_s=0.5)
    now = dt.datetime.now(dt.UTC)
    [fresh] = daemons(engine, now)
    assert fresh.alive and "Démon actif : hote-a:101" in daemon_sentence([fresh])
    [silent] = daemons(engine, now + dt.timedelta(minutes=2))  # killed: no sign of life since
    assert not silent.alive
    assert "Aucun démon actif (dernier signe de vie de hote-a:101" in daemon_sentence([silent])

    later = now + dt.timedelta(minutes=5)
    with engine.begin() as connection:  # as seen five minutes on, hote-a being silent since
        connection.execute(
            text("UPDATE uptake_scheduler_daemons SET last_seen_at = :t"),
            {"t": now - dt.timedelta(minutes=5)},
        )
    announce_daemon(engine, "hote-b:202", poll_s=0.5)
    assert [d.owner for d in daemons(engine, later)] == ["hote-b:202"]
    # Still alive after all (its database was away): its next sign of life brings it back.
    daemon_heartbeat(engine, "hote-a:101", now, 0.5)
    assert sorted(d.owner for d in daemons(engine) if d.alive) == ["hote-a:101", "hote-b:202"]


def _fire_days(cron: str, days: int = 14) -> set[int]:
    """The crontab day numbers (0 = Sunday) on which `cron` fires over the next `days` days."""
    trigger = cron_trigger(cron)
    moment = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    end, fired = moment + dt.timedelta(days=days), set()
    while (moment := trigger.get_next_fire_time(None, moment + dt.timedelta(minutes=1))) < end:
        fired.add(moment.isoweekday() % 7)
    return fired


@pytest.mark.parametrize(
    ("cron", "days"),
    [
        ("30 7 * * 1-5", {1, 2, 3, 4, 5}),  # Monday to Friday, not Tuesday to Saturday
        ("0 6 * * 0", {0}),
        ("0 6 * * 7", {0}),
        ("0 6 * * 5-7", {5, 6, 0}),
        ("0 6 * * */2", {0, 2, 4, 6}),
        ("0 6 * * MON,wed", {1, 3}),
        ("0 6 * * *", {0, 1, 2, 3, 4, 5, 6}),
    ],
)
def test_day_of_week_is_read_as_crontab_numbers_it(cron: str, days: set[int]) -> None:
    assert _fire_days(cron) == days


@pytest.mark.parametrize("cron", ["0 6 5 * 1", "0 6 * * 6-1", "0 6 * * 8", "0 6 * *", "0 25 * * *"])
def test_a_cron_expression_cron_and_apscheduler_would_read_differently_is_refused(cron: str) -> None:
    with pytest.raises(ScheduleError, match="expression cron"):
        cron_trigger(cron)


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        ("0 25 5 * *", "heure « 25 » illisible (valeurs de 0 à 23"),
        ("61 6 5 * *", "minute « 61 » illisible (valeurs de 0 à 59"),
        ("0 6 32 * *", "jour du mois « 32 » illisible"),
        ("0 6 * 13 *", "mois « 13 » illisible"),
        ("0 6 * * lun", "jour de la semaine « lun » illisible"),
        ("0 6 5 *", "4 champ(s) au lieu de cinq"),
    ],
)
def test_an_unreadable_cron_expression_is_refused_naming_the_field_to_fix(cron: str, said: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        cron_trigger(cron)
    assert said in str(refused.value) and "par exemple « 0 6 5 * * »" in str(refused.value)


@pytest.mark.parametrize("name", ["", "détection", "a/b", "mensuel ", "-x", "x" * 65])
def test_a_schedule_name_that_is_not_a_plain_word_is_refused(engine: Engine, name: str) -> None:
    with pytest.raises(ScheduleError, match=r"nom de planification .* invalide"):
        add_schedule(engine, name, cron=QUIET_CRON, job="relances", params={})
    assert list_schedules(engine) == []


def test_schedule_parameters_are_checked_and_typed_as_the_job_takes_them(tmp_path: Path) -> None:
    assert JOBS["relances"].checked({"days": "30"}) == {"days": 30}
    assert JOBS["detection"].checked({"inbox": str(tmp_path)}) == {"inbox": str(tmp_path)}
    with pytest.raises(
        ScheduleError,
        match=r"paramètre inconnu pour cette tâche : inbox \(paramètres possibles : flags_months\)",
    ):
        JOBS["purge"].checked({"inbox": str(tmp_path)})
    assert JOBS["detection"].checked({"inbox": str(tmp_path), "min_age_s": "0"})["min_age_s"] == 0
    for wrong in ("trente", "-5", "1.5"):
        with pytest.raises(ScheduleError, match=f"nombre entier positif ou nul attendu, « {wrong} » reçu"):
            JOBS["relances"].checked({"days": wrong})
    assert JOBS["purge"].checked({"flags_months": "6"}) == {"flags_months": 6}
    with pytest.raises(ScheduleError, match="paramètre flags_months : au moins 1 attendu, « 0 » reçu"):
        JOBS["purge"].checked({"flags_months": "0"})
    with pytest.raises(ScheduleError, match="n'existe pas"):
        JOBS["detection"].checked({"inbox": str(tmp_path / "absent")})
    (tmp_path / "extrait.parquet").write_bytes(b"PAR1")
    with pytest.raises(ScheduleError, match="est un fichier, pas un dossier"):
        JOBS["detection"].checked({"inbox": str(tmp_path / "extrait.parquet")})
    with pytest.raises(ScheduleError, match=r"manquant.*--inbox"):
        JOBS["rapprochement"].checked({})


def test_a_daemon_told_to_stop_leaves_a_due_execution_for_the_next_daemon(uptake_home: Path) -> None:
    engine = AppContext.from_env().engine
    (uptake_home / "depot").mkdir()
    add_schedule(
        engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(uptake_home / "depot")}
    )
    due_later = list_schedules(engine)[0].next_run

    def start(owner: str) -> tuple[DaemonScheduler, threading.Thread]:
        scheduler = daemon_scheduler(engine, owner, dt.datetime.now(dt.UTC), poll_s=3600)
        thread = threading.Thread(target=scheduler.start)
        thread.start()
        _wait_for(lambda: scheduler.running)
        return scheduler, thread

    def claims() -> list[str]:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT owner FROM uptake_job_claims")).scalars())

    first, thread = start("a:1")
    # Asked from another process: this daemon learns of it only at its next look at the store…
    requested = run_schedule_now(engine, "mensuel").next_run
    try:
        STOP.set()  # … which the stop comes before (SIGTERM: the stop flag, then shutdown)
        first.shutdown(wait=True)
        thread.join(timeout=30)
    finally:
        STOP.clear()
    assert not thread.is_alive()
    assert claims() == []
    assert list_schedules(engine)[0].next_run == requested  # still due: nothing lost

    second, thread = start("b:2")
    try:
        _wait_for(lambda: claims() == ["b:2"])
    finally:
        second.shutdown(wait=True)
        thread.join(timeout=30)
    assert list_schedules(engine)[0].next_run == due_later  # run once, then back to its cron


def test_the_detection_job_leaves_files_still_arriving_and_hidden_files_in_the_inbox(
    extract: Path,
    uptake_home: Path,
    home_engine: Engine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs_module, "ARRIVAL_WAIT_S", 0)  # waiting for it: test_scheduler_recovery
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    shutil.copy(extract, inbox / "foyers.parquet")  # just written: maybe still being copied
    _drop(extract, inbox / ".foyers.parquet.partiel.parquet")  # a transfer's hidden temporary copy
    with caplog.at_level(logging.WARNING, logger="uptake.jobs"):
        assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "still_arriving"
    [arriving] = [r for r in caplog.records if r.getMessage() == "extracts_still_arriving"]
    assert getattr(arriving, FIELDS_KEY)["files"] == ["foyers.parquet"]
    STOP.set()  # the daemon stopped during the wait: said as such, not as a transfer never finished
    try:
        stopped = detection_job(inbox=str(inbox), schedule="mensuel")
    finally:
        STOP.clear()
    failed, said = result_outcome(stopped)
    assert stopped["status"] == "stopped_while_arriving" and failed is False
    assert said is not None and "démon arrêté pendant l'attente" in said
    assert sorted(p.name for p in inbox.iterdir()) == [".foyers.parquet.partiel.parquet", "foyers.parquet"]
    assert _runs(home_engine) == []

    # A schedule may take files at once (min_age_s=0); the hidden file is never an extract.
    assert detection_job(inbox=str(inbox), schedule="mensuel", min_age_s=0)["status"] == "succeeded"
    assert (inbox / ARCHIVE_DIR / "foyers.parquet").exists()
    assert [p.name for p in inbox.iterdir() if p.is_file()] == [".foyers.parquet.partiel.parquet"]


def test_an_execution_missed_beyond_its_grace_time_is_logged_with_what_to_do(
    uptake_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scheduler_module, "MISFIRE_GRACE_S", 1)  # stored with the schedule
    engine = AppContext.from_env().engine
    (uptake_home / "depot").mkdir()
    add_schedule(
        engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(uptake_home / "depot")}
    )
    run_schedule_now(engine, "mensuel")
    time.sleep(2)  # no daemon running: the execution is now past its grace time

    daemon = daemon_scheduler(engine, "a:1", dt.datetime.now(dt.UTC), poll_s=3600)
    thread = threading.Thread(target=daemon.start)
    with caplog.at_level(logging.WARNING, logger="uptake.scheduler"):
        thread.start()
        try:
            _wait_for(lambda: any(r.getMessage() == "execution_missed" for r in caplog.records), timeout=30)
        finally:
            _wait_for(lambda: daemon.running)
            daemon.shutdown(wait=True)
            thread.join(timeout=30)
    [missed] = [getattr(r, FIELDS_KEY) for r in caplog.records if r.getMessage() == "execution_missed"]
    assert missed["schedule"] == "mensuel" and missed["hint"] == "uptake schedule run mensuel"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM uptake_job_claims")).scalar_one() == 0
    # Told wherever the schedules are listed, until the schedule runs again.
    [info] = list_schedules(engine)
    assert info.missed is not None and info.last_claimed is None
    [sentence] = missed_sentences([info])
    assert f"prévue le {french.moment(info.missed)}" in sentence and "uptake schedule run mensuel" in sentence
    assert claim_execution(engine, "mensuel", info.missed + dt.timedelta(minutes=5), "b:2")  # run by hand
    assert list_schedules(engine)[0].missed is None


def test_the_launch_job_refuses_a_campaign_that_check_rejects(
    uptake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    campaign = config / "campaigns" / "action-2-2-non-recours.toml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace('"ppa_non_recours"', '"ppa"', 1))
    monkeypatch.setenv("UPTAKE_CONFIG", str(config))
    with pytest.raises(CampaignNotLaunchable, match="règle « ppa » absente du catalogue"):
        launch_job(campagne="action-2-2-non-recours", schedule="lancement")


def test_the_reconciliation_job_tells_a_missing_inbox_and_a_refused_extract_in_words(
    extract: Path, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    missing = reconciliation_job(inbox=str(inbox), schedule="rapprochement")
    assert missing["status"] == "inbox_missing" and result_outcome(missing)[0] is False
    inbox.mkdir()
    (inbox / "faux.parquet").write_bytes(b"ceci n'est pas un extrait")
    refused = reconciliation_job(inbox=str(inbox), schedule="rapprochement")
    succeeded, said = result_outcome(refused)
    assert refused["status"] == "reconciliation_refused" and succeeded is False
    assert said is not None and said.startswith(
        "rapprochement impossible : l'extrait le plus récent, faux.parquet"
    )
    assert "« uptake schedule run rapprochement »" in said
    (inbox / "faux.parquet").unlink()
    _drop(extract, inbox / "foyers-2025-07.parquet")
    assert reconciliation_job(inbox=str(inbox), schedule="rapprochement")["status"] == "succeeded"


def test_two_jobs_that_take_their_files_never_share_an_inbox(cli, tmp_path: Path) -> None:
    inbox = tmp_path / "depot"
    inbox.mkdir()
    assert (
        cli("schedule", "add", "det", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox)).code
        == 0
    )
    shared = cli("schedule", "add", "stp", "--cron", QUIET_CRON, "--job", "stop", "--inbox", str(inbox))
    assert shared.code == 2
    assert "est déjà celui de la planification « det » (detection)" in " ".join(shared.output.split())
    # A second detection on the same folder would find the file the first archived, and fail.
    twice = cli("schedule", "add", "det2", "--cron", QUIET_CRON, "--job", "detection", "--inbox", str(inbox))
    assert twice.code == 2
    assert "une seule planification par dossier" in " ".join(twice.output.split())
    # The reconciliation reads the detection's drop folder: allowed.
    rap = ("schedule", "add", "rap", "--cron", QUIET_CRON, "--job", "rapprochement", "--inbox", str(inbox))
    assert cli(*rap).code == 0


def test_a_parameter_given_twice_is_refused_rather_than_the_last_kept(cli) -> None:
    twice = cli(
        "schedule", "add", "purge", "--cron", QUIET_CRON, "--job", "purge",
        "--param", "flags_months=1", "--param", "flags_months=2",
    )  # fmt: skip
    assert twice.code == 2
    assert "paramètre « flags_months » donné deux fois (1 et 2)" in " ".join(twice.output.split())


def test_running_a_paused_schedule_says_it_follows_its_cron_again_afterwards(cli) -> None:
    assert cli("schedule", "add", "purge", "--cron", QUIET_CRON, "--job", "purge").code == 0
    assert cli("schedule", "pause", "purge").code == 0
    said = " ".join(cli("schedule", "run", "purge").stdout.split())
    assert "Elle était en pause : après cette exécution, elle suit de nouveau son rythme" in said
    again = " ".join(cli("schedule", "run", "purge").stdout.split())  # no longer paused
    assert "exécution demandée" in again and "était en pause" not in again


def test_a_daemon_signalled_twice_stops_once_without_a_traceback(uptake_home: Path, tmp_path: Path) -> None:
    daemon = Daemon(uptake_home, tmp_path / "daemon.log")
    daemon.proc.send_signal(signal.SIGTERM)
    daemon.proc.send_signal(signal.SIGTERM)  # `timeout` and a service manager may both signal
    assert daemon.stop() == 0
    log = daemon.log.read_text()
    assert "Traceback" not in log and "SchedulerNotRunningError" not in log
    assert [e["event"] for e in daemon.events()].count("scheduler_stopping") == 1


def test_running_a_schedule_now_without_a_daemon_says_it_waits_for_one(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    asked = " ".join(cli("schedule", "run", "mensuel").stdout.split())
    assert "ne se fera qu'au démarrage du démon" in asked and "Aucun démon actif" in asked
    assert "sous peu" not in asked


def test_the_scheduled_detection_applies_the_installations_own_rules(
    extract: Path, uptake_home: Path, home_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = catalogue_copy(uptake_home.parent / "regles-caf")
    edit_rule(own, 'version: "1.1.0"', 'version: "9.0.0"')
    monkeypatch.setenv("UPTAKE_REGLES", str(own))
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _drop(extract, inbox / "foyers-2025-06.parquet")

    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "succeeded"
    [run] = _runs(home_engine)
    assert run.rule_versions["impaye_locatif"] == "9.0.0"


def test_running_a_schedule_now_while_it_runs_says_so_instead_of_a_request_the_daemon_would_drop(
    cli, uptake_home: Path, home_engine: Engine
) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    announce_daemon(home_engine, "hote:4242", poll_s=3600)  # alive
    assert claim_execution(home_engine, "mensuel", dt.datetime.now(dt.UTC), "hote:4242")  # running

    asked = " ".join(cli("schedule", "run", "mensuel").stdout.split())

    assert "une exécution est en cours depuis le" in asked and "rien n'est demandé en plus" in asked
    assert "en cours" in cli("schedule", "list").stdout  # not a start time with a blank state


def test_a_file_of_the_inbox_not_named_as_an_extract_is_said_at_each_execution(uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    (inbox / "ex-2025-09.parq").write_bytes(b"PAR1")

    done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "nothing_to_do"
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert "rien de nouveau à traiter ; fichier(s) ex-2025-09.parq laissé(s) dans le dépôt" in said
    assert (inbox / "ex-2025-09.parq").exists()


def test_a_daemon_of_this_host_is_alive_while_its_own_process_runs_whatever_its_sign_of_life(
    engine: Engine,
) -> None:
    import socket

    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        time.sleep(0.1)
        owner = f"{socket.gethostname()}:{process.pid}"
        announce_daemon(engine, owner, poll_s=0.5)

        def alive() -> bool:
            return next(d.alive for d in daemons(engine) if d.owner == owner)

        def seen(at: str, started: str | None = None) -> None:
            with engine.begin() as connection:
                connection.execute(text("UPDATE uptake_scheduler_daemons SET last_seen_at = :at"), {"at": at})
                if started is not None:
                    connection.execute(
                        text("UPDATE uptake_scheduler_daemons SET started_at = :s"), {"s": started}
                    )

        # On SQLite a long job holds the database and the heartbeat waits: its process tells.
        seen("2020-01-01 00:00:00")
        assert alive()
        # A pid that was reused by a process started after the daemon announced itself: not it.
        seen(dt.datetime.now(dt.UTC).isoformat(" "), started="2020-01-01 00:00:00")
        assert not alive()
    finally:
        process.kill()
        process.wait()
    seen(dt.datetime.now(dt.UTC).isoformat(" "), started=dt.datetime.now(dt.UTC).isoformat(" "))
    assert not alive()  # killed: gone at once, however recent its last sign of life


def test_schedule_list_fits_a_narrow_terminal_and_shows_days_as_written(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _add_monthly(cli, inbox)
    weekdays = ("schedule", "add", "relances", "--cron", "0 8 * * 1-5", "--job", "relances")
    assert cli(*weekdays).code == 0

    narrow = cli("schedule", "list", env={"COLUMNS": "80"}).stdout
    joined = " ".join(narrow.split())
    # One paragraph each: the inbox and the dates whole, not cut by a six-column table.
    assert f"• mensuel (detection) : cron « {QUIET_CRON} » ; prochaine :" in joined
    assert f"paramètres:inbox={inbox}" in narrow.replace("\n", "").replace(" ", "")
    assert "cron « 0 8 * * 1-5 »" in joined  # not APScheduler's mon,tue,wed,thu,fri
    assert "0 8 * * 1-5" in cli("schedule", "list").stdout  # the wide table too


def test_a_file_ignored_is_said_beside_an_older_month_set_aside() -> None:
    ok, said = result_outcome(
        {
            "status": "succeeded",
            "stale": "a.csv (01/2026)",
            "newest": "02/2026",
            "ignored": "extrait.xlsx",
            "inbox": "/srv/depot",
        }
    )
    assert not ok and said is not None
    assert said.startswith("extrait(s) d'un mois passé a.csv (01/2026)") and "extrait.xlsx laissé(s)" in said
