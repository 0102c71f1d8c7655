"""`uptake run`, the scheduled detection and `uptake check` refuse a catalogue whose own test cases fail."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from detection.reference import load_reference
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from detection.verification import CasesFailed, CaseVerification
from tests.catalogues import RIGHT_CASE, RULE, WRONG_CASE, catalogue_copy, edit_rule
from tests.conftest import CONFIG_DIR, QUIET_CRON
from tests.uptake.test_check_cli import _lines
from uptake import scheduler as scheduler_module
from uptake.db import make_engine
from uptake.jobs import DEFAULT_MIN_AGE_S, REJECTED_DIR, detection_job
from uptake.scheduler import add_schedule, claim_execution, list_schedules

# Each database verifies the cases itself here: what is proved is the database's record.
pytestmark = pytest.mark.usefixtures("no_shared_verdicts")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    write_synthetic(
        SynthesisSpec(households=300, seed=4), commune_table(load_reference(), territory.communes), path
    )
    return path


@pytest.fixture
def wrong_catalogue(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue where one case of `RULE` expects what the rule does not do: a
    debt of 950 € for two rents of 450 € not flagged."""
    folder = catalogue_copy(tmp_path / "regles")
    edit_rule(folder, RIGHT_CASE, WRONG_CASE)
    return folder


def test_uptake_run_refuses_a_catalogue_whose_cases_fail_and_writes_nothing(
    cli, wrong_catalogue: Path, extract: Path, uptake_home: Path
) -> None:
    refused = cli("run", "-e", str(extract), "--catalogue", str(wrong_catalogue))

    said = " ".join(refused.stderr.split())
    assert refused.code == 2, refused.output
    assert f"catalogue refusé : 1 cas de test en échec, règle(s) {RULE} (1 cas sur 5)" in said
    assert f"« uptake rules test --regle {RULE} »" in said and "Traceback" not in refused.output
    assert not (uptake_home / "runs").exists()
    assert "Aucune exécution" in cli("runs", "list").stdout

    # The other rules may still be applied, named.
    others = cli("run", "-e", str(extract), "--catalogue", str(wrong_catalogue), "-r", "ppa_non_recours")
    assert others.code == 0, others.output
    assert (uptake_home / "runs" / "1" / "flags.parquet").exists()


def test_the_help_of_uptake_run_tells_the_exit_code_of_failing_cases(cli) -> None:
    said = " ".join(cli("run", "--help").stdout.split())
    assert "cas de test d'une règle en échec" in said and "uptake rules test --regle X" in said


def test_uptake_check_and_rules_check_read_the_verdict_the_runs_recorded(
    cli, wrong_catalogue: Path, extract: Path, uptake_home: Path
) -> None:
    env = {"UPTAKE_REGLES": str(wrong_catalogue)}
    assert cli("run", "-e", str(extract), env=env).code == 2
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    with Session(engine) as session:
        recorded = session.scalar(select(func.count()).select_from(CaseVerification))
    assert recorded == 7

    rules = _lines(cli("check", env=env).stdout)["Règles et paramètres"]
    assert rules.startswith(f"✗ 1 cas de test en échec, règle(s) {RULE} (1 cas sur 5)")
    assert rules.endswith("; d'ici là, les exécutions refusent ce catalogue")
    checked = cli("rules", "check", env=env)
    assert checked.code == 1 and f"--regle {RULE}" in checked.stdout

    # The verdicts are read, not computed again: a record saying otherwise is believed.
    with Session(engine) as session, session.begin():
        session.execute(update(CaseVerification).values(failed=0))
        assert session.scalar(select(func.count()).select_from(CaseVerification)) == recorded
    engine.dispose()
    assert _lines(cli("check", env=env).stdout)["Règles et paramètres"].startswith("✓ 7 règle(s)")
    assert "110 cas de test réussis." in " ".join(cli("rules", "check", env=env).stdout.split())


def test_the_scheduled_detection_fails_with_the_reason_and_leaves_the_extract_in_the_inbox(
    wrong_catalogue: Path, extract: Path, uptake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_REGLES", str(wrong_catalogue))
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    dropped = inbox / "foyers-2025-06.parquet"
    shutil.copy(extract, dropped)
    delivered = time.time() - 2 * DEFAULT_MIN_AGE_S
    os.utime(dropped, (delivered, delivered))

    with pytest.raises(CasesFailed) as refused:
        detection_job(inbox=str(inbox), schedule="mensuel")

    # Not the extract's fault: left where it was, for the execution after the fix.
    assert sorted(p.name for p in inbox.iterdir()) == [dropped.name]
    assert not (inbox / REJECTED_DIR).exists()
    # Recorded as the execution's failure, with its French reason (as the alert sends it).
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    add_schedule(engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(inbox)})
    at = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert claim_execution(engine, "mensuel", at, "a:1")
    event = JobExecutionEvent(EVENT_JOB_ERROR, "mensuel", "default", at, exception=refused.value)
    scheduler_module._record_outcome(engine, None, event)
    [info] = list_schedules(engine)
    engine.dispose()
    assert info.last_outcome == scheduler_module.FAILED
    assert info.last_message == str(refused.value)
    assert f"règle(s) {RULE} (1 cas sur 5)" in str(info.last_message)
