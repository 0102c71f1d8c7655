"""`uptake campaigns check` reports every broken campaign file in one pass, and `campaigns list` still
shows the valid campaigns and the launches when one file is broken."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import CONFIG_DIR, CliResult
from tests.outreach.conftest import world_in_home
from tests.outreach.factories import launch_row

SHIPPED = "action-2-2-non-recours"


def _config(tmp_path: Path, broken: dict[str, tuple[str, str]]) -> Path:
    """A copy of the configuration plus, for each name, a copy of the 2.2 campaign with one text
    replaced."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    text = (config / "campaigns" / f"{SHIPPED}.toml").read_text(encoding="utf-8")
    for name, (old, new) in broken.items():
        assert old in text
        (config / "campaigns" / f"{name}.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return config


def _said(result: CliResult) -> str:
    return " ".join(result.output.split())


BROKEN = {
    "t1-modele": ('modele = "2-2-courriel"', 'modele = "2-2-courriell"'),
    "t2-canal": ('canal = "email"', 'canal = "mail"'),
    "t3-heure": ("heure_debut = 09:00:00", "heure_debut = 9"),
    "t4-fuseau": ("[fenetres]\n", '[fenetres]\nfuseau = "Europe/Pariss"\n'),
}


def test_campaigns_check_reports_every_broken_file_in_one_pass(cli, tmp_path: Path) -> None:
    config = _config(tmp_path, BROKEN)
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("register", "load", env=env).code == 0
    result = cli("campaigns", "check", env=env)
    said = _said(result)
    assert result.code == 2, said
    assert "t1-modele.toml : tentative 2 : clé `modele` : modèle introuvable" in said
    assert re.search(r"t2-canal.toml : tentative 2 : ligne \d+, clé `canal`", said)
    assert re.search(
        r"t3-heure.toml : ligne \d+, clé `fenetres.heure_debut` : « 9 » n'est pas une heure", said
    )
    assert re.search(
        r"t4-fuseau.toml : ligne \d+, clé `fenetres.fuseau` : fuseau horaire « Europe/Pariss » inconnu", said
    )
    assert f"✓ {SHIPPED}" in said and "✓ action-7-1-logement" in said
    assert "4 fichier(s) de campagne sur 6 à corriger" in said
    assert "Erreur interne" not in said


def test_campaigns_check_refuses_filters_and_an_exchange_that_select_nobody(cli, tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {"u01": ("[geographie]\n", '[geographie]\ncommunes = ["04999"]\nperimetres = ["OPAH-RU"]\n')},
    )
    path = config / "campaigns" / "u01.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("# echange = 1", "echange = 42"), encoding="utf-8"
    )
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("register", "load", env=env).code == 0
    result = cli("campaigns", "check", "u01", env=env)
    said = _said(result)
    assert result.code == 2, said
    assert "clé `geographie.communes` : la commune « 04999 » n'est pas dans le territoire configuré" in said
    assert "clé `geographie.perimetres` : périmètre « OPAH-RU » inconnu" in said
    assert "Vouliez-vous dire « OPAH » ?" in said
    assert "clé `campagne.echange` : l'échange n°42 n'existe pas" in said


def test_campaigns_list_shows_valid_campaigns_and_launches_and_names_the_broken_file(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    world = world_in_home(uptake_home, tmp_path)
    with Session(world.engine) as session, session.begin():
        session.add(launch_row(nb_signales=731))
    world.engine.dispose()
    config = _config(tmp_path, {"t2-canal": BROKEN["t2-canal"]})
    result = cli("campaigns", "list", env={"UPTAKE_CONFIG": str(config)})
    said = _said(result)
    assert result.code == 0, said
    assert SHIPPED in result.stdout and "action-7-1-logement" in result.stdout
    assert "Derniers lancements" in result.stdout and "731" in result.stdout
    assert "t2-canal" not in result.stdout
    assert "Fichier de campagne à corriger" in said and "t2-canal.toml : tentative 2 : ligne" in said


def test_uptake_check_names_every_broken_campaign_file_and_filters_selecting_nobody(
    cli, tmp_path: Path
) -> None:
    broken = {
        **{name: BROKEN[name] for name in ("t1-modele", "t4-fuseau")},
        "t5-commune": ("[geographie]\n", '[geographie]\ncommunes = ["04999"]\n'),
    }
    config = _config(tmp_path, broken)
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("register", "load", env=env).code == 0
    said = _said(cli("check", env=env))
    assert "t1-modele.toml" in said and "t4-fuseau.toml" in said and "t5-commune.toml" in said
    assert "04999" in said
