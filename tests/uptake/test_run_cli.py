"""`uptake run` and `uptake runs` through the real command, in subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from detection.records import FAILED, RUNNING, SUCCEEDED, DetectionFlag, DetectionRun
from detection.reference import load_reference
from detection.runs import STEP_DELAY_ENV
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR
from uptake import french
from uptake.db import make_engine

CARRIED = (
    "id_foyer", "regle", "version_regle", "montant_estime", "priorite", "code_commune",
    "distance_services_km", "explication", "conditions_remplies", "canal_sms", "canal_email",
    "canal_telephone", "canal_courrier", "opposition_contact", "accompagnement_social",
)  # fmt: skip


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic households of the configured territory."""
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    communes = commune_table(load_reference(), territory.communes)
    write_synthetic(SynthesisSpec(households=1_500, seed=5), communes, path)
    return path


def _runs(home: Path) -> list[DetectionRun]:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(DetectionRun).order_by(DetectionRun.id)))
    finally:
        engine.dispose()


def _flag_count(home: Path) -> int:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(DetectionFlag)) or 0)
    finally:
        engine.dispose()


def test_run_writes_flags_and_prints_a_french_summary(cli, extract: Path, uptake_home: Path) -> None:
    result = cli("run", "--extract", str(extract))

    assert result.code == 0, result.output
    assert "Drapeaux par règle" in result.stdout and "Drapeaux par commune" in result.stdout
    assert "Forcalquier" in result.stdout
    [run] = _runs(uptake_home)
    assert run.status == SUCCEEDED
    flags_path = uptake_home / "runs" / str(run.id) / "flags.parquet"
    flags = pl.read_parquet(flags_path)
    assert set(CARRIED) <= set(flags.columns)
    assert flags.height == run.flags_count == _flag_count(uptake_home) > 0
    assert not list(flags_path.parent.glob(".*partiel*"))

    listed = cli("runs", "list")
    assert listed.code == 0 and "réussi" in listed.stdout
    shown = cli("runs", "show", str(run.id))
    assert shown.code == 0 and run.extract_sha256 in shown.stdout
    assert "ligne de commande" in shown.stdout and "juin 2025" in shown.stdout
    assert "1\u202f500" in shown.stdout  # households, with French thousands
    assert re.search(r"Durée\s+│\s+\d+,\d+\u202fs", shown.stdout)  # decimal comma
    assert cli("runs", "show", "999").code == 2


def test_rerun_is_recognised_and_force_makes_a_new_run(cli, extract: Path, uptake_home: Path) -> None:
    out = uptake_home.parent / "sortie"
    assert cli("run", "--extract", str(extract), "--out", str(out)).code == 0
    first = _flag_count(uptake_home)

    again = cli("run", "--extract", str(extract))
    assert again.code == 0
    assert "déjà été traité" in again.stdout and "exécution n° 1" in again.stdout
    # The earlier run told as everywhere else: its start in the Caf's local time, French thousands.
    said = " ".join(again.stdout.split())
    assert f"du {french.moment(_runs(uptake_home)[0].started_at)} ({french.count(first)} drapeaux)" in said
    assert len(_runs(uptake_home)) == 1 and _flag_count(uptake_home) == first

    forced = cli("run", "--extract", str(extract), "--force")
    assert forced.code == 0
    assert len(_runs(uptake_home)) == 2 and _flag_count(uptake_home) == 2 * first

    # The first run's file is its record's: a new run never overwrites it.
    before = (out / "flags.parquet").read_bytes()
    clash = cli("run", "--extract", str(extract), "--out", str(out), "--force")
    assert clash.code == 2 and "existe déjà" in clash.output
    assert (out / "flags.parquet").read_bytes() == before and len(_runs(uptake_home)) == 2


def test_rejected_extract_exits_2_with_the_report_and_writes_nothing(
    cli, extract: Path, uptake_home: Path
) -> None:
    bad = uptake_home.parent / "mauvais.csv"
    pl.read_parquet(extract).with_columns(telephone=pl.lit("06 12 34 56 78")).write_csv(bad)
    out = uptake_home.parent / "sortie"

    result = cli("run", "--extract", str(bad), "--out", str(out))

    assert result.code == 2
    assert "Extrait refusé" in result.stderr and "telephone" in result.stderr
    assert "06 12 34 56 78" not in result.output
    assert not out.exists() and not (uptake_home / "runs").exists()
    [run] = _runs(uptake_home)
    assert run.status == "rejected" and _flag_count(uptake_home) == 0


