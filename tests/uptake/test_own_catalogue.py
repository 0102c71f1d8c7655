"""An installation's own rules (`UPTAKE_REGLES`): used by every command and by the scheduled run,
not only where `--catalogue` is typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.reference import load_reference
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from tests.catalogues import RULE, catalogue_copy, edit_rule
from tests.conftest import CONFIG_DIR
from uptake.settings import load_settings


@pytest.fixture
def own_rules(tmp_path: Path) -> Path:
    """A copy of the shipped catalogue where one rule is at version 9.0.0."""
    folder = catalogue_copy(tmp_path / "regles-caf")
    edit_rule(folder, 'version: "1.1.0"', 'version: "9.0.0"')
    return folder


def test_the_variables_name_the_installations_rules_and_parameters_absolute(tmp_path: Path) -> None:
    settings = load_settings(
        {"UPTAKE_HOME": str(tmp_path), "UPTAKE_REGLES": "regles", "UPTAKE_PARAMETRES": ""}
    )
    assert settings.catalogue_dir == Path("regles").resolve() and settings.catalogue_dir.is_absolute()
    assert settings.parameters_dir is None  # empty counts as unset: the shipped parameters


def test_rules_commands_check_and_a_run_use_the_rules_the_variable_names(
    cli, own_rules: Path, tmp_path: Path
) -> None:
    env = {"UPTAKE_REGLES": str(own_rules)}
    explained = cli("rules", "explain", RULE, env=env)
    assert explained.code == 0 and "9.0.0" in explained.stdout
    checked = " ".join(cli("check", env=env).stdout.split())
    assert f"règles de {own_rules}" in checked

    extract = tmp_path / "foyers.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    write_synthetic(
        SynthesisSpec(households=300, seed=2), commune_table(load_reference(), territory.communes), extract
    )
    run = cli("run", "-e", str(extract), "-r", RULE, env=env)
    assert run.code == 0, run.output
    assert "9.0.0" in cli("runs", "show", "1").stdout

    # A folder that does not exist is said, not replaced by the shipped catalogue.
    missing = cli("rules", "check", env={"UPTAKE_REGLES": str(tmp_path / "nulle-part")})
    assert missing.code == 2 and "nulle-part" in missing.output


def test_check_tells_a_rule_edited_under_a_version_a_run_used_before_the_next_run_refuses_it(
    cli, own_rules: Path, tmp_path: Path
) -> None:
    env = {"UPTAKE_REGLES": str(own_rules)}
    extract = tmp_path / "foyers.parquet"
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    write_synthetic(
        SynthesisSpec(households=300, seed=2), commune_table(load_reference(), territory.communes), extract
    )
    assert cli("run", "-e", str(extract), "-r", RULE, env=env).code == 0
    path = own_rules / f"{RULE}.yaml"
    # Its label and the cases that read it: the rule is right, only its version is not.
    edited_text = path.read_text(encoding="utf-8").replace(
        "libelle: locataire\n", "libelle: locataire du parc\n"
    )
    path.write_text(
        edited_text.replace("conditions: locataire ;", "conditions: locataire du parc ;"), "utf-8"
    )

    edited = " ".join(cli("check", env=env).stdout.split())

    assert (
        "✗ Règles et paramètres : règle modifiée sans changer de version : impaye_locatif (version 9.0.0"
        in (edited)
    )
    assert "montez le champ `version`" in edited and "sinon la prochaine exécution la refuse" in edited
    path.write_text(path.read_text(encoding="utf-8").replace('"9.0.0"', '"9.1.0"'), "utf-8")
    assert "✓ Règles et paramètres" in cli("check", env=env).stdout


def test_check_is_not_ready_while_a_rules_own_cases_fail(cli, own_rules: Path) -> None:
    path = own_rules / f"{RULE}.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("priorite: 1\n", "priorite: 2\n", 1), "utf-8")

    said = " ".join(cli("check", env={"UPTAKE_REGLES": str(own_rules)}).stdout.split())

    assert (
        "✗ Règles et paramètres : 1 cas de test en échec, règle(s) impaye_locatif (1 cas sur 5) : ces "
        "règles ne calculent pas ce que leurs cas attendent. Le détail : « uptake rules test --regle "
        "impaye_locatif » ; corrigez la règle (en montant sa version) ou ses cas ; d'ici là, les "
        "exécutions refusent ce catalogue"
    ) in said
