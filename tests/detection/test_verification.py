"""A run applies only rules whose own test cases pass, verified once per content and recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from detection.geography import Geography
from detection.imports import ImportRecord
from detection.records import DetectionFlag, DetectionRun
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from detection.verification import CACHE_ENV, CasesFailed, CaseVerification
from rules.parameters import default_parameters_dir
from tests.catalogues import RIGHT_CASE, RULE, WRONG_CASE, catalogue_copy, edit_file, edit_rule
from uptake.db import make_engine, upgrade

# Each database verifies the cases itself here: what is proved is the database's record.
pytestmark = pytest.mark.usefixtures("no_shared_verdicts")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory, geography: Geography) -> Path:
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    communes = commune_table(geography.reference, geography.territory.communes)
    write_synthetic(SynthesisSpec(households=400, seed=7), communes, path)
    return path


def _verifications(engine: Engine) -> dict[str, list[tuple[int, object]]]:
    """Rule id → its recorded verifications (row id, time), oldest first."""
    found: dict[str, list[tuple[int, object]]] = {}
    with Session(engine) as session:
        for row in session.scalars(select(CaseVerification).order_by(CaseVerification.id)):
            found.setdefault(row.rule_id, []).append((row.id, row.verified_at))
    return found


def _count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_catalogue_whose_case_fails_is_refused_before_the_extract_is_read_and_nothing_is_written(
    engine: Engine, geography: Geography, tmp_path: Path
) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    edit_rule(folder, RIGHT_CASE, WRONG_CASE)
    # No such file: a run that read the extract would reject it (and record the rejection).
    missing = tmp_path / "absent.parquet"

    with pytest.raises(CasesFailed) as refused:
        DetectionRunner(engine, geography, tmp_path).run(RunRequest(missing, catalogue_dir=folder))

    said = str(refused.value)
    assert said.startswith(f"catalogue refusé : 1 cas de test en échec, règle(s) {RULE} (1 cas sur 5)")
    assert f"« uptake rules test --regle {RULE} »" in said and "--rules" in said
    assert "Rien n'a été exécuté, aucun drapeau écrit" in said
    assert refused.value.exit_code == 2
    for table in (DetectionRun, DetectionFlag, ImportRecord):
        assert _count(engine, table) == 0
    assert not (tmp_path / "runs").exists()


def test_once_the_case_is_fixed_the_run_goes_and_its_verification_is_reused_by_the_next_run(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    edit_rule(folder, RIGHT_CASE, WRONG_CASE)
    runner = DetectionRunner(engine, geography, tmp_path)
    with pytest.raises(CasesFailed):
        runner.run(RunRequest(extract, catalogue_dir=folder))
    refused = _verifications(engine)
    assert len(refused[RULE]) == 1 and all(len(rows) == 1 for rows in refused.values())

    edit_rule(folder, WRONG_CASE, RIGHT_CASE)
    first = runner.run(RunRequest(extract, catalogue_dir=folder)).run
    assert first.status == "succeeded" and first.flags_count
    verified = _verifications(engine)
    # Only the edited rule's cases ran again; the others' verdicts were read from their records.
    assert len(verified[RULE]) == 2
    assert {rule: rows for rule, rows in verified.items() if rule != RULE} == {
        rule: rows for rule, rows in refused.items() if rule != RULE
    }

    again = runner.run(RunRequest(extract, catalogue_dir=folder, force=True)).run
    assert again.status == "succeeded"
    assert _verifications(engine) == verified  # nothing run, nothing recorded again


def test_a_run_trusts_the_recorded_verdict_rather_than_running_the_cases_again(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    runner = DetectionRunner(engine, geography, tmp_path)
    runner.run(RunRequest(extract, rule_ids=(RULE,)))
    # As if another host had found a failing case for this very content: the record is what counts.
    with Session(engine) as session, session.begin():
        session.execute(update(CaseVerification).where(CaseVerification.rule_id == RULE).values(failed=2))

    with pytest.raises(CasesFailed) as refused:
        runner.run(RunRequest(extract, rule_ids=(RULE,), force=True))
    assert f"règle(s) {RULE} (2 cas sur 5)" in str(refused.value)
    assert _count(engine, DetectionRun) == 1


def test_a_run_of_some_rules_verifies_only_those(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    edit_rule(folder, RIGHT_CASE, WRONG_CASE)

    outcome = DetectionRunner(engine, geography, tmp_path).run(
        RunRequest(extract, rule_ids=("ppa_non_recours",), catalogue_dir=folder)
    )

    assert outcome.run.status == "succeeded"
    assert set(_verifications(engine)) == {"ppa_non_recours"}


def test_a_parameter_change_verifies_again_the_rules_that_use_it(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    parameters = tmp_path / "parametres"
    shutil.copytree(default_parameters_dir(), parameters)
    runner = DetectionRunner(engine, geography, tmp_path)
    runner.run(RunRequest(extract, parameters_dir=parameters))
    before = _verifications(engine)

    # Only its source changes: the flags record it, so the cases are verified against it again.
    edit_file(parameters / "smic.yaml", "Décret n° 2023-1216 du 20 décembre 2023", "Décret n° 2023-1216 (JO)")
    runner.run(RunRequest(extract, parameters_dir=parameters, force=True))

    after = _verifications(engine)
    assert len(after["ppa_non_recours"]) == 2  # the rule that uses the SMIC
    assert after[RULE] == before[RULE]


def test_cases_written_for_another_territory_do_not_stop_its_runs(engine: Engine, tmp_path: Path) -> None:
    # Marseille: the shipped cases naming Forcalquier's communes fail there, the rules being right.
    config = tmp_path / "territoire.toml"
    config.write_text(
        '[territoire]\nnom = "Essai"\ncommunes = ["13055"]\n\n'
        '[[points_service]]\nnom = "Caf"\ncommune = "13055"\n\n'
        '[[perimetres]]\nnom = "OPAH"\ntype = "OPAH"\ncommunes = ["13055"]\n\n'
        '[[perimetres]]\nnom = "PIG"\ntype = "PIG"\ncommunes = ["13055"]\n',
        encoding="utf-8",
    )
    elsewhere = Geography.of(load_territory(config))
    extract = tmp_path / "marseille.parquet"
    write_synthetic(
        SynthesisSpec(households=200, seed=3), commune_table(elsewhere.reference, ["13055"]), extract
    )

    outcome = DetectionRunner(engine, elsewhere, tmp_path).run(RunRequest(extract))

    assert outcome.run.status == "succeeded"
    with Session(engine) as session:
        recorded = {
            row.rule_id: (row.failed, row.elsewhere) for row in session.scalars(select(CaseVerification))
        }
    assert any(failed for failed, _ in recorded.values())
    assert all(failed == outside for failed, outside in recorded.values())


def test_a_verdict_shared_between_data_folders_of_a_host_is_recorded_in_the_other_database(
    engine: Engine,
    geography: Geography,
    extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(shared))
    first = make_engine(f"sqlite:///{tmp_path / 'autre.sqlite3'}")
    upgrade(first)
    DetectionRunner(first, geography, tmp_path / "autre").run(RunRequest(extract, rule_ids=(RULE,)))
    first.dispose()
    kept = list((shared / "verdicts-cas").glob("*.json"))
    assert len(kept) == 1
    # As if this host's first folder had found a failing case: the shared verdict is what counts.
    verdict = json.loads(kept[0].read_text(encoding="utf-8"))
    kept[0].write_text(json.dumps({**verdict, "echecs": 1}), encoding="utf-8")

    with pytest.raises(CasesFailed) as refused:
        DetectionRunner(engine, geography, tmp_path).run(RunRequest(extract, rule_ids=(RULE,)))

    assert f"règle(s) {RULE} (1 cas sur 5)" in str(refused.value)
    recorded = _verifications(engine)  # recorded here too, without its cases run again
    assert list(recorded) == [RULE] and len(recorded[RULE]) == 1


def test_an_unreadable_shared_verdict_is_worked_out_again(
    engine: Engine,
    geography: Geography,
    extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shared = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(shared))
    runner = DetectionRunner(engine, geography, tmp_path)
    runner.run(RunRequest(extract, rule_ids=(RULE,)))
    (kept,) = (shared / "verdicts-cas").glob("*.json")
    kept.write_text('{"cas": ', encoding="utf-8")  # cut short
    with Session(engine) as session, session.begin():
        session.execute(delete(CaseVerification))

    outcome = runner.run(RunRequest(extract, rule_ids=(RULE,), force=True))

    assert outcome.run.status == "succeeded"
    assert "verdict partagé illisible" in caplog.text
    assert json.loads(kept.read_text(encoding="utf-8"))["echecs"] == 0  # written whole again
