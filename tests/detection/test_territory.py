"""The territory configuration: the default loads, and every bad file names its path, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.errors import ConfigInvalid
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR

DEFAULT = (CONFIG_DIR / "territoire.toml").read_text(encoding="utf-8")

# A Réunion Caf's territory, as a reviewer from La Réunion wrote it: the CIREST (six communes).
REUNION = """\
[territoire]
nom = "CIREST"
epci = "249740093"

[[points_service]]
nom = "Maison France Services de Saint-André"
commune = "97409"

[[points_service]]
nom = "Antenne de Hell-Bourg"
commune = "97421"
latitude = -21.0647
longitude = 55.5186

[[perimetres]]
nom = "PIG CIREST"
type = "PIG"
communes = ["97402", "97409", "97410", "97421"]
"""
HELL_BOURG = "latitude = -21.0647\nlongitude = 55.5186"


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
    assert err.value.key == "perimetres n°1.communes"
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


def _refused(path: Path) -> ConfigInvalid:
    with pytest.raises(ConfigInvalid) as err:
        load_territory(path)
    return err.value


def test_a_service_point_with_its_own_coordinates_near_its_commune_is_used(tmp_path: Path) -> None:
    territory = load_territory(_write(tmp_path, REUNION))
    assert (territory.service_points[1].latitude, territory.service_points[1].longitude) == (
        -21.0647,
        55.5186,
    )


@pytest.mark.parametrize(
    ("kept", "given", "missing"),
    [("latitude = -21.0647", "latitude", "longitude"), ("longitude = 55.5186", "longitude", "latitude")],
)
def test_a_service_point_with_one_coordinate_only_is_refused_naming_the_point_and_the_missing_key(
    tmp_path: Path, kept: str, given: str, missing: str
) -> None:
    refused = _refused(_write(tmp_path, REUNION.replace(HELL_BOURG, kept)))
    assert refused.key == "points_service n°2"
    assert refused.line == 9  # its [[points_service]] line
    assert f"point de service « Antenne de Hell-Bourg » : `{given}` est donnée sans `{missing}`" in str(
        refused
    )
    assert refused.fix.startswith(f"ajoutez `{missing}`")


def test_swapped_coordinates_are_refused_as_latitude_and_longitude_inverted(tmp_path: Path) -> None:
    path = _write(tmp_path, REUNION.replace(HELL_BOURG, "latitude = 55.5186\nlongitude = -21.0647"))
    refused = _refused(path)
    assert str(refused) == (
        f"{path} : ligne 12, clé `points_service n°2.latitude` : point de service "
        "« Antenne de Hell-Bourg » : latitude 55.5186 et longitude -21.0647 le placent à 11\u202f118\u202fkm "
        "de la mairie de 97421 Salazie, plus loin qu'une commune ne s'étend (45\u202fkm au plus) : "
        "latitude et longitude inversées ? "
        "Écrivez latitude = -21.0647 et longitude = 55.5186."
    )


def test_coordinates_far_from_the_commune_are_refused_with_its_town_hall_point(tmp_path: Path) -> None:
    # Saint-Denis' coordinates given for a point of Salazie: 23 km, a neighbour; the airport, 60 km off.
    path = _write(tmp_path, REUNION.replace(HELL_BOURG, "latitude = -20.5\nlongitude = 55.2"))
    refused = _refused(path)
    assert "le placent à 68\u202fkm de la mairie de 97421 Salazie" in str(refused)
    assert "inversées" not in str(refused)
    assert "la mairie de Salazie est à latitude -21.02721, longitude 55.53947" in refused.fix


@pytest.mark.parametrize(
    ("commune", "latitude", "longitude"),
    [
        ("13004", 43.41, 4.73),  # Salin-de-Giraud, 31 km from Arles' town hall: a commune may be that wide
        ("97356", 2.25, -52.87),  # Trois-Sauts, 118 km from Camopi's: French Guiana's communes are wider
    ],
)
def test_a_service_point_far_from_the_town_hall_but_within_a_wide_commune_is_accepted(
    tmp_path: Path, commune: str, latitude: float, longitude: float
) -> None:
    text = REUNION.replace(HELL_BOURG, f"latitude = {latitude}\nlongitude = {longitude}").replace(
        'commune = "97421"', f'commune = "{commune}"'
    )
    assert load_territory(_write(tmp_path, text)).service_points[1].commune == commune


def test_the_shipped_national_service_points_lie_within_their_communes() -> None:
    assert len(load_territory(CONFIG_DIR / "national.toml").service_points) > 90


def test_a_perimeter_commune_outside_the_territory_is_refused_with_its_name(tmp_path: Path) -> None:
    path = _write(tmp_path, REUNION.replace('"97410", "97421"]', '"97410", "97421", "97411"]'))
    refused = _refused(path)
    assert refused.key == "perimetres n°1.communes"
    assert str(refused) == (
        f"{path} : ligne 18, clé `perimetres n°1.communes` : périmètre « PIG CIREST » : la commune "
        "97411 Saint-Denis est hors du territoire. Retirez-la du périmètre : il ne compte que les communes "
        "du territoire."
    )


def test_a_perimeter_with_an_unknown_commune_and_one_outside_tells_both(tmp_path: Path) -> None:
    path = _write(tmp_path, REUNION.replace('"97410", "97421"]', '"97410", "97421", "97411", "97499"]'))
    problems = [p.problem for p in _refused(path).problems]
    assert problems == [
        "code commune inconnu `97499`",
        "périmètre « PIG CIREST » : la commune 97411 Saint-Denis est hors du territoire",
    ]


def test_a_territory_mixing_time_zones_is_refused_naming_the_communes_of_each(tmp_path: Path) -> None:
    text = REUNION.replace('epci = "249740093"', 'communes = ["97402", "97409", "97410", "97421", "04088"]')
    refused = _refused(_write(tmp_path, text))
    assert refused.key == "territoire.communes" and refused.line == 3
    assert refused.problem == (
        "les communes du territoire sont dans 2 fuseaux horaires (Europe/Paris : 04088 Forcalquier ; "
        "Indian/Reunion : 97402 Bras-Panon, 97409 Saint-André, 97410 Saint-Benoît, 97421 Salazie) : SMS et "
        "appels partiraient à de mauvaises heures pour une partie d'entre elles"
    )
    assert "national = true" in refused.fix


def test_the_national_territory_spans_every_time_zone_and_loads() -> None:
    territory = load_territory(CONFIG_DIR / "national.toml")
    assert territory.national and {"04088", "97421", "97302"} <= set(territory.communes)


def test_every_mistake_of_the_form_is_told_at_once_with_its_line_and_positions_from_one(
    tmp_path: Path,
) -> None:
    text = (
        REUNION.replace('epci = "249740093"', "epci = 249740093")
        .replace('commune = "97421"', "commune = 97421")
        .replace('"97409", "97410"', '"97409", 97410')
    )
    path = _write(tmp_path, text)
    refused = _refused(path)
    expected = "un texte entre guillemets est attendu. Mettez la valeur entre guillemets (texte)."
    assert str(refused) == (
        f"{path} : 3 problèmes :\n"
        f"  – ligne 3, clé `territoire.epci` : {expected}\n"
        f"  – ligne 11, clé `points_service n°2.commune` : {expected}\n"
        f"  – ligne 18, clé `perimetres n°1.communes n°3` : {expected}"
    )
    assert [p.key for p in refused.problems] == [
        "territoire.epci",
        "points_service n°2.commune",
        "perimetres n°1.communes n°3",
    ]


def test_every_mistake_against_the_reference_is_told_at_once(tmp_path: Path) -> None:
    text = REUNION.replace(HELL_BOURG, "latitude = 55.5186\nlongitude = -21.0647").replace(
        '"97410", "97421"]', '"97410", "97421", "97411"]'
    )
    refused = _refused(_write(tmp_path, text))
    assert [(p.line, p.key) for p in refused.problems] == [
        (12, "points_service n°2.latitude"),
        (18, "perimetres n°1.communes"),
    ]
    assert str(refused).count("\n  – ") == 2
