"""`uptake campaigns check` and `uptake check` refuse what the launch would stumble on: a rule or a
register entry that does not exist, a template that does not render; always in French."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import CONFIG_DIR, CliResult

CAMPAIGN = "action-2-2-non-recours"


def _config(tmp_path: Path, old: str, new: str, file: str = f"campaigns/{CAMPAIGN}.toml") -> Path:
    """A copy of the configuration with one text replaced in one of its files."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    path = config / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return config


def _said(result: CliResult) -> str:
    return " ".join(result.output.split())


def test_campaigns_check_refuses_a_mistyped_rule_naming_the_closest(cli, tmp_path: Path) -> None:
    config = _config(tmp_path, '"al_non_recours"]', '"al_non_recourss"]')
    result = cli("campaigns", "check", env={"UPTAKE_CONFIG": str(config)})
    assert result.code == 2
    assert (
        "clé `campagne.regles` : règle « al_non_recourss » absente du catalogue. Corrigez le nom : "
        "la règle la plus proche est « al_non_recours », ou retirez-la de la liste si elle a quitté le "
        "catalogue."
    ) in _said(result)


def test_campaigns_check_refuses_a_register_entry_absent_from_the_loaded_register(
    cli, tmp_path: Path
) -> None:
    config = _config(tmp_path, 'registre = "CTG-FORCALQUIER-DROITS"', 'registre = "CTG-FORCALQUIER"')
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("register", "load", env=env).code == 0
    result = cli("campaigns", "check", CAMPAIGN, env=env)
    assert result.code == 2
    said = _said(result)
    assert f"{CAMPAIGN}.toml : clé `campagne.registre` : fiche « CTG-FORCALQUIER » absente" in said
    assert "la fiche la plus proche est « CTG-FORCALQUIER-DROITS »" in said


def test_campaigns_check_tells_a_broken_sms_template_in_french_with_its_line(cli, tmp_path: Path) -> None:
    config = _config(
        tmp_path, "{{ mention_droits_courte }}", "{{ mention_droits_courte", "templates/2-2-sms.txt.j2"
    )
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("register", "load", env=env).code == 0
    result = cli("campaigns", "check", CAMPAIGN, env=env)
    said = _said(result)
    assert result.code == 2
    assert f"modèle `{config / 'templates' / '2-2-sms.txt.j2'}` refusé, ligne 1" in said
    assert "n'est pas fermée, il manque }}" in said
    assert "TemplateSyntaxError" not in said and ".." not in said and "Erreur interne" not in said


def test_uptake_check_finds_a_mistyped_rule_in_a_campaign(cli, tmp_path: Path) -> None:
    config = _config(tmp_path, '"al_non_recours"]', '"al_non_recourss"]')
    result = cli("check", env={"UPTAKE_CONFIG": str(config)})
    said = _said(result)
    assert result.code == 1
    assert "✗ Campagnes :" in said and "la règle la plus proche est « al_non_recours »" in said
