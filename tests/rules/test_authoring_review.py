"""Mistakes a rule author makes are refused with file:line, and computations never fail or lie silently.

Every rule, parameter and household here is synthetic.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import polars as pl
import pytest

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA, ContractSummary
from rules.cases import run_cases
from rules.catalogue import load_catalogue
from rules.compiler import compile_catalogue
from rules.docs import dated_values, french_quantity, french_value
from rules.errors import CatalogueInvalid, FolderMissing, ParametersInvalid
from rules.formatting import MISSING, french_integer, french_number
from rules.parameters import default_parameters_dir, load_parameters

BOUNDS = {c.name: (c.minimum, c.maximum) for c in HOUSEHOLD_COLUMNS if c.kind == "int"}
JUNE = datetime.date(2024, 6, 1)

RULE = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "2.2"
base_legale: [texte]
lit: [loyer, revenus_activite_allocataire, impaye_loyer_mois, statut_logement]
valeurs:
{values}
conditions:
  - expression: statut_logement == "locataire"
    libelle: locataire
  - expression: impaye_loyer_mois >= 2
    libelle: au moins 2 mois impayés
priorite: 1
explication: "{explanation}"
cas:
{cases}"""

CASE = """  - nom: {name}
    mois: 2024-06
    foyer: {{statut_logement: locataire, impaye_loyer_mois: 3, loyer: 600.0, revenus_activite_allocataire: {income}}}
    attendu: {expected}
"""  # noqa: E501 - one case per line keeps the positions the tests assert simple


def _rule(
    tmp_path: Path,
    *,
    values: str = "  rapport: loyer / revenus_activite_allocataire",
    explanation: str = "Loyer {loyer} €, rapport {rapport}.",
    cases: str = "",
) -> Path:
    folder = tmp_path / "catalogue"
    folder.mkdir(exist_ok=True)
    (folder / "essai.yaml").write_text(
        RULE.format(values=values, explanation=explanation, cases=cases or "  []\n"), encoding="utf-8"
    )
    return folder


def _load(folder: Path, contract: ContractSummary, parameters: Path | None = None):  # type: ignore[no-untyped-def]
    return load_catalogue(
        folder,
        columns=contract.column_kinds,
        enums=contract.enum_values,
        parameters=load_parameters(parameters),
        bounds=BOUNDS,
    )


def _refused(folder: Path, contract: ContractSummary, parameters: Path | None = None) -> str:
    with pytest.raises(CatalogueInvalid) as caught:
        _load(folder, contract, parameters)
    return str(caught.value)


def _flags(folder: Path, contract: ContractSummary, geography, income: float) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    catalogue = _load(folder, contract)
    row = {"id_foyer": "f" * 16, "statut_logement": "locataire", "impaye_loyer_mois": 3, "loyer": 600.0}
    row["revenus_activite_allocataire"] = income
    frame = pl.DataFrame([row], schema={c: HOUSEHOLD_SCHEMA[c] for c in row})
    compiled = compile_catalogue(catalogue, load_parameters(), JUNE, geography)
    return compiled.flags(frame.lazy()).collect()


def _cases(folder: Path, contract: ContractSummary, geography):  # type: ignore[no-untyped-def]
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
    return run_cases(_load(folder, contract), load_parameters(), geography, defaults, HOUSEHOLD_SCHEMA)


# Defect 1: division by zero.


def test_division_by_zero_is_an_empty_value_shown_as_a_dash(tmp_path, contract, geography) -> None:
    flags = _flags(_rule(tmp_path), contract, geography, income=0.0)
    assert flags["explication"].to_list() == [f"Loyer 600 €, rapport {MISSING}."]


def test_division_by_zero_never_passes_a_comparison(tmp_path, contract, geography) -> None:
    values = "  rapport: loyer / revenus_activite_allocataire\n  eleve: rapport > 1"
    folder = _rule(tmp_path, values=values, explanation="{eleve}")
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace(
            "  - expression: impaye_loyer_mois >= 2", "  - expression: eleve et impaye_loyer_mois >= 2"
        ),
        encoding="utf-8",
    )
    assert _flags(folder, contract, geography, income=0.0).height == 0


