"""The case runner: a wrong expectation shows a diff, a malformed case fails with a French reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA
from rules.cases import run_cases
from rules.catalogue import load_catalogue
from rules.errors import CatalogueInvalid
from rules.parameters import load_parameters

RULE = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "7.1"
base_legale: [texte]
lit: [impaye_loyer_mois, loyer, en_couple]
conditions:
  - impaye_loyer_mois >= 2 et non en_couple
montant: loyer * impaye_loyer_mois
priorite: 1
explication: "{impaye_loyer_mois} mois pour {montant} €"
cas:
"""


def _results(tmp_path: Path, cases: str, contract, geography):
    (tmp_path / "essai.yaml").write_text(RULE + cases, encoding="utf-8")
    catalogue = load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
    return run_cases(catalogue, load_parameters(), geography, defaults, HOUSEHOLD_SCHEMA)


def test_passing_case_and_diff_on_wrong_amount_and_explanation(tmp_path, contract, geography) -> None:
    cases = """  - nom: bon
    mois: 2024-06
    foyer: {impaye_loyer_mois: 2, loyer: 510.0, en_couple: false}
    attendu: {signale: true, montant: 1020.0, explication: "2 mois pour 1 020 €"}
  - nom: faux
    mois: 2024-06
    foyer: {impaye_loyer_mois: 2, loyer: 510.0, en_couple: false}
    attendu: {signale: true, montant: 1000.0, explication: "2 mois"}
  - nom: pas signalé
    mois: 2024-06
    foyer: {impaye_loyer_mois: 1, loyer: 510.0, en_couple: false}
    attendu: {signale: true}
  - nom: sans montant attendu
    mois: 2024-06
    foyer: {impaye_loyer_mois: 2, loyer: 510.25, en_couple: false}
    attendu: {signale: true, montant: null}
"""
    good, wrong, missed, empty = _results(tmp_path, cases, contract, geography)
    assert good.passed
    assert not wrong.passed
    assert "montant : attendu 1 000 €, obtenu 1 020 € (écart +20 €)" in wrong.differences[0]
    assert (
        "attendu : 2 mois" in wrong.differences[1] and "obtenu  : 2 mois pour 1 020 €" in wrong.differences[1]
    )
    assert empty.differences == ("montant : attendu aucun (null), obtenu 1 020,50 €",)
    assert missed.differences == (
        "signalé : attendu oui, obtenu non",
        "condition non remplie : impaye_loyer_mois >= 2 et non en_couple (fausse)",
    )


def test_case_without_a_value_for_a_required_column_fails_with_a_reason(
    tmp_path, contract, geography
) -> None:
    case = "  - {mois: 2024-06, foyer: {impaye_loyer_mois: 2}, attendu: {signale: true}}\n"
    (result,) = _results(tmp_path, case, contract, geography)
    assert not result.passed
    assert "colonne `en_couple` sans valeur" in " ".join(result.differences)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (
            "  - {mois: 2024-06, foyer: {en_couple: false, nom: x}, attendu: {signale: true}}",
            "colonne inconnue `nom` dans `foyer`",
        ),
        ("  - {mois: 2024-06, foyer: {en_couple: false}}", "`attendu` doit dire"),
        (
            "  - {mois: 2024-06, foyer: {loyer: deux, en_couple: false}, attendu: {signale: true}}",
            "`loyer: deux` n'est pas un nombre (colonne `loyer` du contrat)",
        ),
    ],
)
def test_malformed_case_is_refused_by_check_with_a_reason(
    tmp_path, contract, geography, case, reason
) -> None:
    with pytest.raises(CatalogueInvalid) as caught:
        _results(tmp_path, case + "\n", contract, geography)
    assert reason in str(caught.value)
    assert "essai.yaml:14:" in str(caught.value)


def test_a_case_failing_on_the_territorys_remoteness_is_told_written_for_another_territory(
    geography,
) -> None:
    from detection.geography import Geography
    from detection.runs import load_rules
    from detection.territory import load_territory
    from tests.conftest import CONFIG_DIR

    # France as a whole, one service point per department: 04101 is not among its remotest communes.
    national = Geography.of(load_territory(CONFIG_DIR / "national.toml"))
    catalogue, parameters = load_rules(geography)
    remote = catalogue.select(["rdv_droits_eloignes"])
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}

    at_home = run_cases(remote, parameters, geography, defaults, HOUSEHOLD_SCHEMA)
    elsewhere = run_cases(remote, parameters, national, defaults, HOUSEHOLD_SCHEMA)

    assert all(r.passed for r in at_home)
    [failed] = [r for r in elsewhere if not r.passed]
    assert failed.name == "commune éloignée 04101" and failed.elsewhere
    assert "condition non remplie : commune parmi les plus éloignées des services" in failed.differences[1]
    assert "dépendent de la géographie du territoire configuré" in failed.differences[-1]
