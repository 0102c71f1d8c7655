"""Dated parameters: the value in force in a month, its source, and refusals of malformed files."""

from __future__ import annotations

import datetime

import pytest

from rules.errors import ParametersInvalid, ParametersMissing
from rules.parameters import load_parameters


def test_value_in_force_is_the_latest_version_not_after_the_month() -> None:
    parameters = load_parameters()
    assert parameters.at("ppa.montant_forfaitaire", datetime.date(2024, 3, 1)).value == 595.25
    assert parameters.at("ppa.montant_forfaitaire", datetime.date(2024, 4, 1)).value == 622.63
    table = parameters.at("al.plafond_loyer_seul", datetime.date(2024, 10, 1))
    assert table.value == {1: 329.71, 2: 287.35, 3: 269.32}
    assert "Arrêté du 27/09/2024" in table.source


def test_every_shipped_value_has_a_legal_source() -> None:
    for parameter in load_parameters().by_name.values():
        for version in parameter.versions:
            assert version.source.strip(), parameter.name


def test_month_before_the_first_value_is_refused_not_defaulted() -> None:
    with pytest.raises(ParametersMissing) as caught:
        load_parameters().at("rsa.montant_forfaitaire", datetime.date(2023, 3, 1))
    assert "03/2023" in str(caught.value) and "depuis le 01/04/2023" in str(caught.value)


def test_value_without_source_is_refused_with_its_position(tmp_path) -> None:
    (tmp_path / "essai.yaml").write_text(
        "taux:\n  valeurs:\n    - depuis: 2024-01-01\n      valeur: 0.5\n", encoding="utf-8"
    )
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)
    assert "essai.yaml:3:" in str(caught.value) and "sans source légale" in str(caught.value)


def test_non_numeric_value_is_refused(tmp_path) -> None:
    (tmp_path / "essai.yaml").write_text(
        "taux:\n  valeurs:\n    - depuis: 2024-01-01\n      valeur: beaucoup\n      source: arrêté\n",
        encoding="utf-8",
    )
    with pytest.raises(ParametersInvalid, match="valeur non numérique"):
        load_parameters(tmp_path)


def test_unreadable_parameter_file_is_a_french_error_with_position(tmp_path) -> None:
    (tmp_path / "essai.yaml").write_text("taux:\n  valeurs: [\n", encoding="utf-8")
    with pytest.raises(ParametersInvalid, match="YAML illisible"):
        load_parameters(tmp_path)


@pytest.mark.parametrize(
    ("second", "told"),
    [
        ("2024-01-01", "`essai.taux` : deux valeurs depuis le 01/01/2024"),
        ("2023-07-01", "`essai.taux` : valeur depuis le 01/07/2023 placée après celle du 01/01/2024"),
    ],
)
def test_dated_values_must_follow_each_other_in_time(tmp_path, second: str, told: str) -> None:
    (tmp_path / "essai.yaml").write_text(
        "taux:\n  valeurs:\n    - depuis: 2024-01-01\n      valeur: 0.5\n      source: arrêté\n"
        f"    - depuis: {second}\n      valeur: 0.6\n      source: arrêté\n",
        encoding="utf-8",
    )
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)
    assert f"essai.yaml:6:7: {told}" in str(caught.value)


def test_an_impossible_date_is_told_with_its_position(tmp_path) -> None:
    (tmp_path / "essai.yaml").write_text(
        "taux:\n  valeurs:\n    - depuis: 2024-13-01\n      valeur: 0.5\n      source: arrêté\n",
        encoding="utf-8",
    )
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)
    assert "essai.yaml:3:15: date impossible `2024-13-01`" in str(caught.value)


def test_a_parameter_file_not_in_utf8_is_told_where(tmp_path) -> None:
    (tmp_path / "essai.yaml").write_bytes("# Revalorisation\ntaux: # arrêté\n".encode("latin-1"))
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)
    assert "essai.yaml:2:12: fichier illisible : il n'est pas en UTF-8" in str(caught.value)