def test_french_number_formatting_of_infinite_nan_and_empty_is_empty() -> None:
    frame = pl.DataFrame({"x": [float("inf"), float("-inf"), float("nan"), None, 1020.4]})
    assert frame.select(french_integer(pl.col("x")).alias("x"))["x"].to_list() == [
        None,
        None,
        None,
        None,
        "1 020",
    ]
    assert frame.select(french_number(pl.col("x"), 1).alias("x"))["x"].to_list() == [
        None,
        None,
        None,
        None,
        "1 020,4",
    ]


def test_case_dividing_by_zero_is_not_reported_as_values_incompatible_with_the_contract(
    tmp_path, contract, geography
) -> None:
    expected = f'{{signale: true, explication: "Loyer 600 €, rapport {MISSING}."}}'
    folder = _rule(tmp_path, cases=CASE.format(name="sans revenus", income=0.0, expected=expected))
    (result,) = _cases(folder, contract, geography)
    assert result.passed, result.differences


# Defect 2: `signale` must be a YAML boolean.


@pytest.mark.parametrize("written", ["non", "oui", '"false"', "'true'", "1"])
def test_signale_that_is_not_a_yaml_boolean_is_refused_with_file_and_line(
    tmp_path, contract, written
) -> None:
    folder = _rule(tmp_path, cases=CASE.format(name="un", income=100.0, expected=f"{{signale: {written}}}"))
    message = _refused(folder, contract)
    assert "essai.yaml:21:" in message and "n'est pas un booléen" in message
    assert "`signale: true`" in message


def test_signale_false_written_as_a_yaml_boolean_is_compared_as_not_flagged(
    tmp_path, contract, geography
) -> None:
    folder = _rule(tmp_path, cases=CASE.format(name="un", income=100.0, expected="{signale: false}"))
    (result,) = _cases(folder, contract, geography)
    assert not result.passed
    assert result.differences[0] == "signalé : attendu non, obtenu oui"
    assert result.differences[1] == "toutes les conditions sont remplies"


# Defect 3: a table parameter missing a key.


def _parameters_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "parametres"
    shutil.copytree(default_parameters_dir(), folder)
    return folder


def test_table_value_missing_a_key_another_value_has_is_refused_with_file_and_line(tmp_path) -> None:
    folder = _parameters_copy(tmp_path)
    path = folder / "al.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "valeur: {1: 319.30, 2: 278.28, 3: 260.82}", "valeur: {1: 319.30, 2: 278.28}"
        ),
        encoding="utf-8",
    )
    edited = path.read_text(encoding="utf-8").splitlines().index("      valeur: {1: 319.30, 2: 278.28}") + 1
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(folder)
    (problem,) = caught.value.problems
    assert problem.path.endswith("al.yaml") and problem.line == edited - 1  # its `- depuis:` line
    assert "`al.plafond_loyer_seul`" in problem.message and "n'a pas la clé 3" in problem.message


TABLE = """zone:
  description: Table par zone
  unite: €/mois
  valeurs:
    - depuis: 2020-01-01
      valeur: {1: 100.0, 2: 90.0}
      source: Arrêté fictif
"""


def test_table_missing_a_key_the_contract_allows_for_its_column_is_refused(tmp_path, contract) -> None:
    parameters = _parameters_copy(tmp_path)
    (parameters / "essai.yaml").write_text(TABLE, encoding="utf-8")
    folder = _rule(
        tmp_path, values="  plafond: min(loyer, essai.zone[zone_logement])", explanation="{plafond}"
    )
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace("lit: [loyer,", "lit: [zone_logement, loyer,"), encoding="utf-8"
    )
    message = _refused(folder, contract, parameters)
    assert "essai.yaml:9:" in message
    assert "la table `essai.zone` n'a pas la clé 3" in message and "de 1 à 3" in message
    assert "essai.yaml:5" in message  # the parameter's value, in its own file


