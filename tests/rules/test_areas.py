"""Where parameters hold (`champ`): a rule flags only where its parameters' values hold, unless it
declares its own `champ`, and a wrong `champ` is refused with where and how to fix it."""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl
import pytest

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA, ContractSummary
from detection.geography import Geography
from rules.areas import EVERYWHERE, area_of, in_areas_expr
from rules.cases import run_cases
from rules.catalogue import load_catalogue
from rules.compiler import compile_catalogue
from rules.errors import CatalogueInvalid, ParametersInvalid
from rules.parameters import load_parameters

JUNE_2024 = datetime.date(2024, 6, 1)
PARAMETERS = """\
loyer_max:
  description: un plafond écrit pour la métropole seulement
  unite: €/mois
  champ: [{champ}]
  valeurs:
    - depuis: 2020-01-01
      valeur: 500
      source: essai
partout:
  unite: €/mois
  valeurs:
    - depuis: 2020-01-01
      valeur: 100
      source: essai
"""
RULE = """\
id: essai
version: "1.0.0"
titre: Essai
prestation: essai
action: "7.1"
base_legale: [texte]
lit: [loyer]
{champ}conditions:
  - expression: loyer < essai.loyer_max
    libelle: loyer sous le plafond
priorite: 1
"""
# Saint-Denis (La Réunion), Mamoudzou (Mayotte), Forcalquier, Ajaccio (Corse-du-Sud).
COMMUNES = ["97411", "97611", "04088", "2A004"]


def _parameters(tmp_path: Path, champ: str = "métropole") -> Path:
    folder = tmp_path / "parametres"
    folder.mkdir(exist_ok=True)
    (folder / "essai.yaml").write_text(PARAMETERS.format(champ=champ), encoding="utf-8")
    return folder


def _flagged(
    tmp_path: Path, contract: ContractSummary, geography: Geography, rule_champ: str = ""
) -> tuple[list[str], pl.DataFrame, str]:
    """The communes of the households the rule flags (one household per commune of COMMUNES), each
    household's condition values, and the rule's note on where it flags."""
    catalogue_dir = tmp_path / "regles"
    catalogue_dir.mkdir(exist_ok=True)
    (catalogue_dir / "essai.yaml").write_text(RULE.format(champ=rule_champ), encoding="utf-8")
    parameters = load_parameters(_parameters(tmp_path))
    catalogue = load_catalogue(
        catalogue_dir, columns=contract.column_kinds, enums=contract.enum_values, parameters=parameters
    )
    compiled = compile_catalogue(catalogue, parameters, JUNE_2024, geography)
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
    rows = [
        {**defaults, "id_foyer": f"f{i}", "code_commune": c, "loyer": 300.0} for i, c in enumerate(COMMUNES)
    ]
    frame = pl.DataFrame(rows, schema=HOUSEHOLD_SCHEMA, orient="row").lazy()
    flags = compiled.flags(frame, keep=["code_commune"]).collect()
    conditions = compiled.condition_values(frame, "essai").collect()
    return sorted(flags["code_commune"]), conditions, catalogue.get("essai").areas_note()


def test_a_rule_reading_a_metropolitan_parameter_does_not_flag_overseas_households(
    tmp_path: Path, contract: ContractSummary, geography: Geography
) -> None:
    communes, conditions, note = _flagged(tmp_path, contract, geography)

    assert communes == ["04088", "2A004"]  # Corsica is metropolitan France
    # Why the others are not flagged is told with the rule's conditions.
    [scope] = [c for c in conditions.columns if "champ de la règle" in c]
    assert conditions[scope].to_list() == [False, False, True, True]
    assert "Ne signale pas les foyers de : Guadeloupe, Martinique, Guyane, La Réunion, Mayotte" in note
    assert "essai.loyer_max" in note


def test_a_rule_declaring_its_champ_flags_there_and_says_which_values_it_stretches(
    tmp_path: Path, contract: ContractSummary, geography: Geography
) -> None:
    communes, _, note = _flagged(tmp_path, contract, geography, rule_champ="champ: [métropole, La Réunion]\n")

    assert communes == ["04088", "2A004", "97411"]
    assert note.startswith("Ne signale pas les foyers de : Guadeloupe, Martinique, Guyane, Mayotte (")
    assert "Applique aussi en La Réunion" in note and "valeurs de métropole de : essai.loyer_max" in note


def test_a_rule_reading_parameters_valid_everywhere_flags_everywhere(
    tmp_path: Path, contract: ContractSummary
) -> None:
    catalogue_dir = tmp_path / "regles"
    catalogue_dir.mkdir()
    rule = RULE.format(champ="").replace("essai.loyer_max", "essai.partout * 5")
    (catalogue_dir / "essai.yaml").write_text(rule, encoding="utf-8")
    parameters = load_parameters(_parameters(tmp_path))

    catalogue = load_catalogue(
        catalogue_dir, columns=contract.column_kinds, enums=contract.enum_values, parameters=parameters
    )

    assert catalogue.get("essai").areas == EVERYWHERE and catalogue.get("essai").areas_note() == ""


