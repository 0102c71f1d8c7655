"""`uptake territory`: the configured territory as the rules see it."""

from __future__ import annotations

import re

from detection.geography import Geography
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR


def test_the_territory_lists_its_communes_farthest_from_services_first_with_remoteness_and_perimeters(
    cli,
) -> None:
    geography = Geography.of(load_territory(CONFIG_DIR / "territoire.toml"))
    shown = cli("territory", "--communes", "0")
    assert shown.code == 0, shown.output
    text = shown.stdout
    assert geography.territory.nom in " ".join(text.split())
    assert f"Communes éloignées des services : {len(geography.remote_communes)}" in text
    # One line per commune, farthest first; the remote ones marked, with their perimeters' types.
    rows = re.findall(r"^(\d{5}) .*?(\d+,\d)\u202fkm\s+(oui)?\s*(OPAH|PIG)?", text, flags=re.MULTILINE)
    assert [code for code, *_ in rows] == geography.communes.sort(
        ["distance_services_km", "code_commune"], descending=[True, False]
    )["code_commune"].to_list()
    assert {code for code, _, remote, _ in rows if remote} == set(geography.remote_communes)
    for perimeter in geography.territory.perimeters:
        assert f"« {perimeter.nom} » ({perimeter.type})" in " ".join(text.split())


def test_a_long_list_of_communes_is_cut_with_how_to_see_them_all(cli) -> None:
    shown = cli("territory", "--communes", "2")
    assert shown.code == 0
    assert len(re.findall(r"^\d{5} ", shown.stdout, flags=re.MULTILINE)) == 2
    assert "… et 11 autres communes" in shown.stdout and "--communes 0" in shown.stdout
    assert cli("territory", "--communes", "-1").code == 2