def test_table_key_range_follows_si_guards_on_the_column(tmp_path, contract) -> None:
    parameters = _parameters_copy(tmp_path)
    (parameters / "essai.yaml").write_text(
        TABLE.replace("{1: 100.0, 2: 90.0}", "{1: 1.0, 2: 2.0}"), encoding="utf-8"
    )
    values = "  plafond: si nb_enfants == 0 alors 0 sinon essai.zone[min(nb_enfants, 2)]"
    folder = _rule(tmp_path, values=values, explanation="{plafond} {loyer} {revenus_activite_allocataire}")
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace("lit: [loyer,", "lit: [nb_enfants, loyer,"), encoding="utf-8"
    )
    assert _load(folder, contract, parameters).rules[0].table_keys == {"essai.zone": frozenset({1, 2})}


def test_min_with_an_empty_argument_is_empty_not_the_other_argument(tmp_path, contract, geography) -> None:
    values = "  plafond: min(loyer, si revenus_activite_allocataire > 0 alors loyer / 0 sinon 1)"
    flags = _flags(_rule(tmp_path, values=values, explanation="{plafond}"), contract, geography, income=5.0)
    assert flags["explication"].to_list() == [MISSING]


# Defect 7: typos in test cases.


def test_unknown_key_in_attendu_is_refused_with_a_hint(tmp_path, contract) -> None:
    expected = "{signale: true, montant_estime: 12}"
    message = _refused(_rule(tmp_path, cases=CASE.format(name="un", income=1.0, expected=expected)), contract)
    assert "essai.yaml:21:" in message
    assert "clé inconnue `montant_estime` dans `attendu` — vouliez-vous dire `montant` ?" in message


def test_household_value_outside_the_contract_enumeration_is_refused(tmp_path, contract) -> None:
    case = CASE.format(name="un", income=1.0, expected="{signale: true}").replace(
        "statut_logement: locataire", "statut_logement: locatiare"
    )
    message = _refused(_rule(tmp_path, cases=case), contract)
    assert "essai.yaml:20:" in message
    assert "valeur `locatiare` impossible pour `statut_logement` — vouliez-vous dire `locataire` ?" in message


def test_household_value_of_the_wrong_type_names_its_column(tmp_path, contract) -> None:
    case = CASE.format(name="un", income="cinq", expected="{signale: true}")
    message = _refused(_rule(tmp_path, cases=case), contract)
    assert "`revenus_activite_allocataire: cinq` n'est pas un nombre" in message


def test_unknown_household_column_is_refused_with_a_hint(tmp_path, contract) -> None:
    case = CASE.format(name="un", income=1.0, expected="{signale: true}").replace("loyer:", "loyr:")
    message = _refused(_rule(tmp_path, cases=case), contract)
    assert "colonne inconnue `loyr` dans `foyer` — vouliez-vous dire `loyer` ?" in message


# Defects 10, 11, 12: files and fields never silently ignored.


def test_rule_file_ending_in_yml_is_refused_not_ignored(tmp_path, contract) -> None:
    folder = _rule(tmp_path)
    shutil.copy(folder / "essai.yaml", folder / "autre.yml")
    message = _refused(folder, contract)
    assert "autre.yml:1:1: fichier `.yml` non lu" in message and "renommez-le `autre.yaml`" in message


def test_empty_legal_basis_is_refused(tmp_path, contract) -> None:
    folder = _rule(tmp_path)
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace("base_legale: [texte]", "base_legale: []"), encoding="utf-8"
    )
    assert "essai.yaml:6:1: champ obligatoire `base_legale` vide" in _refused(folder, contract)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('      source: "   "', "valeur sans source légale"),
        ("      refrence: https://example.org", "champ inconnu `refrence` — vouliez-vous dire `reference` ?"),
    ],
)
def test_parameter_blank_source_or_unknown_key_is_refused(tmp_path, line, message) -> None:
    text = TABLE.replace("valeur: {1: 100.0, 2: 90.0}", "valeur: 5.0")
    if "source" in line:
        text = text.replace("      source: Arrêté fictif", line)
    else:
        text += line + "\n"
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)
    assert message in str(caught.value) and "essai.yaml:" in str(caught.value)


# Defect 9: decimals kept by `arrondi`.


