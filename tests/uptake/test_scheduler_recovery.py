"""Scheduler robustness found by the operators' review: newest month, interrupted executions, drop
folder paths and rights, what an execution says, alerts lost, bounds and messages (real databases,
real files, real daemons)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from detection.reference import load_reference
from detection.runs import STEP_DELAY_ENV, DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from outreach.channels import SmtpSettings
from outreach.models import Launch
from tests.conftest import CONFIG_DIR, QUIET_CRON, SmtpInbox, free_port
from tests.uptake.test_scheduler import (
    Daemon,
    _add_monthly,
    _drop,
    _import_contacts,
    _register_then_approve_every_field,
    _runs,
    _wait_for,
    home_engine,
)
from uptake import jobs as jobs_module
from uptake import scheduler as scheduler_module
from uptake.alerts import AlertSettings, sender_address
from uptake.context import AppContext
from uptake.db import DatabaseUnusable, make_engine, upgrade
from uptake.jobs import (
    ARCHIVE_DIR,
    JOBS,
    SUPERSEDED_DIR,
    ScheduleError,
    _move,
    detection_job,
    launch_job,
    reconciliation_job,
    result_outcome,
)
from uptake.logs import FIELDS_KEY, JsonFormatter
from uptake.scheduler import (
    FAILED,
    announce_daemon,
    claim_execution,
    close_orphaned_claims,
    cron_trigger,
    list_schedules,
)

__all__ = ["home_engine"]  # a fixture shared with the main scheduler tests

AUGUST, JULY = dt.date(2025, 8, 1), dt.date(2025, 7, 1)


def _synthetic(folder: Path, month: dt.date, households: int, seed: int) -> Path:
    path = folder / f"foyers-{month:%Y-%m}.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    write_synthetic(
        SynthesisSpec(households=households, seed=seed, month=month),
        commune_table(load_reference(), territory.communes),
        path,
        contacts=path.with_suffix(".contacts.csv"),
    )
    return path


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[dt.date, Path]:
    """An extract of August 2025, and one of July 2025 delivered after it."""
    folder = tmp_path_factory.mktemp("mois")
    return {AUGUST: _synthetic(folder, AUGUST, 800, 8), JULY: _synthetic(folder, JULY, 600, 77)}


@pytest.fixture
def inbox(uptake_home: Path) -> Path:
    folder = uptake_home.parent / "depot"
    folder.mkdir()
    return folder


def _claims(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT owner, outcome, message FROM uptake_job_claims")).all()
    return [(row[0], row[1], row[2]) for row in rows]


# 1. The newest month, not the last run created.


def test_an_extract_of_a_month_older_than_the_newest_processed_is_set_aside_not_run(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    _drop(months[AUGUST], inbox / "aout.parquet")
    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "succeeded"
    _drop(months[JULY], inbox / "juillet2.parquet")  # a past month re-delivered late

    done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "older_month"
    assert (inbox / SUPERSEDED_DIR / "juillet2.parquet").exists()
    assert [run.mois_reference for run in _runs(home_engine)] == [AUGUST]
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert "juillet2.parquet (07/2025)" in said and "(08/2025)" in said and "remplace/" in said


def test_of_two_months_dropped_together_the_later_month_is_run_whatever_the_files_dates(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    _drop(months[AUGUST], inbox / "aout.parquet")
    _drop(months[JULY], inbox / "juillet.parquet")
    # August's copy kept an older date (`rsync -t`, a file sent again): the month decides, not the date.
    august = inbox / "aout.parquet"
    earlier = august.stat().st_mtime - 600
    os.utime(august, (earlier, earlier))

    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "succeeded"

    assert [run.mois_reference for run in _runs(home_engine)] == [AUGUST]
    assert (inbox / ARCHIVE_DIR / "aout.parquet").exists()
    assert (inbox / SUPERSEDED_DIR / "juillet.parquet").exists()


def test_the_reconciliation_takes_the_extract_of_the_newest_month_not_the_newest_file(
    months: dict[dt.date, Path], inbox: Path
) -> None:
    archive = inbox / ARCHIVE_DIR
    archive.mkdir()
    _drop(months[AUGUST], archive / "aout.parquet")
    _drop(months[JULY], inbox / "juillet-encore.parquet")  # an old month dropped again: a fresh date
    newer = (archive / "aout.parquet").stat().st_mtime - 600
    os.utime(archive / "aout.parquet", (newer, newer))

    done = reconciliation_job(inbox=str(inbox), schedule="rapprochement")

    assert done["status"] == "succeeded" and done["mois_reference"] == AUGUST.isoformat(), done


def test_the_launch_job_takes_the_run_of_the_newest_month_not_the_last_created(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    _drop(months[AUGUST], inbox / "aout.parquet")
    assert detection_job(inbox=str(inbox), schedule="mensuel")["status"] == "succeeded"
    ctx = AppContext.from_env()
    # July processed by hand afterwards: the newest run by id, of an older month.
    runner = DetectionRunner(ctx.engine, ctx.geography, ctx.settings.home)
    runner.run(RunRequest(extract=months[JULY]))
    august, july = _runs(home_engine)
    assert july.id > august.id and july.mois_reference == JULY
    _register_then_approve_every_field(ctx, approve=True)
    _import_contacts(months[AUGUST].with_suffix(".contacts.csv"))

    done = launch_job(campagne="action-2-2-non-recours", schedule="lancement")

    assert done["status"] == "succeeded" and done["run_id"] == august.id
    with Session(home_engine) as session:
        assert session.scalars(select(Launch.run_id)).all() == [august.id]


# 2. Executions whose daemon died.


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_of_dead_daemons_are_closed_as_interrupted_never_those_of_a_live_one(engine: Engine) -> None:
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    here = socket.gethostname()
    announce_daemon(engine, "autre-hote:4242", poll_s=30)  # alive: a recent sign of life
    live, forgotten, dead_here = "autre-hote:4242", "autre-hote:999", f"{here}:{_dead_pid()}"
    for index, owner in enumerate((live, forgotten, dead_here)):
        assert claim_execution(engine, f"tache{index}", at, owner)

    closed = close_orphaned_claims(engine, f"{here}:{os.getpid()}")

    assert sorted(job for job, _ in closed) == ["tache1", "tache2"]
    outcomes = {owner: (outcome, message) for owner, outcome, message in _claims(engine)}
    assert outcomes[live] == (None, None)
    for owner in (forgotten, dead_here):
        outcome, message = outcomes[owner]
        assert outcome == FAILED and message is not None and message.startswith("interrompue")
        assert owner in message
    # Closed once: a second daemon finds nothing left to close.
    assert close_orphaned_claims(engine, "encore-un:1") == []


def test_a_daemon_starting_closes_an_open_claim_left_in_its_own_name_by_an_earlier_process(
    engine: Engine,
) -> None:
    me = f"{socket.gethostname()}:{os.getpid()}"  # same pid after a reboot
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert claim_execution(engine, "mensuel", at, me)
    assert close_orphaned_claims(engine, me) == []  # while running: its own claim is its own
    assert close_orphaned_claims(engine, me, starting=True) == [("mensuel", at)]


def test_a_daemon_killed_during_an_execution_leaves_it_interrupted_listed_checked_and_alerted(
    cli,
    months: dict[dt.date, Path],
    inbox: Path,
    uptake_home: Path,
    home_engine: Engine,
    smtp_server: tuple[SmtpInbox, SmtpSettings],
) -> None:
    _drop(months[AUGUST], inbox / "aout.parquet")
    _add_monthly(cli, inbox)
    killed = Daemon(uptake_home, uptake_home.parent / "tue.log", {STEP_DELAY_ENV: "3"})
    try:
        assert cli("schedule", "run", "mensuel").code == 0
        _wait_for(lambda: bool(_runs(home_engine)))
    finally:
        killed.proc.send_signal(signal.SIGKILL)
        killed.proc.wait(timeout=30)
        killed.handle.close()
    [(owner, outcome, _message)] = _claims(home_engine)
    assert outcome is None  # what the review found: no outcome, forever

    mails, smtp = smtp_server
    alerts = {"UPTAKE_ALERTES": "donnees@caf.fr", "UPTAKE_SMTP": f"{smtp.host}:{smtp.port}"}
    restarted = Daemon(uptake_home, uptake_home.parent / "redemarre.log", alerts)
    try:
        _wait_for(lambda: list_schedules(home_engine)[0].last_outcome == FAILED)
        _wait_for(lambda: len(mails.messages) == 1)
    finally:
        assert restarted.stop() == 0
    assert "interrompue" in mails.messages[0][2].decode("utf-8", "replace")
    listed = " ".join(cli("schedule", "list").stdout.split())
    assert "échec" in listed and "interrompue : le démon" in listed and owner in listed
    assert "interrompue : le démon" in " ".join(cli("check").stdout.split())
    [event] = [e for e in restarted.events() if e["event"] == "execution_interrupted"]
    assert str(event["cause"]).startswith("interrompue")


# 3. Drop folder paths.


def test_a_relative_inbox_parameter_is_stored_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "depot").mkdir()
    monkeypatch.chdir(tmp_path)
    checked = JOBS["detection"].checked({"inbox": "depot"})
    assert checked["inbox"] == str(tmp_path / "depot")


def test_an_inbox_given_both_as_option_and_as_parameter_is_refused(cli, inbox: Path, tmp_path: Path) -> None:
    added = cli(
        "schedule", "add", "p6", "--cron", QUIET_CRON, "--job", "detection",
        "--inbox", str(inbox), "--param", f"inbox={tmp_path}",
    )  # fmt: skip
    assert added.code == 2
    assert "dossier de dépôt donné deux fois" in " ".join(added.output.split())
    assert "p6" not in cli("schedule", "list").stdout


def test_a_missing_inbox_is_named_in_the_execution_outcome(uptake_home: Path) -> None:
    missing = uptake_home.parent / "depot-disparu"
    result = detection_job(inbox=str(missing), schedule="p7")
    assert result_outcome(result) == (
        False,
        f"dossier de dépôt {missing} introuvable, ou ce n'est pas un dossier : recréez le dossier ou "
        "corrigez la planification",
    )


def test_check_tells_a_schedule_whose_inbox_is_a_relative_path(
    cli, uptake_home: Path, home_engine: Engine
) -> None:
    upgrade(home_engine)
    # As stored by an earlier version, which kept --param inbox as typed.
    scheduler_module.add_schedule(
        home_engine, "p7", cron=QUIET_CRON, job="detection", params={"inbox": str(uptake_home.parent)}
    )
    with scheduler_module._Store(home_engine) as store:
        store.modify_job("p7", kwargs={"inbox": "depot", "schedule": "p7"})
    said = " ".join(cli("check").stdout.split())
    assert "Le dossier de dépôt de « p7 » est un chemin relatif (depot)" in said


# 4. What an execution that processed nothing says.


def _record(
    engine: Engine, retval: object = None, exception: BaseException | None = None, alerts=None
) -> None:
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert claim_execution(engine, "mensuel", at, "a:1")
    code = EVENT_JOB_ERROR if exception is not None else EVENT_JOB_EXECUTED
    event = JobExecutionEvent(code, "mensuel", "default", at, retval=retval, exception=exception)
    scheduler_module._record_outcome(engine, alerts, event)


def test_schedule_list_shows_what_a_successful_execution_found_to_say(
    cli, inbox: Path, home_engine: Engine
) -> None:
    upgrade(home_engine)
    scheduler_module.add_schedule(
        home_engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(inbox)}
    )
    _record(home_engine, retval={"status": "nothing_to_do"})
    listed = " ".join(cli("schedule", "list").stdout.split())
    assert "réussie : rien de nouveau à traiter" in listed


def test_an_extract_still_arriving_at_the_scheduled_time_is_waited_for_then_processed(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    shutil.copy(months[AUGUST], inbox / "aout.parquet")  # just copied, as at 05:59:30
    done = detection_job(inbox=str(inbox), schedule="mensuel", min_age_s=2)
    assert done["status"] == "succeeded"
    assert (inbox / ARCHIVE_DIR / "aout.parquet").exists()


def test_an_extract_still_arriving_after_the_wait_fails_the_execution_naming_it(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "ARRIVAL_WAIT_S", 0)
    shutil.copy(months[AUGUST], inbox / "aout.parquet")
    done = detection_job(inbox=str(inbox), schedule="mensuel")
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert said.startswith("extrait en cours de dépôt : aout.parquet") and str(inbox) in said
    assert "uptake schedule run mensuel" in said
    assert _runs(home_engine) == [] and (inbox / "aout.parquet").exists()


# 5. Archiving: a move or nothing.


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Folders made immutable (chattr +i) for one test, made changeable again after it."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        subprocess.run(["chattr", "-i", str(folder)], check=False)


def _freeze(folder: Path, immutable: list[Path]) -> None:
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("chattr +i indisponible ici (droits ou système de fichiers)")
    immutable.append(folder)


def test_an_unwritable_inbox_is_refused_before_anything_is_published(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine, immutable: list[Path]
) -> None:
    upgrade(home_engine)
    _drop(months[AUGUST], inbox / "nov.parquet")
    (inbox / ARCHIVE_DIR).mkdir()
    _freeze(inbox, immutable)

    done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "inbox_not_writable"
    assert _runs(home_engine) == []
    assert sorted(p.name for p in inbox.iterdir()) == [ARCHIVE_DIR, "nov.parquet"]
    assert list((inbox / ARCHIVE_DIR).iterdir()) == []
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None and said.startswith(f"dossier {inbox} non modifiable")
    assert "rien n'a donc été traité" in said


def test_archiving_moves_the_file_or_leaves_it_never_both_nor_twice_the_same_content(
    tmp_path: Path, immutable: list[Path]
) -> None:
    archive = tmp_path / ARCHIVE_DIR
    archive.mkdir()
    (archive / "nov.parquet").write_bytes(b"PAR1 novembre")
    again = tmp_path / "nov.parquet"
    again.write_bytes(b"PAR1 novembre")
    assert _move(again, archive) == archive / "nov.parquet"  # the same content is not kept twice
    assert not again.exists() and sorted(p.name for p in archive.iterdir()) == ["nov.parquet"]

    other = tmp_path / "nov.parquet"
    other.write_bytes(b"PAR1 novembre corrige")
    assert _move(other, archive).name == "nov.1.parquet"

    late = tmp_path / "dec.parquet"
    late.write_bytes(b"PAR1 decembre")
    _freeze(archive, immutable)
    with pytest.raises(PermissionError):
        _move(late, archive)
    assert late.read_bytes() == b"PAR1 decembre"  # left where it was, no copy in the archive
    assert sorted(p.name for p in archive.iterdir()) == ["nov.1.parquet", "nov.parquet"]


def test_a_run_published_but_not_archived_says_both() -> None:
    succeeded, said = result_outcome(
        {
            "status": "archive_failed",
            "run_id": 19,
            "file": "nov.parquet",
            "inbox": "/srv/depot",
            "cause": "/srv/depot/nov.parquet : opération non permise : donnez au compte …",
        }
    )
    assert not succeeded and said is not None
    assert said.startswith("détection publiée (exécution n° 19), mais l'extrait nov.parquet n'a pas pu")
    assert "/srv/depot" in said and "prochaine exécution" in said


# 6. Alerts lost, bounds, messages.


def test_check_and_schedule_list_tell_when_the_last_alert_could_not_be_sent(
    cli, inbox: Path, home_engine: Engine
) -> None:
    upgrade(home_engine)
    scheduler_module.add_schedule(
        home_engine, "p7", cron=QUIET_CRON, job="detection", params={"inbox": str(inbox)}
    )
    nobody = AlertSettings(
        ("donnees@caf.fr",), SmtpSettings(host="127.0.0.1", port=free_port(), timeout=5), "uptake@vm"
    )
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert claim_execution(home_engine, "p7", at, "a:1")
    event = JobExecutionEvent(EVENT_JOB_EXECUTED, "p7", "default", at, retval={"status": "inbox_missing"})
    scheduler_module._record_outcome(home_engine, nobody, event)

    [info] = list_schedules(home_engine)
    assert info.alert_problem
    assert "l'alerte n'a pas pu être envoyée" in " ".join(cli("schedule", "list").stdout.split())
    checked = " ".join(cli("check").stdout.split())
    assert (
        "✗ Alertes : La dernière alerte (échec de « p7 »" in checked and "n'a pas pu être envoyée" in checked
    )


def test_the_purge_schedule_takes_the_retention_bounds_of_uptake_purge() -> None:
    with pytest.raises(ScheduleError, match=r"flags_months : de 1 à 36 attendu, « 99 » reçu"):
        JOBS["purge"].checked({"flags_months": "99"})
    assert JOBS["purge"].checked({"flags_months": "36"}) == {"flags_months": 36}


def test_a_postgresql_database_that_does_not_exist_is_told_with_how_to_create_it(
    cli, postgres_server: str
) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/uptake_absente_de_ce_serveur"
    for args in (("db", "upgrade"), ("check",)):
        said = " ".join(cli(*args, env={"UPTAKE_DATABASE_URL": url}).output.split())
        assert "n'existe pas sur le serveur PostgreSQL" in said, args
        assert "createdb -h 127.0.0.1 -U postgres -O postgres uptake_absente_de_ce_serveur" in said
        assert "CREATE DATABASE uptake_absente_de_ce_serveur" in said


def test_a_libpq_postgres_url_is_told_how_to_write_it() -> None:
    with pytest.raises(DatabaseUnusable) as raised:
        make_engine("postgres://postgres@127.0.0.1:5432/uptake")
    said = str(raised.value)
    assert "postgresql+psycopg://" in said and "ne prend pas en charge" not in said


def test_a_day_of_week_out_of_range_is_told_as_such_even_with_a_day_of_month() -> None:
    with pytest.raises(ScheduleError, match=r"jour de la semaine « 8 » illisible \(valeurs de 0 à 7"):
        cron_trigger("0 6 5 * 8")


def test_a_failed_execution_is_logged_with_its_french_cause(
    inbox: Path, home_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(home_engine)
    with caplog.at_level(logging.ERROR, logger="uptake.scheduler"):
        _record(
            home_engine, exception=PermissionError(1, "Operation not permitted", str(inbox / "nov.parquet"))
        )
    [failed] = [getattr(r, FIELDS_KEY) for r in caplog.records if r.getMessage() == "execution_failed"]
    assert failed["cause"] == (
        f"{inbox / 'nov.parquet'} : opération non permise : donnez au compte qui lance uptake les droits "
        "nécessaires"
    )


def test_a_json_log_line_of_a_file_refused_carries_its_french_cause(tmp_path: Path) -> None:
    try:
        raise PermissionError(1, "Operation not permitted", str(tmp_path / "nov.parquet"))
    except PermissionError:
        record = logging.LogRecord(
            "apscheduler", logging.ERROR, __file__, 1, "Job raised", None, sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["error_type"] == "PermissionError"
    assert line["error"].startswith(f"{tmp_path / 'nov.parquet'} : opération non permise")


def test_the_alert_sender_falls_back_to_the_host_name_when_the_full_name_is_localhost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda *_a: "localhost")
    monkeypatch.setattr(socket, "gethostname", lambda: "vm")
    assert sender_address({}) == "uptake@vm"
    assert sender_address({"UPTAKE_ALERTES_EXPEDITEUR": "batch@caf.fr"}) == "batch@caf.fr"


def test_a_moment_in_a_log_line_is_written_in_iso_8601_utc_whatever_its_zone() -> None:
    from zoneinfo import ZoneInfo

    record = logging.LogRecord("uptake.scheduler", logging.INFO, __file__, 1, "execution_claimed", None, None)
    paris = dt.datetime(2026, 12, 5, 6, 0, tzinfo=ZoneInfo("Europe/Paris"))
    setattr(record, FIELDS_KEY, {"scheduled_at": paris})
    assert json.loads(JsonFormatter().format(record))["scheduled_at"] == "2026-12-05T05:00:00+00:00"
