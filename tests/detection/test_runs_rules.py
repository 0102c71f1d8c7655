"""Which rules a run used: kept with the run, a rule's content bound to its version, another folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from detection.errors import RuleChangedWithoutVersion, RuleVersionWentBack
from detection.geography import Geography
from detection.records import DetectionRun
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from rules.parameters import default_parameters_dir
from tests.catalogues import RULE, catalogue_copy, edit_rule


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory, geography: Geography) -> Path:
    path = tmp_path_factory.mktemp("extrait") / "foyers.parquet"
    communes = commune_table(geography.reference, geography.territory.communes)
    write_synthetic(SynthesisSpec(households=600, seed=5), communes, path)
    return path


def test_a_run_keeps_each_rule_version_digest_and_the_parameter_values_it_used(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    run = DetectionRunner(engine, geography, tmp_path).run(RunRequest(extract)).run
    with Session(engine) as session:
        record = session.get_one(DetectionRun, run.id).rules_record
    assert record is not None
    assert record["regles"][RULE]["version"] == "1.1.0" and len(record["regles"][RULE]["empreinte"]) == 16
    ceiling = record["parametres"]["al.plafond_loyer_seul"]
    assert set(ceiling["valeur"]) == {"1", "2", "3"} and ceiling["source"] and ceiling["depuis"]
    assert record["reglages"][RULE]


def test_a_rule_changed_without_a_new_version_is_refused_until_its_version_is_raised(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    runner = DetectionRunner(engine, geography, tmp_path)
    runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder))
    edit_rule(folder, "expression: loyer > 0 et", "expression: loyer > 10 et")

    with pytest.raises(RuleChangedWithoutVersion) as refused:
        runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder, force=True))
    assert f"{RULE} (version 1.1.0" in str(refused.value) and "montez" in str(refused.value)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionRun)) == 1

    edit_rule(folder, 'version: "1.1.0"', 'version: "1.2.0"')
    changed = runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder))
    # A new version is a new run (not "already processed"), and it applied the changed rule.
    assert not changed.reused and changed.run.rule_versions == {RULE: "1.2.0"}


def test_a_new_content_under_a_lower_version_is_refused_but_undoing_a_change_is_not(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path
) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    runner = DetectionRunner(engine, geography, tmp_path)
    runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder))
    edit_rule(folder, 'version: "1.1.0"', 'version: "1.10.0"')
    edit_rule(folder, "expression: loyer > 0 et", "expression: loyer > 10 et")
    runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder))

    # 1.9.0 reads below 1.10.0 (numbers, not text): a new content there would pass for an older one.
    edit_rule(folder, 'version: "1.10.0"', 'version: "1.9.0"')
    with pytest.raises(RuleVersionWentBack) as refused:
        runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder, force=True))
    message = str(refused.value)
    assert f"{RULE} (version 1.9.0" in message and "version 1.10.0" in message and "n° 2" in message
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionRun)) == 2

    # Back to the content and version of the first run: that rule is known, the run goes ahead.
    edit_rule(folder, 'version: "1.9.0"', 'version: "1.1.0"')
    edit_rule(folder, "expression: loyer > 10 et", "expression: loyer > 0 et")
    undone = runner.run(RunRequest(extract, rule_ids=(RULE,), catalogue_dir=folder, force=True))
    assert undone.run.rule_versions == {RULE: "1.1.0"}


def test_uptake_run_takes_the_rules_and_parameters_folders_given(cli, extract: Path, tmp_path: Path) -> None:
    folder = catalogue_copy(tmp_path / "catalogue")
    edit_rule(folder, 'version: "1.1.0"', 'version: "9.0.0"')
    parameters = tmp_path / "parametres"
    shutil.copytree(default_parameters_dir(), parameters)
    out = tmp_path / "sortie"

    result = cli(
        "run", "-e", str(extract), "-r", RULE, "--catalogue", str(folder), "--parametres", str(parameters),
        "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.output
    shown = cli("runs", "show", "1").stdout
    assert "9.0.0" in shown
    # The content digest the run kept is shown beside the version.
    assert re.search(r"impaye_locatif\s*│\s*9\.0\.0\s*│\s*[0-9a-f]{16}\s*│", shown), shown
    missing = cli("run", "-e", str(extract), "--catalogue", str(tmp_path / "nulle-part"))
    assert missing.code == 2 and "nulle-part" in missing.output


def test_a_relative_output_folder_is_recorded_absolute_so_that_the_purge_finds_its_file(
    engine: Engine, geography: Geography, extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = DetectionRunner(engine, geography, tmp_path)
    run = runner.run(RunRequest(extract, rule_ids=(RULE,), out_dir=Path("sortie"))).run
    assert run.flags_path == str(tmp_path / "sortie" / "flags.parquet")


def test_runs_show_gives_the_parameter_values_and_settings_the_run_used_even_after_the_files_change(
    cli, extract: Path, tmp_path: Path
) -> None:
    parameters = tmp_path / "parametres"
    shutil.copytree(default_parameters_dir(), parameters)
    al = parameters / "al.yaml"
    # The value in force in the synthetic extract's month (2025-06).
    shipped = "valeur: {1: 329.71, 2: 287.35, 3: 269.32}"
    assert shipped in al.read_text(encoding="utf-8")
    al.write_text(
        al.read_text(encoding="utf-8").replace(shipped, "valeur: {1: 401.5, 2: 287.35, 3: 269.32}"),
        encoding="utf-8",
    )
    assert (
        cli("run", "-e", str(extract), "--parametres", str(parameters), "--out", str(tmp_path / "o")).code
        == 0
    )
    al.write_text(al.read_text(encoding="utf-8").replace("401.5", "999"), encoding="utf-8")

    shown = " ".join(cli("runs", "show", "1").stdout.split())
    assert "Paramètres utilisés" in shown and "Réglages des règles" in shown
    # The value the run used, with its date and source.
    assert re.search(
        r"al\.plafond_loyer_seul │ 1 : 401,5 ; 2 : 287,35 ; 3 : 269,32 │ 01/10/2024 │ Arrêté", shown
    )
    assert "999" not in shown
    assert re.search(r"impaye_locatif │ mois_impayes_minimum │ 2 │", shown), shown