def test_explanation_shows_the_decimals_kept_by_arrondi(tmp_path, contract, geography) -> None:
    values = "  rapport: arrondi(loyer / revenus_activite_allocataire, 1)"
    flags = _flags(_rule(tmp_path, values=values), contract, geography, income=400.0)
    assert flags["explication"].to_list() == ["Loyer 600 €, rapport 1,5."]


def test_french_number_drops_trailing_zeros_and_groups_thousands() -> None:
    frame = pl.DataFrame({"x": [1.5, 2.0, -0.25, 1234.256, 0.04]})
    assert frame.select(french_number(pl.col("x"), 2).alias("x"))["x"].to_list() == [
        "1,5",
        "2",
        "-0,25",
        "1 234,26",
        "0,04",
    ]


# Defect 7 (rules side): rule digests in the parameters record.


def test_rule_content_change_without_version_bump_changes_digest_and_fingerprint(
    tmp_path, contract, geography
) -> None:
    folder = _rule(tmp_path)
    before = compile_catalogue(_load(folder, contract), load_parameters(), JUNE, geography)
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace("impaye_loyer_mois >= 2", "impaye_loyer_mois >= 4"), encoding="utf-8"
    )
    after = compile_catalogue(_load(folder, contract), load_parameters(), JUNE, geography)
    assert before.rule_versions == after.rule_versions == {"essai": "1"}
    assert len(before.rule_digests["essai"]) == 16
    assert before.rule_digests != after.rule_digests and before.fingerprint != after.fingerprint
    assert after.parameters_record()["regles"] == {
        "essai": {"version": "1", "empreinte": after.rule_digests["essai"]}
    }


def test_rule_digest_ignores_layout_and_follows_shared_formulas(tmp_path, contract, geography) -> None:
    folder = _rule(tmp_path)
    shared = "lit: [loyer]\nvaleurs:\n  double_loyer: 2 * loyer\n"
    (folder / "_formules.yaml").write_text(shared, encoding="utf-8")
    values = "  rapport: double_loyer / revenus_activite_allocataire"
    _rule(tmp_path, values=values)
    first = compile_catalogue(_load(folder, contract), load_parameters(), JUNE, geography).rule_digests
    _rule(tmp_path, values="  rapport:   double_loyer/revenus_activite_allocataire")
    same = compile_catalogue(_load(folder, contract), load_parameters(), JUNE, geography).rule_digests
    (folder / "_formules.yaml").write_text(shared.replace("2 * loyer", "3 * loyer"), encoding="utf-8")
    changed = compile_catalogue(_load(folder, contract), load_parameters(), JUNE, geography).rule_digests
    assert first == same and first != changed


# Defect 13, 14: folders and case locations.


def test_missing_parameters_or_catalogue_folder_is_one_clear_error(tmp_path, contract) -> None:
    with pytest.raises(FolderMissing, match=r"dossier de paramètres introuvable.*--parametres"):
        load_parameters(tmp_path / "nope")
    with pytest.raises(FolderMissing, match=r"dossier du catalogue introuvable.*--catalogue"):
        _load(tmp_path / "nope", contract)
    # A file for the folder, or an empty folder: said as such, not as every parameter unknown.
    a_file = tmp_path / "seuils.yaml"
    a_file.write_text("x: 1\n", encoding="utf-8")
    with pytest.raises(FolderMissing, match=r"seuils\.yaml est un fichier, pas le dossier de paramètres"):
        load_parameters(a_file)
    (tmp_path / "vide").mkdir()
    with pytest.raises(
        FolderMissing, match=r"le dossier du catalogue .*vide ne contient aucun fichier \.yaml"
    ):
        _load(tmp_path / "vide", contract)


def test_failed_case_gives_its_file_line_and_the_false_condition(tmp_path, contract, geography) -> None:
    case = CASE.format(name="un", income=1.0, expected="{signale: true}").replace(
        "impaye_loyer_mois: 3", "impaye_loyer_mois: 1"
    )
    (result,) = _cases(_rule(tmp_path, cases=case), contract, geography)
    assert result.where.endswith("essai.yaml:18")
    assert result.differences == (
        "signalé : attendu oui, obtenu non",
        "condition non remplie : au moins 2 mois impayés (fausse)",
    )


