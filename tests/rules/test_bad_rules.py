"""Bad rules are refused before any run, with file:line:column, and nothing reaches Python."""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path

import polars as pl
import pytest

from detection.contract import HOUSEHOLD_SCHEMA, ContractSummary
from rules.catalogue import default_catalogue_dir, load_catalogue
from rules.compiler import compile_catalogue
from rules.errors import CatalogueInvalid, ParametersInvalid, ParametersMissing
from rules.parameters import load_parameters

GOOD = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "2.2"
base_legale: [texte]
lit: [revenus_activite_allocataire, statut_logement, percoit_ppa, code_commune]
conditions:
  - {condition}
priorite: 1
"""


PERIMETERS = frozenset({"OPAH", "PIG", "OPAH Forcalquier centre ancien"})


def _load(tmp_path: Path, condition: str, contract: ContractSummary) -> CatalogueInvalid:
    (tmp_path / "essai.yaml").write_text(GOOD.format(condition=condition), encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(
            tmp_path, columns=contract.column_kinds, enums=contract.enum_values, perimeters=PERIMETERS
        )
    return caught.value


@pytest.mark.parametrize(
    ("condition", "message", "column"),
    [
        ("revenu_activite > 0", "vouliez-vous dire `revenus_activite_allocataire`", 5),
        ("loyer > 0", "n'est pas déclarée dans `lit`", 5),
        ('statut_logement == "locatair"', "valeur `locatair` impossible", 24),
        ("percoit_ppa + 1 > 0", "doit être un nombre", 5),
        ('revenus_activite_allocataire > "a"', "compare deux nombres", 5),
        ("racine(2) > 1", "fonction inconnue `racine`", 5),
        ("min(1) > 0", "attend au moins 2 argument", 5),
        ("ppa.montant_inconnu > 0", "paramètre inconnu", 5),
        ("si percoit_ppa alors 1 sinon vrai", "`alors` donne", 5),
        ("revenus_activite_allocataire >", "expression incomplète", 35),
        ('dans_perimetre("OPAH Manosque")', "périmètre inconnu `OPAH Manosque`", 20),
        ("al.plafond_loyer_seul > 0", "est une table", 5),
        ("ppa.montant_forfaitaire[1] > 0", "n'est pas une table", 5),
        (
            "arrondi(revenus_activite_allocataire, revenus_activite_allocataire) > 0",
            "doit être écrit tel quel",
            43,
        ),
        ("statut_logement dans (statut_logement)", "n'accepte que des valeurs écrites", 27),
        ('dans_perimetre("OPAH") > 1', "compare deux nombres", 5),
        ("percoit_ppa et 3", "doit être un booléen", 20),
    ],
)
def test_bad_rule_is_refused_with_position_and_hint(tmp_path, contract, condition, message, column) -> None:
    error = _load(tmp_path, condition, contract)
    assert message in str(error)
    problem = error.problems[0]
    assert problem.path.endswith("essai.yaml")
    assert (problem.line, problem.column) == (9, column)


@pytest.mark.parametrize(
    "condition",
    [
        '__import__("os").system("true")',
        "().__class__",
        "percoit_ppa.__class__",
        'open("/etc/passwd")',
        'eval("1")',
        "lambda x: x",
        "[x for x in percoit_ppa]",
        'f"{percoit_ppa}"',
        "(x := 1)",
        "percoit_ppa[0]",
    ],
)
def test_no_rule_reaches_python_builtins_attributes_or_files(tmp_path, contract, condition) -> None:
    error = _load(tmp_path, f"'{condition}'" if '"' in condition else condition, contract)
    assert error.problems


def test_one_bad_rule_stops_the_whole_catalogue_and_all_errors_are_listed(tmp_path, contract) -> None:
    for path in default_catalogue_dir().glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    broken = tmp_path / "rdv_droits_eloignes.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("commune_eloignee()", "commune_eloigne()"))
    other = tmp_path / "impaye_locatif.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace("statut_logement ==", "statut ==", 1))
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    text = str(caught.value)
    assert "rdv_droits_eloignes.yaml" in text and "commune_eloignee" in text
    assert "impaye_locatif.yaml" in text and "colonne inconnue `statut`" in text


def test_geography_functions_need_code_commune_declared(tmp_path, contract) -> None:
    text = GOOD.format(condition="commune_eloignee()").replace(", code_commune]", "]")
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueInvalid, match="ajoutez `code_commune` à `lit`"):
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)


def test_perimeter_unknown_to_the_configured_territory_is_refused_at_compile(
    tmp_path, contract, geography
) -> None:
    text = GOOD.format(condition='dans_perimetre("OPAH Manosque")')
    text = text.replace(
        "lit: [revenus_activite_allocataire, statut_logement, percoit_ppa, code_commune]",
        "lit: [code_commune]",
    )
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    catalogue = load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    with pytest.raises(CatalogueInvalid, match="périmètre inconnu `OPAH Manosque`") as caught:
        compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 6, 1), geography)
    assert (caught.value.problems[0].line, caught.value.problems[0].column) == (9, 20)


def test_month_without_parameter_value_is_a_clear_error(contract, geography) -> None:
    catalogue = load_catalogue(columns=contract.column_kinds, enums=contract.enum_values).select(
        ["ppa_non_recours"]
    )
    with pytest.raises(ParametersMissing) as caught:
        compile_catalogue(catalogue, load_parameters(), datetime.date(2020, 1, 1), geography)
    assert "n'a pas de valeur en vigueur en 01/2020" in str(caught.value)


def test_flags_are_long_one_row_per_household_and_rule_with_keep_columns(contract, geography) -> None:
    catalogue = load_catalogue(
        columns=contract.column_kinds, enums=contract.enum_values, perimeters=geography.perimeter_names()
    )
    compiled = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 6, 1), geography)
    row = {
        "id_foyer": "foyer_test_0000000001",
        "code_commune": "04088",
        "age_allocataire": 30,
        "en_couple": False,
        "nb_enfants": 0,
        "nb_enfants_moins_3_ans": 0,
        "revenus_activite_allocataire": 1020.0,
        "revenus_activite_conjoint": 0.0,
        "autres_ressources": 0.0,
        "montant_prestations_familiales": 0.0,
        "statut_logement": "locataire",
        "loyer": 450.0,
        "zone_logement": 3,
        "logement_non_decent": True,
        "impaye_loyer_mois": 0,
        "dette_locative": 0.0,
        "percoit_ppa": False,
        "percoit_rsa": False,
        "percoit_al": False,
        "montant_al": 0.0,
        "accompagnement_social": False,
        "evenement_vie": None,
        "date_evenement": None,
    }
    frame = pl.DataFrame([row]).with_columns(
        pl.col(
            "age_allocataire", "nb_enfants", "nb_enfants_moins_3_ans", "impaye_loyer_mois", "zone_logement"
        ).cast(pl.Int32),
        pl.col("date_evenement").cast(pl.Date),
        pl.col("evenement_vie").cast(pl.String),
    )
    flags = compiled.flags(
        frame.lazy().select(sorted(catalogue.columns_read)), keep=["code_commune"]
    ).collect()
    assert sorted(flags["regle"].to_list()) == ["al_non_recours", "logement_non_decent", "ppa_non_recours"]
    assert flags.schema["montant_estime"] == pl.Float64 and flags.schema["priorite"] == pl.Int32
    ppa = flags.filter(pl.col("regle") == "ppa_non_recours").row(0, named=True)
    assert ppa["explication"].startswith("Revenus d'activité 1 020 €/mois")
    assert ppa["empreinte_parametres"] == compiled.fingerprint and ppa["code_commune"] == "04088"
    assert flags.filter(pl.col("regle") == "logement_non_decent")["montant_estime"].is_null().all()


def test_position_inside_a_multi_line_expression_points_to_its_line(tmp_path, contract) -> None:
    rule = GOOD.format(condition="non percoit_ppa") + (
        "valeurs:\n  a: >-\n    revenus_activite_allocataire\n"
        "    + 2 * min(1,\n              revenu_activite)\n"
    )
    (tmp_path / "essai.yaml").write_text(rule, encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (15, 15)
    assert "revenu_activite" in problem.message


def test_missing_field_unknown_field_and_file_name_are_reported(tmp_path, contract) -> None:
    text = GOOD.format(condition="non percoit_ppa").replace("priorite: 1\n", "priorité: 1\n")
    (tmp_path / "autre.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    text = str(caught.value)
    assert "champ inconnu `priorité` — vouliez-vous dire `priorite` ?" in text
    assert "champ obligatoire `priorite` manquant" in text


def test_the_plan_reads_the_extract_once(tmp_path, contract, geography) -> None:
    catalogue = load_catalogue(
        columns=contract.column_kinds, enums=contract.enum_values, perimeters=geography.perimeter_names()
    )
    compiled = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 6, 1), geography)
    path = tmp_path / "extrait.parquet"
    pl.DataFrame(schema=HOUSEHOLD_SCHEMA).write_parquet(path)
    plan = compiled.flags(pl.scan_parquet(path).select(sorted(catalogue.columns_read))).explain()
    assert plan.count("Parquet SCAN") == 1


def test_conditions_met_name_only_the_alternatives_that_held(contract, geography) -> None:
    catalogue = load_catalogue(columns=contract.column_kinds, enums=contract.enum_values).select(
        ["impaye_locatif"]
    )
    compiled = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 6, 1), geography)
    frame = pl.DataFrame(
        {
            "id_foyer": ["dette_seule_000001", "mois_seuls_0000001"],
            "statut_logement": ["locataire", "locataire"],
            "impaye_loyer_mois": [1, 3],
            "dette_locative": [1000.0, 0.0],
            "loyer": [500.0, 500.0],
            "accompagnement_social": [False, False],
        },
        schema_overrides={"impaye_loyer_mois": pl.Int32},
    )
    flags = compiled.flags(frame.lazy()).collect().sort("id_foyer")
    assert flags["conditions_remplies"].to_list() == [
        "locataire ; dette d'au moins 2 mois de loyer ; pas encore d'accompagnement social",
        "locataire ; au moins 2 mois de loyer impayés ; pas encore d'accompagnement social",
    ]


def test_alternatives_need_at_least_two_conditions(tmp_path, contract) -> None:
    error = _load(tmp_path, "{au_moins_une: [non percoit_ppa]}", contract)
    assert "au moins deux conditions" in str(error)


def test_fingerprint_is_the_hash_of_the_recorded_values_and_changes_with_them(contract, geography) -> None:
    catalogue = load_catalogue(columns=contract.column_kinds, enums=contract.enum_values).select(
        ["ppa_non_recours"]
    )
    march = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 3, 1), geography)
    april = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 4, 1), geography)
    assert march.fingerprint != april.fingerprint
    record = april.parameters_record()
    assert record["parametres"]["ppa.montant_forfaitaire"] == {
        "valeur": 622.63,
        "depuis": "2024-04-01",
        "source": "Décret n° 2024-403 du 1er mai 2024, art. 1 ; CSS art. L842-3",
    }
    same = compile_catalogue(catalogue, load_parameters(), datetime.date(2024, 5, 1), geography)
    assert same.fingerprint == april.fingerprint and same.rule_versions == {"ppa_non_recours": "1.3.0"}


def test_yaml_python_tags_are_refused(tmp_path, contract) -> None:
    (tmp_path / "essai.yaml").write_text('id: !!python/object/apply:os.system ["true"]\n', encoding="utf-8")
    with pytest.raises(CatalogueInvalid, match=r"essai\.yaml:1:5: YAML illisible"):
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)


def test_declared_column_never_read_is_refused(tmp_path, contract) -> None:
    error = _load(tmp_path, "non percoit_ppa", contract)
    assert "`statut_logement` est déclarée dans `lit` mais jamais lue" in str(error)
    assert "`percoit_ppa` est déclarée" not in str(error)


@pytest.mark.parametrize(
    ("cases", "where", "message"),
    [
        ("  - nom: seuil\n    mois: 2024-13\n", (13, 11), "cas « seuil » : mois invalide `2024-13`"),
        ("  - nom: seuil\n", (12, 5), "cas « seuil » : `mois` manquant"),
        ("  - deux mois\n", (12, 5), "cas 1 : une table est attendue"),
    ],
)
def test_a_case_without_a_valid_month_makes_the_catalogue_invalid(
    tmp_path: Path, contract: ContractSummary, cases: str, where: tuple[int, int], message: str
) -> None:
    reads_all = 'revenus_activite_allocataire > 0 et statut_logement == "locataire" et percoit_ppa'
    text = GOOD.format(condition=f'{reads_all} et code_commune == "04088"') + "cas:\n" + cases
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    # The cases lack `attendu` too: that is reported as well, elsewhere.
    (problem,) = [p for p in caught.value.problems if message in p.message]
    assert (problem.line, problem.column) == where


@pytest.mark.parametrize("version", ["1.10", "v2", '"1.2.0-beta"'])
def test_a_rule_version_must_be_a_quoted_version_number(
    tmp_path: Path, contract: ContractSummary, version: str
) -> None:
    reads_all = 'revenus_activite_allocataire > 0 et statut_logement == "locataire" et percoit_ppa'
    text = GOOD.format(condition=f'{reads_all} et code_commune == "04088"').replace(
        'version: "1"', f"version: {version}"
    )
    (tmp_path / "essai.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    (problem,) = caught.value.problems
    assert problem.message.startswith("version invalide")
    assert "entre guillemets" in problem.hint


@pytest.mark.parametrize(
    ("file", "written", "hint"),
    [
        ("essai", "Essai", "écrivez `id: essai`"),
        ("essai", "es-sai", "écrivez `id: es_sai`, dans un fichier nommé `es_sai.yaml`"),
        ("famille_ete", "famille_été", "écrivez `id: famille_ete`"),
        ("essai", "3_enfants", "écrivez `id: regle_3_enfants`, dans un fichier nommé `regle_3_enfants.yaml`"),
    ],
)
def test_an_invalid_rule_id_is_told_once_with_the_id_to_write(
    tmp_path, contract, file: str, written: str, hint: str
) -> None:
    text = GOOD.format(condition="non percoit_ppa").replace("id: essai", f"id: {written}")
    text = text.replace(
        "lit: [revenus_activite_allocataire, statut_logement, percoit_ppa, code_commune]",
        "lit: [percoit_ppa]",
    )
    (tmp_path / f"{file}.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)

    (problem,) = caught.value.problems  # not also a rename of the file to the invalid id
    assert problem.message == f"identifiant invalide `{written}`" and problem.hint.endswith(hint)


def test_a_rule_file_named_with_an_invalid_id_is_to_be_renamed_after_its_id(tmp_path, contract) -> None:
    text = GOOD.format(condition="non percoit_ppa").replace(
        "lit: [revenus_activite_allocataire, statut_logement, percoit_ppa, code_commune]",
        "lit: [percoit_ppa]",
    )
    (tmp_path / "Essai-2.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)

    (problem,) = caught.value.problems
    assert problem.path.endswith("Essai-2.yaml") and problem.hint == "renommez le fichier `essai.yaml`"


NAMED = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "2.2"
base_legale: [texte]
lit: [loyer, nb_enfants]
reglages:
  enfants_minimum: 3
valeurs:
  loyer_par_enfant: loyer / nb_enfants
conditions:
  - nb_enfants >= enfants_minimum et loyer_par_enfant > 0
priorite: 1
"""


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # A non-breaking space, as a word processor puts before « : », invisible on screen.
        (
            "nb_enfants >= ",
            "nb_enfants\u00a0>= ",
            "13:15: caractère invisible inattendu : espace insécable (U+00A0) — remplacez-la par une espace",
        ),
        (
            "  enfants_minimum: 3",
            "  enfants_minimum\u202f: 3",
            "9:3: nom de réglage invalide `enfants_minimum\u202f` — il contient une espace fine insécable "
            "(U+202F), invisible à l'écran : écrivez `enfants_minimum`",
        ),
        (
            "  loyer_par_enfant: loyer",
            "  loyer_par_énfant: loyer",
            "11:3: nom de valeur invalide `loyer_par_énfant` — pas d'accents dans un nom : écrivez "
            "`loyer_par_enfant`",
        ),
        (
            "  loyer_par_enfant: loyer",
            "  loyer: loyer",
            "11:3: nom de valeur déjà pris `loyer` — c'est une colonne du contrat : choisissez un autre nom",
        ),
        (
            "lit: [loyer, nb_enfants]",
            "lit: [loyer, Nb_Enfants]",
            "7:14: colonne inconnue `Nb_Enfants` dans `lit` — pas de majuscules dans un nom : écrivez "
            "`nb_enfants`",
        ),
    ],
)
def test_a_name_with_an_accent_a_capital_or_an_invisible_space_is_told_with_the_name_to_write(
    tmp_path, contract, old: str, new: str, said: str
) -> None:
    (tmp_path / "essai.yaml").write_text(NAMED.replace(old, new), encoding="utf-8")

    with pytest.raises(CatalogueInvalid) as caught:
        load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)

    assert f"essai.yaml:{said}" in str(caught.value.problems[0])


def test_a_parameter_file_or_name_that_no_rule_could_cite_is_refused_with_the_name_to_write(tmp_path) -> None:
    parameter = (
        "montant:\n  unite: €/mois\n  valeurs:\n    - depuis: 2020-01-01\n      valeur: 1\n      source: s\n"
    )
    (tmp_path / "rsa-mayotte.yaml").write_text(parameter, encoding="utf-8")
    (tmp_path / "rsa.yaml").write_text(parameter.replace("montant:", "montant_majoré:"), encoding="utf-8")

    with pytest.raises(ParametersInvalid) as caught:
        load_parameters(tmp_path)

    hyphen, accent = (str(p) for p in caught.value.problems)
    assert hyphen.endswith(
        "rsa-mayotte.yaml:1:1: nom de fichier de paramètres invalide `rsa-mayotte.yaml` — lettres minuscules "
        "sans accents, chiffres et _ seulement : nommez-le `rsa_mayotte.yaml`"
    )
    assert accent.endswith(
        "rsa.yaml:1:1: nom de paramètre invalide `rsa.montant_majoré` — pas d'accents dans un "
        "nom : écrivez `montant_majore`"
    )
