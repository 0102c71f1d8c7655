"""A rate or a ratio cited in an explanation, shown rounded to the unit (« 1 » for 0,61), is told to the
rule's author as a warning, without refusing the rule; euros, counts and `arrondi(x, 2)` are not.

Every rule and household here is synthetic.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from detection.contract import ContractSummary
from tests.rules.test_authoring_review import _load, _rule
from tests.rules.test_commands import SHIPPED


def _warnings(tmp_path: Path, contract: ContractSummary, *, values: str, explanation: str) -> tuple[str, ...]:
    return _load(_rule(tmp_path, values=values, explanation=explanation), contract).warnings


def test_a_ratio_of_two_amounts_shown_rounded_is_warned_with_the_rule_what_shows_and_the_fix(
    tmp_path: Path, contract: ContractSummary
) -> None:
    [warning] = _warnings(
        tmp_path,
        contract,
        values="  taux_effort: loyer / revenus_activite_allocataire",
        explanation="Loyer {loyer} €, taux d'effort {taux_effort}.",
    )
    assert warning.startswith("règle essai : `{taux_effort}` est un taux ou un rapport")
    assert "0,61 (par exemple) s'y lit « 1 »" in warning
    assert "`taux_effort_affiche: arrondi(taux_effort, 2)` et citez `{taux_effort_affiche}`" in warning


def test_a_rate_written_as_a_number_is_warned_with_what_its_value_shows(
    tmp_path: Path, contract: ContractSummary
) -> None:
    [warning] = _warnings(
        tmp_path,
        contract,
        values="  part_retenue: 0.35\n  seuil: part_retenue * revenus_activite_allocataire",
        explanation="Loyer {loyer} €, seuil {seuil} €, soit une part de {part_retenue}.",
    )
    assert "`{part_retenue}`" in warning and "0,35 (sa valeur) s'y lit « 0 »" in warning


def test_a_fraction_parameter_shown_rounded_is_warned_with_its_latest_value(
    tmp_path: Path, contract: ContractSummary
) -> None:
    [warning] = _warnings(
        tmp_path,
        contract,
        values="  taux: ppa.taux_revenus_activite",
        explanation="Loyer {loyer} €, revenus {revenus_activite_allocataire} €, taux {taux}.",
    )
    assert "`{taux}` est un taux ou un rapport" in warning and "0,5985 (sa valeur) s'y lit « 1 »" in warning


def test_euro_amounts_and_counts_shown_rounded_are_not_warned(
    tmp_path: Path, contract: ContractSummary
) -> None:
    warnings = _warnings(
        tmp_path,
        contract,
        values=(
            "  loyer_annuel: loyer * 12\n"
            "  reste: revenus_activite_allocataire - loyer * 0.5\n"
            "  plafond: ppa.montant_forfaitaire * (1 + ppa.taux_revenus_activite)\n"
            "  par_mois: loyer / impaye_loyer_mois"
        ),
        explanation="{loyer_annuel} €, {reste} €, {plafond} €, {par_mois} €, {impaye_loyer_mois} mois.",
    )
    assert warnings == ()


def test_a_ratio_kept_to_two_decimals_with_arrondi_is_not_warned(
    tmp_path: Path, contract: ContractSummary
) -> None:
    warnings = _warnings(
        tmp_path,
        contract,
        values="  taux_effort: arrondi(loyer / revenus_activite_allocataire, 2)",
        explanation="Taux d'effort {taux_effort}.",
    )
    assert warnings == ()


def test_a_percentage_of_a_rate_is_not_warned(tmp_path: Path, contract: ContractSummary) -> None:
    warnings = _warnings(
        tmp_path,
        contract,
        values="  pourcentage: loyer / revenus_activite_allocataire * 100",
        explanation="Taux d'effort {pourcentage} %.",
    )
    assert warnings == ()


def test_the_shipped_catalogue_has_no_rounded_rate(cli) -> None:
    result = cli("rules", "check")
    assert result.code == 0, result.output
    assert "est un taux ou un rapport" not in result.stdout


def test_rules_check_shows_the_warning_and_keeps_the_catalogue_valid(cli, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(SHIPPED, catalogue)
    rule = catalogue / "impaye_locatif.yaml"
    text = rule.read_text(encoding="utf-8")
    # The debt in months of rent, cited as it is: 1.5 months would read « 2 ».
    cited = "\nexplication: >-\n  Dette de {mois_de_dette} mois de loyer.\n"
    text = text.replace("\nexplication: >-\n", cited)
    named = "\nvaleurs:\n  mois_de_dette: dette_locative / loyer\nconditions:"
    text = text.replace("\nconditions:", named, 1)
    rule.write_text(text, encoding="utf-8")

    result = cli("rules", "check", "--catalogue", str(catalogue))

    said = " ".join(result.stdout.split())
    assert "Catalogue valide : 7 règles" in said
    assert "Attention : règle impaye_locatif : `{mois_de_dette}` est un taux ou un rapport" in said
    assert "arrondi(mois_de_dette, 2)" in said