def test_rules_test_runs_only_the_cases_of_the_rule_asked_for(cli) -> None:
    result = cli("rules", "test", "--regle", "impaye_locatif")
    assert result.code == 0, result.output
    assert "cas réussis, 0 en échec" in result.stdout
    everything = cli("rules", "test")
    count = int(result.stdout.split(" cas réussis")[0].split()[-1])
    assert 0 < count < int(everything.stdout.split(" cas réussis")[0].split()[-1])


# Defect 17: `rules doc` in French notation, with every dated value.


def test_parameter_values_in_french_notation_with_units() -> None:
    assert french_quantity(5.0, "€/mois") == "5 €/mois"
    assert french_quantity(622.63, "€/mois") == "622,63 €/mois"
    assert french_quantity(454.1, "€/mois") == "454,10 €/mois"  # cents in full, as on a pay slip
    assert french_quantity(10234.5, "€/an") == "10 234,50 €/an"
    assert french_quantity(0.1, "fraction") == "10 %"
    assert french_quantity(0.5, "fraction du montant forfaitaire") == "50 % du montant forfaitaire"
    assert french_quantity(18.0, "ans") == "18 ans"
    assert french_value({1: 401.78, 2: 355.38}, "€/mois") == "1 : 401,78 €/mois ; 2 : 355,38 €/mois"


def test_doc_lists_every_dated_value_with_its_state() -> None:
    parameter = load_parameters().get("al.plafond_loyer_seul")
    states = [(d.version.since, d.state) for d in dated_values(parameter, datetime.date(2024, 6, 1))]
    assert states == [
        (datetime.date(2022, 7, 1), "ancienne"),
        (datetime.date(2023, 10, 1), "en vigueur"),
        (datetime.date(2024, 10, 1), "à venir"),
        (datetime.date(2025, 10, 1), "à venir"),
    ]
    first = dated_values(parameter, datetime.date(2024, 6, 1))[1]
    assert first.rows == (("1", "319,30 €/mois"), ("2", "278,28 €/mois"), ("3", "260,82 €/mois"))


def test_doc_page_shows_tables_and_future_values(cli, tmp_path: Path) -> None:
    result = cli(
        "rules", "doc", "--out", str(tmp_path / "doc"), "--mois", "2024-06", env={"UPTAKE_DEBUG": "1"}
    )
    assert result.code == 0, result.output
    page = (tmp_path / "doc" / "al_non_recours.html").read_text(encoding="utf-8")
    assert "{1:" not in page and "260,82 €/mois" in page and "à venir" in page and "01/10/2025" in page
    # The cases in French too: their month and expected amount, and names as code, not backquotes.
    assert "<td>06/2024</td><td>signalé, 440,90 €</td>" in page
    rsa = (tmp_path / "doc" / "rsa_non_recours.html").read_text(encoding="utf-8")
    assert "comme le déclare son <code>champ</code>" in rsa and "`" not in rsa


# Defect 8: names that are values, not columns.


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("  a: b + 1\n  b: a + 1", "référence circulaire a → b → a"),
        ("  a: a + 1", "la valeur `a` se cite elle-même"),
        ("  a: b + 1\n  b: loyer", "valeur `b` définie plus bas (ligne 10)"),
    ],
)
def test_values_read_out_of_order_are_told_apart_from_unknown_columns(
    tmp_path, contract, values, message
) -> None:
    text = _refused(_rule(tmp_path, values=values, explanation="{loyer}"), contract)
    assert message in text and "colonne inconnue" not in text


def test_value_of_another_rule_is_named_as_such(tmp_path, contract) -> None:
    folder = _rule(tmp_path, values="  rapport: valeur_voisine + 1")
    other = (folder / "essai.yaml").read_text(encoding="utf-8").replace("id: essai", "id: voisine")
    other = other.replace("rapport: valeur_voisine + 1", "valeur_voisine: loyer\n  rapport: loyer")
    (folder / "voisine.yaml").write_text(other, encoding="utf-8")
    text = _refused(folder, contract)
    assert "`valeur_voisine` est une valeur de la règle voisine" in text and "_formules.yaml" in text


