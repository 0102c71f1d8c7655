"""The territory configuration: the default loads, and every bad file names its path, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.errors import ConfigInvalid
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR

DEFAULT = (CONFIG_DIR / "territoire.toml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "territoire.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_territory_is_the_13_communes_of_the_epci() -> None:
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    assert territory.epci == "240400440"
    assert len(territory.communes) == 13
    assert "04088" in territory.communes
    assert territory.service_points
    assert territory.perimeter_communes("OPAH") == {"04088"}


def test_unknown_commune_in_a_perimeter_is_named_with_its_key(tmp_path: Path) -> None:
    path = _write(tmp_path, DEFAULT.replace('communes = ["04088"]', 'communes = ["99999"]'))
    with pytest.raises(ConfigInvalid) as err:
        load_territory(path)
    assert err.value.key == "perimetres[0].communes"
    assert "99999" in str(err.value)
    assert str(path) in str(err.value)


def test_wrong_type_is_reported_with_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, DEFAULT.replace("part_communes = 0.3", 'part_communes = "beaucoup"'))
    with pytest.raises(ConfigInvalid) as err:
        load_territory(path)
    assert err.value.key == "eloignement.part_communes"
    assert "nombre" in err.value.fix


def test_missing_key_is_reported(tmp_path: Path) -> None:
    text = DEFAULT.replace('nom = "Communauté de communes Pays Forcalquier et Montagne de Lure"', "")
    with pytest.raises(ConfigInvalid) as err:
        load_territory(_write(tmp_path, text))
    assert err.value.key == "territoire.nom"
    assert err.value.fix == "ajoutez cette clé"


def test_misspelt_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as err:
        load_territory(_write(tmp_path, DEFAULT.replace("[eloignement]", "[eloignemnt]")))
    assert "eloignemnt" in err.value.key


def test_broken_toml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="TOML"):
        load_territory(_write(tmp_path, "[territoire\nnom = "))