def test_an_output_folder_that_cannot_be_created_is_refused_before_the_run_starts(
    cli, extract: Path, uptake_home: Path, tmp_path: Path
) -> None:
    blocking = tmp_path / "un-fichier"
    blocking.write_text("", encoding="utf-8")
    out = blocking / "sortie"

    result = cli("run", "--extract", str(extract), "--out", str(out))

    said = " ".join(result.stderr.split())
    assert result.code == 2
    assert f"dossier de sortie {out} : impossible d'y écrire (une partie du chemin est un fichier)" in said
    assert "Erreur interne" not in said and "Error" not in said
    assert not (uptake_home / "uptake.sqlite3").exists() or not _runs(uptake_home)  # no run recorded


def _has_run(home: Path) -> bool:
    """True once the run is recorded (the database may still be being created)."""
    try:
        return (home / "uptake.sqlite3").exists() and bool(_runs(home))
    except OperationalError:
        return False


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.parametrize("kill_after_s", [0.3, 1.6, 2.8, 5.0])
def test_a_run_killed_at_any_moment_leaves_no_partial_flags_and_is_failed_at_next_start(
    extract: Path, uptake_home: Path, kill_after_s: float
) -> None:
    env = {**os.environ, "UPTAKE_HOME": str(uptake_home), STEP_DELAY_ENV: "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptake", "run", "--extract", str(extract)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Wait until the run exists, then kill it at a different point of its life for each case: with
    # one second per step, 0.3 s is before evaluation, 1.6 s after the partial parquet is written,
    # 2.8 s inside the transaction that stores the flags, 5 s after the end.
    _wait_for(lambda: _has_run(uptake_home))
    time.sleep(kill_after_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    [killed] = _runs(uptake_home)
    partial = list((uptake_home / "runs").glob("*/*parquet*")) if (uptake_home / "runs").exists() else []
    print(f"killed after {kill_after_s} s: {killed.status}, files {[p.name for p in partial]}")
    if killed.status == SUCCEEDED:  # finished before the kill: every flag is there
        assert _flag_count(uptake_home) == killed.flags_count
        return
    assert killed.status == RUNNING
    assert _flag_count(uptake_home) == 0

    listed = subprocess.run(
        [sys.executable, "-m", "uptake", "runs", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0
    [after] = _runs(uptake_home)
    assert after.status == FAILED and "interrompue" in (after.error_summary or "")
    assert _flag_count(uptake_home) == 0
    run_dir = uptake_home / "runs" / str(after.id)
    assert not run_dir.exists() or not any(run_dir.iterdir())


def test_ctrl_c_during_a_run_says_so_records_the_run_interrupted_and_publishes_nothing(
    extract: Path, uptake_home: Path
) -> None:
    env = {**os.environ, "UPTAKE_HOME": str(uptake_home), STEP_DELAY_ENV: "1", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uptake", "run", "--extract", str(extract)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(lambda: _has_run(uptake_home))
    time.sleep(0.3)  # before the evaluation: one second per step
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130
    assert "Exécution interrompue par l'utilisateur (Ctrl-C) : aucun drapeau n'a été publié" in " ".join(
        stderr.split()
    )
    assert "Traceback" not in stderr
    [run] = _runs(uptake_home)
    assert run.status == FAILED and "Ctrl-C" in (run.error_summary or "")
    assert _flag_count(uptake_home) == 0


def test_runs_list_shows_the_runs_of_one_status_on_request(cli, extract: Path, tmp_path: Path) -> None:
    bad = tmp_path / "mauvais.csv"
    bad.write_text("id_foyer,x\nabc,1\n", encoding="utf-8")
    assert cli("run", "--extract", str(bad)).code == 2
    assert cli("run", "--extract", str(extract)).code == 0

    rejected = cli("runs", "list", "--statut", "rejeté")
    assert rejected.code == 0 and "mauvais.csv" in rejected.stdout and "foyers.parquet" not in rejected.stdout
    succeeded = cli("runs", "list", "--statut", "réussi")
    assert "foyers.parquet" in succeeded.stdout and "mauvais.csv" not in succeeded.stdout
    assert "Aucune exécution au statut « échoué »" in cli("runs", "list", "--statut", "échoué").stdout
    wrong = cli("runs", "list", "--statut", "ok")
    assert wrong.code == 2 and "« ok » n'est pas un statut" in " ".join(wrong.stderr.split())


def test_uptake_purge_deletes_the_flags_and_dropped_extracts_past_their_retention_and_runs_show_says_so(
    cli, extract: Path, uptake_home: Path, tmp_path: Path
) -> None:
    assert cli("run", "--extract", str(extract)).code == 0
    [run] = _runs(uptake_home)
    flags_file = Path(run.flags_path or "")
    depot = tmp_path / "depot"
    (depot / "archive").mkdir(parents=True)
    old_extract, recent_extract = depot / "archive" / "2025-01.parquet", depot / "archive" / "2025-12.parquet"
    for path, days_ago in ((old_extract, 220), (recent_extract, 20)):
        path.write_bytes(b"PAR1")
        dropped = time.time() - days_ago * 86_400
        os.utime(path, (dropped, dropped))
    assert "drapeaux de 0 exécution(s)" in cli("purge", "--depot", str(depot)).stdout and flags_file.exists()
    assert old_extract.exists()  # kept 12 months by default

    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    try:
        with Session(engine) as session, session.begin():  # finished seven months ago
            session.get_one(DetectionRun, run.id).finished_at = run.finished_at - dt.timedelta(days=213)
    finally:
        engine.dispose()
    purged = cli("purge", "--drapeaux-mois", "6", "--depot", str(depot))

    assert purged.code == 0, purged.output
    said = " ".join(purged.stdout.split())
    assert "Détection : drapeaux de 1 exécution(s) terminée(s) avant le" in said
    assert f"({french.count(run.flags_count)} drapeau(x), 1 fichier(s)) et 1 fichier(s) d'extraits" in said
    assert _flag_count(uptake_home) == 0 and not flags_file.exists()
    assert not old_extract.exists() and recent_extract.exists()
    shown = " ".join(cli("runs", "show", str(run.id)).stdout.split())
    assert "supprimé avec les drapeaux le" in shown and "(fin de conservation)" in shown
    assert cli("purge", "--drapeaux-mois", "0").code == 2
    typo = cli("purge", "--depot", str(tmp_path / "depto"))
    assert typo.code == 2 and "le dossier de dépôt" in typo.stderr and "n'existe pas" in typo.stderr
    # An empty value would be the current folder, and purge its archive/ and rejete/ folders.
    empty = cli("purge", "--depot", "")
    assert empty.code == 2 and "chemin vide" in " ".join(empty.stderr.split())


def test_an_empty_rule_list_is_refused_rather_than_running_every_rule(cli, extract: Path) -> None:
    result = cli("run", "--extract", str(extract), "--rules", " , ")
    assert result.code == 2
    assert "aucune règle donnée" in " ".join(result.stderr.split())
    assert "Aucune exécution" in cli("runs", "list").stdout


def test_the_columns_outside_the_contract_ignored_are_named_in_the_run_summary_and_runs_show(
    cli, extract: Path, tmp_path: Path
) -> None:
    wider = tmp_path / "foyers-colonnes.parquet"
    pl.read_parquet(extract).with_columns(segment=pl.lit("A"), score_interne=pl.lit(0.5)).write_parquet(wider)

    ran = cli("run", "--extract", str(wider))

    assert ran.code == 0, ran.output
    said = " ".join(ran.stdout.split())
    assert "Colonnes hors contrat ignorées │ segment, score_interne" in said
    shown = " ".join(cli("runs", "show", "1").stdout.split())
    assert "Colonnes hors contrat ignorées │ segment, score_interne" in shown
    # An extract with none of them says so rather than leaving the reader to guess.
    assert cli("run", "--extract", str(extract)).code == 0
    assert "Colonnes hors contrat ignorées │ aucune" in " ".join(cli("runs", "show", "2").stdout.split())