def _parameters_refused(folder: Path, text: str) -> str:
    """Why a parameters folder holding one file, `essai.yaml` with `text`, is refused."""
    (folder / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(folder)
    return str(caught.value)


def _rule_text(folder: Path, old: str, new: str) -> None:
    path = folder / "essai.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # A key written twice: YAML would keep the last one, silently changing the rule.
        (
            "priorite: 1\n",
            "priorite: 1\nconditions:\n  - expression: vrai\n    libelle: tous\n",
            "essai.yaml:16:1: `conditions` écrit deux fois au même niveau (déjà ligne 10)",
        ),
        (
            "Loyer {loyer} €",
            "Loyer {loyer €",
            "essai.yaml:16:15: accolade `{` sans sa jumelle dans l'explication",
        ),
        ("priorite: 1\n", "priorite: 1.7\n", "priorité `1.7` : un nombre entier d'au moins 1"),
        ("priorite: 1\n", "priorite: -5\n", "priorité `-5` : un nombre entier d'au moins 1"),
        # A tab, which an editor may put for the indentation: YAML refuses it.
        (
            "    libelle: locataire",
            "\tlibelle: locataire",
            "essai.yaml:12:1: tabulation dans l'indentation — YAML n'accepte que des espaces",
        ),
        # A branch of a computed priority: 0 would hand those households out before the first.
        (
            "priorite: 1\n",
            "priorite: si loyer > 500 alors 0 sinon 2\n",
            "priorité `0` : un nombre entier d'au moins 1",
        ),
        (
            "priorite: 1\n",
            "priorite: si loyer > 500 alors 1 sinon 2.5\n",
            "priorité `2.5` : un nombre entier d'au moins 1",
        ),
        # Computed: cut to a whole number, empty for some households (handed out last), or below 1.
        (
            "priorite: 1\n",
            "priorite: loyer / 100\n",
            "priorité calculée `loyer / 100` : une priorité est un nombre entier écrit tel quel",
        ),
        (
            "priorite: 1\n",
            "priorite: si loyer > 500 alors 1 sinon loyer / (loyer - 400)\n",
            "priorité calculée `loyer / (loyer - 400)`",
        ),
        (
            "priorite: 1\n",
            "priorite: 1\nreglages:\n  - seuil: 2\n",
            "`reglages` doit être une table nom → valeur",
        ),
        (
            "impaye_loyer_mois >= 2\n",
            "impaye_loyer_mois >= seuil\n",
            "essai.yaml:11:3: réglage `seuil` : `1,5` écrit avec une virgule — écrivez le nombre avec un "
            "point : 1.5",
        ),
        (
            'statut_logement == "locataire"',
            'statut_logement = "locataire"',
            "caractère inattendu `=` — une égalité s'écrit `==`",
        ),
    ],
)
def test_a_rule_written_so_that_it_would_flag_other_households_is_refused_with_its_line(
    tmp_path, contract, old: str, new: str, said: str
) -> None:
    folder = _rule(tmp_path)
    _rule_text(folder, old, new)
    if new == "impaye_loyer_mois >= seuil\n":
        _rule_text(folder, "conditions:", "reglages:\n  seuil: 1,5\nconditions:")
    assert said in _refused(folder, contract)


@pytest.mark.parametrize(("setting", "said"), [("2", None), ("0", "priorité `0`"), ("1.5", "priorité `1.5`")])
def test_a_priority_naming_a_setting_is_checked_through_its_value_not_refused_as_computed(
    tmp_path, contract, setting: str, said: str | None
) -> None:
    # A setting is a number written in the rule's file, as adaptable by another Caf as any other.
    folder = _rule(tmp_path)
    _rule_text(folder, "priorite: 1\n", "priorite: si loyer > 500 alors 1 sinon niveau\n")
    _rule_text(folder, "conditions:", f"reglages:\n  niveau: {setting}\nconditions:")
    if said is None:
        assert _load(folder, contract).get("essai").settings == {"niveau": 2.0}
    else:
        text = _refused(folder, contract)
        assert f"{said} : un nombre entier d'au moins 1" in text and "calculée" not in text