@pytest.mark.parametrize("lit", ["[loyer]", "[loyer, code_commune]"])
def test_a_rule_flagging_in_part_of_france_takes_the_commune_of_its_cases(
    tmp_path: Path, contract: ContractSummary, geography: Geography, lit: str
) -> None:
    """Its scope is decided on `code_commune`: a case gives it (the runner asks for it) and `lit`
    may declare it, neither refused as a column the rule does not read."""
    catalogue_dir = tmp_path / "regles"
    catalogue_dir.mkdir()
    cases = """cas:
  - nom: Forcalquier
    mois: 2024-06
    foyer: {loyer: 300.0, code_commune: "04088"}
    attendu: {signale: true}
  - nom: Saint-Denis (La Réunion), hors champ
    mois: 2024-06
    foyer: {loyer: 300.0, code_commune: "97411"}
    attendu: {signale: false}
"""
    rule = RULE.format(champ="").replace("lit: [loyer]", f"lit: {lit}") + cases
    (catalogue_dir / "essai.yaml").write_text(rule, encoding="utf-8")
    parameters = load_parameters(_parameters(tmp_path))

    catalogue = load_catalogue(
        catalogue_dir, columns=contract.column_kinds, enums=contract.enum_values, parameters=parameters
    )
    results = run_cases(
        catalogue, parameters, geography, {c.name: c.default for c in HOUSEHOLD_COLUMNS}, HOUSEHOLD_SCHEMA
    )

    assert "code_commune" in catalogue.get("essai").columns_read
    assert [(r.name, r.passed, r.differences) for r in results] == [
        ("Forcalquier", True, ()),
        ("Saint-Denis (La Réunion), hors champ", True, ()),
    ]


def test_an_unknown_territory_in_a_parameters_champ_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    folder = _parameters(tmp_path, champ="métropole, Reunion")

    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(folder)

    (problem,) = caught.value.problems
    assert problem.path.endswith("essai.yaml") and problem.line == 4
    assert "territoire inconnu « Reunion »" in problem.message and "La Réunion" in problem.hint


def test_a_champ_that_is_not_a_list_is_refused_with_an_example(tmp_path: Path) -> None:
    folder = _parameters(tmp_path)
    path = folder / "essai.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("[métropole]", "métropole"), encoding="utf-8")

    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(folder)

    (problem,) = caught.value.problems
    assert "`champ` doit être une liste de territoires" in problem.message and "champ: [" in problem.hint


def test_a_rule_whose_parameters_hold_in_no_common_territory_is_refused(
    tmp_path: Path, contract: ContractSummary
) -> None:
    folder = _parameters(tmp_path)
    other = PARAMETERS.split("partout:")[0].replace("loyer_max", "taux").replace("[{champ}]", "[Mayotte]")
    (folder / "autre.yaml").write_text(other, encoding="utf-8")
    catalogue_dir = tmp_path / "regles"
    catalogue_dir.mkdir()
    rule = RULE.format(champ="").replace("essai.loyer_max", "essai.loyer_max * autre.taux")
    (catalogue_dir / "essai.yaml").write_text(rule, encoding="utf-8")

    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(
            catalogue_dir,
            columns=contract.column_kinds,
            enums=contract.enum_values,
            parameters=load_parameters(folder),
        )

    assert "aucun territoire en commun" in str(caught.value) and "déclarez le `champ`" in str(caught.value)


def test_a_communes_area_is_its_department() -> None:
    assert [area_of(c) for c in ("04088", "2B033", "97105", "97411", "97611", "97502", "98735")] == [
        "métropole",
        "métropole",
        "Guadeloupe",
        "La Réunion",
        "Mayotte",
        None,  # Saint-Pierre-et-Miquelon and Polynesia are none of the areas
        None,
    ]
    codes = ["04088", "97105", "97611", "97502", "98735", None]
    frame = pl.DataFrame({"code_commune": codes})
    for areas in (
        frozenset({"métropole", "Mayotte"}),
        frozenset({"métropole"}),
        EVERYWHERE - {"Mayotte"},
        frozenset({"Guadeloupe", "Mayotte"}),
    ):
        inside = frame.select(in_areas_expr(areas)).to_series().to_list()
        # The expression agrees with the area of each code, whichever way it is written.
        assert inside == [None if c is None else area_of(c) in areas for c in codes], areas
    assert in_areas_expr(EVERYWHERE) is None


def test_the_shipped_catalogue_keeps_overseas_housing_benefit_out_and_mayotte_out_of_rsa_and_ppa() -> None:
    contract = ContractSummary()
    catalogue = load_catalogue(columns=contract.column_kinds, enums=contract.enum_values)

    assert catalogue.get("al_non_recours").areas == {"métropole"}
    for rule_id in ("rsa_non_recours", "ppa_non_recours"):
        assert catalogue.get(rule_id).areas == EVERYWHERE - {"Mayotte"}
    assert catalogue.get("impaye_locatif").areas == EVERYWHERE