def test_a_rule_without_conditions_is_refused_rather_than_flagging_everyone(tmp_path, contract) -> None:
    folder = _rule(tmp_path)
    path = folder / "essai.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("conditions:"), text.index("priorite:")
    path.write_text(text[:start] + "conditions: []\n" + text[end:], encoding="utf-8")
    assert "essai.yaml:10:1: `conditions` est vide — donnez au moins une condition" in _refused(
        folder, contract
    )


def test_a_broken_shared_formulas_file_is_told_with_its_line_not_an_internal_error(
    tmp_path, contract
) -> None:
    folder = _rule(tmp_path)
    (folder / "_formules.yaml").write_text("lit: [loyer]\nvaleurs:\n  a: loyer\n   b: [\n", encoding="utf-8")
    assert "_formules.yaml:" in _refused(folder, contract)
    (folder / "_formules.yaml").write_text("lit: [loyer]\nvaleurs:\n  - a: loyer\n", encoding="utf-8")
    assert "_formules.yaml:2:1: `valeurs` doit être une table nom → formule" in _refused(folder, contract)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (
            "59.85",
            "valeur 59.85 au-delà de 1 pour une fraction — écrivez un pourcentage en fraction : 0.5985",
        ),
        ('"59,85 %"', "écrite en pourcentage — écrivez la fraction avec un point"),
    ],
)
def test_a_percentage_written_for_a_fraction_is_refused(tmp_path, value: str, said: str) -> None:
    text = TABLE.replace("€/mois", "fraction").replace("valeur: {1: 100.0, 2: 90.0}", f"valeur: {value}")
    refused = _parameters_refused(tmp_path, text)
    assert said in refused and "essai.yaml:5:7" in refused


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("2020-01-01 00:00:00", "écrivez le jour seul, sans heure : depuis: 2020-01-01"),
        ('"2020-01-01"', "écrivez la date sans guillemets : depuis: 2020-01-01"),
        ("01/02/2020", "écrivez-la AAAA-MM-JJ, sans guillemets : depuis: 2020-02-01"),
        ("2020-2-1", "écrivez-la AAAA-MM-JJ, sans guillemets : depuis: 2020-02-01"),
        ("31/02/2020", "écrivez-la AAAA-MM-JJ, sans guillemets, par exemple depuis: 2024-04-01"),
        ("1er février 2020", "écrivez-la AAAA-MM-JJ, sans guillemets, par exemple depuis: 2024-04-01"),
    ],
)
def test_a_date_written_otherwise_is_refused_with_the_day_to_write(tmp_path, written: str, hint: str) -> None:
    refused = _parameters_refused(tmp_path, TABLE.replace("depuis: 2020-01-01", f"depuis: {written}", 1))
    assert f"`depuis` doit être une date — {hint}" in " ".join(refused.split())


def test_a_value_written_twice_in_a_parameter_file_is_refused(tmp_path) -> None:
    text = TABLE.replace("      source: Arrêté fictif", "      valeur: 7.0\n      source: Arrêté fictif")
    refused = _parameters_refused(tmp_path, text)
    assert "essai.yaml:7:7: `valeur` écrit deux fois au même niveau (déjà ligne 6)" in refused


def test_a_value_dated_years_ahead_is_refused_as_a_slip_of_the_year(tmp_path) -> None:
    ahead = datetime.date.today() + datetime.timedelta(days=3 * 366)
    refused = _parameters_refused(tmp_path, TABLE.replace("depuis: 2020-01-01", f"depuis: {ahead:%Y-%m-%d}"))
    assert f"`depuis` {ahead:%d/%m/%Y} est dans plus de deux ans — vérifiez l'année" in refused
    # A revaluation published for next year is accepted.
    soon = datetime.date.today() + datetime.timedelta(days=300)
    (tmp_path / "essai.yaml").write_text(
        TABLE.replace("depuis: 2020-01-01", f"depuis: {soon:%Y-%m-%d}"), encoding="utf-8"
    )
    assert load_parameters(tmp_path)


def test_a_table_looked_up_by_a_column_without_a_maximum_is_refused_with_the_bound_to_write(
    tmp_path, contract
) -> None:
    parameters = _parameters_copy(tmp_path)
    (parameters / "essai.yaml").write_text(TABLE, encoding="utf-8")
    folder = _rule(
        tmp_path,
        values="  plafond: min(loyer, essai.zone[impaye_loyer_mois])",
        explanation="{plafond} {loyer} {revenus_activite_allocataire}",
    )
    text = (folder / "essai.yaml").read_text(encoding="utf-8")
    (folder / "essai.yaml").write_text(
        text.replace("lit: [loyer,", "lit: [impaye_loyer_mois, loyer,"), encoding="utf-8"
    )
    message = _refused(folder, contract, parameters)
    assert (
        "la clé `impaye_loyer_mois` peut valoir 0 ou plus (le contrat d'extrait ne lui donne pas de maximum)"
        in message
    )
    assert (
        "n'a que les clés 1 à 2" in message and "`essai.zone[min(max(impaye_loyer_mois, 1), 2)]`" in message
    )

    (folder / "essai.yaml").write_text(
        (folder / "essai.yaml")
        .read_text(encoding="utf-8")
        .replace("essai.zone[impaye_loyer_mois]", "essai.zone[min(max(impaye_loyer_mois, 1), 2)]"),
        encoding="utf-8",
    )
    assert _load(folder, contract, parameters).rules[0].table_keys == {"essai.zone": frozenset({1, 2})}


def test_an_unquoted_commune_code_read_as_an_octal_number_is_shown_as_written(tmp_path, contract) -> None:
    folder = _rule(tmp_path, cases=CASE.format(name="octal", income=0.0, expected="{signale: true}"))
    _rule_text(folder, "lit: [loyer,", "lit: [code_commune, loyer,")
    _rule_text(folder, "impaye_loyer_mois: 3,", "impaye_loyer_mois: 3, code_commune: 04101,")
    _rule_text(folder, 'explication: "', 'explication: "{code_commune} ')
    said = _refused(folder, contract)
    assert "`code_commune: 04101` est lu par YAML comme le nombre 2113" in said
    assert 'écrivez-le entre guillemets : `code_commune: "04101"`' in said


@pytest.mark.parametrize(
    "lookup",
    [
        # Bounded by both sides of an `et` (the ranges meet, the last does not replace the first).
        "si impaye_loyer_mois <= 2 et impaye_loyer_mois >= 1 alors essai.zone[impaye_loyer_mois] sinon 0",
        # Within an `et`, the right side counts only where the left holds.
        "si impaye_loyer_mois >= 1 et impaye_loyer_mois <= 2 et essai.zone[impaye_loyer_mois] > 0 "
        "alors 1 sinon 0",
    ],
)
def test_a_table_look_up_guarded_in_the_expression_is_accepted(tmp_path, contract, lookup: str) -> None:
    parameters = _parameters_copy(tmp_path)
    (parameters / "essai.yaml").write_text(TABLE, encoding="utf-8")
    folder = _rule(
        tmp_path,
        values=f"  plafond: {lookup}",
        explanation="{plafond} {loyer} {revenus_activite_allocataire}",
    )
    assert _load(folder, contract, parameters).rules[0].table_keys == {"essai.zone": frozenset({1, 2})}


def test_a_table_look_up_guarded_by_the_conditions_before_it_is_accepted(tmp_path, contract) -> None:
    parameters = _parameters_copy(tmp_path)
    (parameters / "essai.yaml").write_text(TABLE, encoding="utf-8")
    folder = _rule(tmp_path, explanation="{loyer} {revenus_activite_allocataire}")
    # Every condition is required: the third is evaluated only where the first two hold.
    _rule_text(
        folder,
        "  - expression: impaye_loyer_mois >= 2\n",
        "  - expression: impaye_loyer_mois >= 1\n    libelle: un mois\n"
        "  - expression: impaye_loyer_mois <= 2\n    libelle: deux mois au plus\n"
        "  - expression: loyer > essai.zone[impaye_loyer_mois]\n",
    )
    assert _load(folder, contract, parameters).rules[0].table_keys == {"essai.zone": frozenset({1, 2})}
