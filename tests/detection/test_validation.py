"""Every rejection kind of contract v1, each triggered by its own file; and what a valid extract gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl
import pytest
from sqlalchemy import Engine, select

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA
from detection.imports import ImportRecord, record_import
from detection.validation import ExtractRejected, UnknownContractColumn, validate_extract
from privacy.canonical import caf_day
from tests.detection.conftest import MOIS, WriteExtract, to_text, valid_frame
from uptake.db import make_engine, transaction, upgrade


def _set(
    column: str, row: int, value: object, dtype: pl.DataType | None = None
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Put `value` in `column` at 0-based `row` (the report shows row + 1)."""

    def mutate(frame: pl.DataFrame) -> pl.DataFrame:
        values = frame[column].to_list()
        values[row] = value
        return frame.with_columns(pl.Series(column, values, dtype=dtype or frame.schema[column]))

    return mutate


def _with_extra(name: str, value: str, row: int = 1) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def mutate(frame: pl.DataFrame) -> pl.DataFrame:
        values = ["rien à signaler"] * frame.height
        values[row] = value
        return frame.with_columns(pl.Series(name, values))

    return mutate


def _with_typed_extra(name: str, values: pl.Series) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda frame: frame.with_columns(values.alias(name))


_PHONES = pl.Series([612345678, 0, 0, 0, 0], dtype=pl.Int64)
_NIRS = pl.Series([0, 184057645108946, 0, 0, 0], dtype=pl.Int64)


def _as_text(mutate: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Mutate the text a CSV export would hold (to put in cells what no typed column can)."""
    return lambda frame: mutate(to_text(frame, french=False))


@dataclass(frozen=True)
class Case:
    """One rejection: how to break the valid frame, the file shape, and what the report must say."""

    id: str
    mutate: Callable[[pl.DataFrame], pl.DataFrame]
    column: str
    code: str
    shape: str = "parquet"
    first_rows: tuple[int, ...] | None = None
    secret: str | None = None  # a value that must never appear in the report


CASES = [
    Case("nom_identifiant", _with_extra("telephone", "inconnu"), "telephone", "identifiant_direct"),
    Case("nom_identifiant_accents", _with_extra("Prénom", "inconnu"), "Prénom", "identifiant_direct"),
    # A name betrayed by one of its words (a failed pseudonymisation upstream), never quoted.
    Case(
        "nom_complet",
        _with_extra("nom_complet", "Jeanne FICTIVE-MARTIN"),
        "nom_complet",
        "identifiant_direct",
        secret="FICTIVE",
    ),
    Case("nom_prenom", _with_extra("Nom Prénom", "inconnu"), "Nom Prénom", "identifiant_direct"),
    Case("tel_portable", _with_extra("TelPortable", "inconnu"), "TelPortable", "identifiant_direct"),
    # A phone number, NIR or birth date stored as a number or a date is as identifying as in text.
    Case(
        "tel_portable_entier", _with_typed_extra("TelPortable", _PHONES), "TelPortable", "identifiant_direct"
    ),
    Case(
        "telephone_portable_entier",
        _with_typed_extra("telephone_portable", _PHONES),
        "telephone_portable",
        "identifiant_direct",
    ),
    Case("num_secu_entier", _with_typed_extra("num_secu", _NIRS), "num_secu", "identifiant_direct"),
    Case(
        "date_de_naissance_date",
        _with_typed_extra("date_de_naissance", pl.Series([dt.date(1980, 5, 2)] * 5)),
        "date_de_naissance",
        "identifiant_direct",
    ),
    Case(
        "num_allocataire", _with_extra("num_allocataire", "inconnu"), "num_allocataire", "identifiant_direct"
    ),
    Case("num_alloc", _with_extra("NumAlloc", "inconnu"), "NumAlloc", "identifiant_direct"),
    Case(
        "numero_allocataire",
        _with_extra("numero_allocataire", "inconnu"),
        "numero_allocataire",
        "identifiant_direct",
    ),
    Case(
        "telephone_entier_colonne_libre",
        _with_typed_extra("contact", _PHONES),
        "contact",
        "valeurs_telephone",
        first_rows=(1,),
        secret="612345678",
    ),
    Case(
        "nir_entier_colonne_libre",
        _with_typed_extra("reference", _NIRS),
        "reference",
        "valeurs_nir",
        first_rows=(2,),
        secret="184057645108946",
    ),
    Case(
        "telephone_international_entier",
        _with_typed_extra("contact", pl.Series([0, 0, 33612345678, 0, 0], dtype=pl.UInt64)),
        "contact",
        "valeurs_telephone",
        first_rows=(3,),
    ),
    Case("colonne_manquante", lambda f: f.drop("code_commune"), "code_commune", "colonne_manquante"),
    Case(
        "type_incorrect",
        lambda f: f.with_columns(pl.col("age_allocataire") > 30),
        "age_allocataire",
        "type_incorrect",
    ),
    Case(
        "entier_illisible",
        _as_text(_set("age_allocataire", 2, "trente")),
        "age_allocataire",
        "valeur_illisible",
        "csv",
        (3,),
    ),
    Case(
        "nombre_illisible", _as_text(_set("loyer", 0, "beaucoup")), "loyer", "valeur_illisible", "csv", (1,)
    ),
    Case("nombre_nan", _set("loyer", 0, float("nan")), "loyer", "valeur_illisible", first_rows=(1,)),
    Case(
        "booleen_illisible",
        _as_text(_set("en_couple", 1, "peut-être")),
        "en_couple",
        "valeur_illisible",
        "csv",
    ),
    Case(
        "date_illisible",
        _as_text(_set("date_evenement", 1, "2024-13-01")),
        "date_evenement",
        "valeur_illisible",
        "csv",
        (2,),
    ),
    Case(
        "valeur_manquante",
        _set("age_allocataire", 3, None),
        "age_allocataire",
        "valeur_manquante",
        first_rows=(4,),
    ),
    Case(
        "valeur_manquante_csv",
        _as_text(_set("percoit_rsa", 0, None)),
        "percoit_rsa",
        "valeur_manquante",
        "csv",
        (1,),
    ),
    Case(
        "age_hors_bornes", _set("age_allocataire", 4, 121), "age_allocataire", "hors_bornes", first_rows=(5,)
    ),
    Case("montant_requis_manquant", _set("loyer", 2, None), "loyer", "valeur_manquante", first_rows=(3,)),
    Case(
        "montant_requis_vide_csv_fr",
        _set("revenus_activite_conjoint", 1, None),
        "revenus_activite_conjoint",
        "valeur_manquante",
        "csv_fr",
        (2,),
    ),
    Case("enfants_negatifs", _set("nb_enfants", 0, -1), "nb_enfants", "hors_bornes"),
    Case("enfants_trop", _set("nb_enfants", 0, 21), "nb_enfants", "hors_bornes"),
    Case("zone_hors_bornes", _set("zone_logement", 1, 4), "zone_logement", "hors_bornes"),
    Case("revenus_negatifs", _set("autres_ressources", 1, -5.0), "autres_ressources", "hors_bornes"),
    Case("impayes_negatifs", _set("impaye_loyer_mois", 1, -2), "impaye_loyer_mois", "hors_bornes"),
    Case("dette_negative", _set("dette_locative", 1, -2.0), "dette_locative", "hors_bornes"),
    Case(
        "statut_inconnu",
        _set("statut_logement", 2, "locataire_social"),
        "statut_logement",
        "valeur_inconnue",
        first_rows=(3,),
    ),
    Case("evenement_inconnu", _set("evenement_vie", 1, "mariage"), "evenement_vie", "valeur_inconnue"),
    Case("id_trop_court", _set("id_foyer", 0, "court"), "id_foyer", "id_foyer_invalide", first_rows=(1,)),
    Case(
        "id_caractere_interdit",
        _set("id_foyer", 0, "foyer 000000000001"),
        "id_foyer",
        "id_foyer_invalide",
    ),
    Case(
        "id_en_double",
        _set("id_foyer", 3, "foyer_000000000002"),
        "id_foyer",
        "id_foyer_duplique",
        first_rows=(2, 4),
    ),
    Case(
        "commune_inconnue",
        _set("code_commune", 1, "99999"),
        "code_commune",
        "commune_inconnue",
        first_rows=(2,),
    ),
    Case(
        "mois_pas_premier_jour",
        lambda f: f.with_columns(mois_reference=pl.lit(dt.date(2024, 3, 15))),
        "mois_reference",
        "mois_pas_premier_jour",
        first_rows=(1, 2, 3, 4, 5),
    ),
    Case(
        "plusieurs_mois",
        _set("mois_reference", 2, dt.date(2024, 4, 1)),
        "mois_reference",
        "mois_reference_multiples",
        first_rows=(3,),
    ),
    # `%d/%m/%Y` alone would read a two-digit year as year 24, and the month as one of year 24.
    Case(
        "annee_sur_deux_chiffres",
        _as_text(_set("date_evenement", 1, "14/01/24")),
        "date_evenement",
        "date_trop_ancienne",
        "csv",
        (2,),
    ),
    Case(
        "mois_annee_sur_deux_chiffres",
        _as_text(lambda f: f.with_columns(mois_reference=pl.lit("01/03/24"))),
        "mois_reference",
        "date_trop_ancienne",
        "csv",
        (1, 2, 3, 4, 5),
    ),
    Case(
        "date_avant_1900",
        _set("date_evenement", 1, dt.date(1899, 12, 31)),
        "date_evenement",
        "date_trop_ancienne",
        first_rows=(2,),
    ),
    Case(
        "mois_futur",
        lambda f: f.with_columns(mois_reference=pl.lit(dt.date(2099, 1, 1))),
        "mois_reference",
        "mois_reference_futur",
        first_rows=(1, 2, 3, 4, 5),
    ),
    Case(
        "mois_futur_csv",
        _as_text(lambda f: f.with_columns(mois_reference=pl.lit(dt.date(2099, 1, 1)))),
        "mois_reference",
        "mois_reference_futur",
        "csv",
        (1, 2, 3, 4, 5),
    ),
    Case(
        "nir_colonne_libre",
        _with_extra("remarque", "né 1 84 05 76 451 089 46"),
        "remarque",
        "valeurs_nir",
        first_rows=(2,),
        secret="451 089",
    ),
    Case(
        "nir_colonne_contrat",
        _set("id_foyer", 0, "184057645108946"),
        "id_foyer",
        "valeurs_nir",
        secret="184057645108946",
    ),
    Case(
        "telephone_colonne_libre",
        _with_extra("remarque", "rappeler au 06 12 34 56 78"),
        "remarque",
        "valeurs_telephone",
        first_rows=(2,),
        secret="06 12 34 56 78",
    ),
    Case(
        "telephone_csv_fr",
        _with_extra("remarque", "+33 6 12 34 56 78", row=4),
        "remarque",
        "valeurs_telephone",
        "csv_fr",
        (5,),
        secret="12 34 56 78",
    ),
    Case(
        "telephone_colonne_contrat",
        _set("code_commune", 0, "0612345678"),
        "code_commune",
        "valeurs_telephone",
        secret="0612345678",
    ),
    Case(
        "telephone_dans_un_montant_csv",
        _as_text(_set("dette_locative", 3, "06 12 34 56 78")),
        "dette_locative",
        "valeurs_telephone",
        "csv",
        (4,),
        secret="06 12 34 56 78",
    ),
    Case(
        "nir_dans_un_entier_csv",
        _as_text(_set("impaye_loyer_mois", 0, "184057645108946")),
        "impaye_loyer_mois",
        "valeurs_nir",
        "csv",
        (1,),
        secret="184057645108946",
    ),
    Case(
        "email_colonne_libre",
        _with_extra("contact", "marie.martin@example.org"),
        "contact",
        "valeurs_email",
        secret="marie.martin",
    ),
    Case(
        "email_colonne_contrat",
        _set("evenement_vie", 0, "paul@example.fr"),
        "evenement_vie",
        "valeurs_email",
        secret="paul@",
    ),
    Case(
        "enfants_moins_3_ans",
        _set("nb_enfants_moins_3_ans", 0, 1),
        "nb_enfants_moins_3_ans",
        "enfants_moins_3_ans_excedent",
        first_rows=(1,),
    ),
    Case(
        "revenus_conjoint_hors_couple",
        _set("revenus_activite_conjoint", 0, 300.0),
        "revenus_activite_conjoint",
        "revenus_conjoint_hors_couple",
        first_rows=(1,),
    ),
    Case("loyer_hors_location", _set("loyer", 1, 500.0), "loyer", "loyer_hors_location", first_rows=(2,)),
    Case(
        "montant_ppa", _set("montant_ppa", 1, 50.0), "montant_ppa", "montant_sans_versement", first_rows=(2,)
    ),
    Case("montant_rsa", _set("montant_rsa", 0, 50.0), "montant_rsa", "montant_sans_versement"),
    Case("montant_al", _set("montant_al", 1, 50.0), "montant_al", "montant_sans_versement"),
    Case(
        "date_evenement_manquante",
        _set("date_evenement", 1, None),
        "date_evenement",
        "date_evenement_manquante",
        first_rows=(2,),
    ),
    Case(
        "date_evenement_posterieure",
        _set("date_evenement", 1, dt.date(2024, 4, 1)),
        "date_evenement",
        "date_evenement_posterieure",
        first_rows=(2,),
    ),
]


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite database for the whole module (the rejection cases only add rows)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('imports') / 'imports.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_contract_breach_rejects_the_file_names_the_column_and_is_recorded_rejected(
    case: Case, extract_file: WriteExtract, sqlite_engine: Engine
) -> None:
    path = extract_file(case.mutate(valid_frame()), case.shape)

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(path)

    rejected = caught.value
    assert rejected.exit_code == 2
    matching = [p for p in rejected.problems if p.code == case.code and p.column == case.column]
    assert matching, rejected.report()
    assert f"`{case.column}`" in rejected.report()
    if case.first_rows is not None:
        assert matching[0].first_rows == case.first_rows
        assert matching[0].rows == len(case.first_rows)
    if case.secret is not None:
        assert case.secret not in rejected.report()
        assert case.secret not in str(rejected.problems)
    with transaction(sqlite_engine) as session:
        import_id = record_import(session, rejected)
    with transaction(sqlite_engine) as session:
        outcomes = session.scalars(
            select(ImportRecord.outcome).where(ImportRecord.content_hash == rejected.content_hash)
        ).all()
        record = session.get(ImportRecord, import_id)
        assert record is not None
        assert any(p["code"] == case.code and p["column"] == case.column for p in record.problems)
    assert outcomes and set(outcomes) == {"rejete"}


def test_every_problem_of_a_file_is_reported_together(extract_file: WriteExtract) -> None:
    frame = _set("age_allocataire", 0, 130)(valid_frame())
    frame = _set("code_commune", 2, "00000")(frame).drop("zone_logement")
    frame = _with_extra("remarque", "appeler le 0612345678")(frame)

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    codes = {(p.column, p.code) for p in caught.value.problems}
    assert codes == {
        ("zone_logement", "colonne_manquante"),
        ("age_allocataire", "hors_bornes"),
        ("code_commune", "commune_inconnue"),
        ("remarque", "valeurs_telephone"),
    }
    report = caught.value.report()
    assert "4 problèmes" in report
    assert "0612345678" not in report


def test_a_valid_extract_is_accepted_with_its_month_rows_and_hash(extract_file: WriteExtract) -> None:
    path = extract_file()

    extract = validate_extract(path)

    assert extract.rows == 5
    assert extract.mois_reference == MOIS
    assert extract.file_format == "parquet"
    assert extract.dropped_columns == ()
    assert len(extract.content_hash) == 64


def test_scan_is_typed_exactly_as_the_contract(extract_file: WriteExtract) -> None:
    extract = validate_extract(extract_file())

    frame = extract.scan().collect()

    assert frame.schema == pl.Schema(HOUSEHOLD_SCHEMA)
    assert frame.equals(valid_frame())


def test_optional_columns_absent_from_the_file_take_their_defaults(extract_file: WriteExtract) -> None:
    optional = [c.name for c in HOUSEHOLD_COLUMNS if not c.required]
    extract = validate_extract(extract_file(valid_frame().drop(optional)))

    frame = extract.scan().collect()

    assert frame.schema == pl.Schema(HOUSEHOLD_SCHEMA)
    assert frame["montant_ppa"].to_list() == [0.0] * 5
    assert frame["opposition_contact"].to_list() == [False] * 5
    assert frame["evenement_vie"].null_count() == 5


def test_empty_cells_of_optional_columns_take_their_defaults(extract_file: WriteExtract) -> None:
    frame = _set("dette_locative", 2, None)(_set("canal_sms", 0, None)(valid_frame()))

    scanned = validate_extract(extract_file(frame)).scan(["dette_locative", "canal_sms"]).collect()

    assert scanned["dette_locative"][2] == 0.0
    assert scanned["canal_sms"][0] is False


def test_extra_columns_are_dropped_and_named(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(pl.lit("B").alias("segment"), pl.lit(3).alias("score_interne"))

    extract = validate_extract(extract_file(frame, "csv"))

    assert extract.dropped_columns == ("segment", "score_interne")
    assert "segment" not in extract.scan().collect_schema()


@pytest.mark.parametrize("shape", ["parquet", "csv"])
def test_extra_columns_about_an_identifier_but_not_one_are_dropped_not_refused(
    extract_file: WriteExtract, shape: str
) -> None:
    # Facts about the identifier (a flag, a type, a year) hold no name nor number: the month runs.
    names = (
        "top_nir_certifie", "tel_valide", "presence_mobile", "adresse_connue", "type_adresse",
        "annee_naissance", "nom_fichier", "mois_naissance_dernier_enfant",
    )  # fmt: skip
    frame = valid_frame().with_columns(
        pl.lit(True).alias(names[0]), *(pl.lit("1").alias(n) for n in names[1:])
    )

    extract = validate_extract(extract_file(frame, shape))

    assert extract.dropped_columns == names


def test_typed_extra_columns_about_an_identifier_are_dropped_not_refused(extract_file: WriteExtract) -> None:
    # A flag says whether a number exists, a year or a count is no identifier, whatever the type.
    frame = valid_frame().with_columns(
        pl.lit(True).alias("telephone_portable_connu"),
        pl.lit(True).alias("TelPortable"),
        pl.lit(1984, pl.Int64).alias("annee_naissance"),
        pl.lit(2, pl.Int64).alias("nb_allocataires"),
        pl.lit(3, pl.UInt8).alias("score"),
    )

    extract = validate_extract(extract_file(frame))

    assert extract.dropped_columns == (
        "telephone_portable_connu", "TelPortable", "annee_naissance", "nb_allocataires", "score"
    )  # fmt: skip


def test_scan_of_some_columns_reads_only_those_in_the_requested_order(extract_file: WriteExtract) -> None:
    extract = validate_extract(extract_file(valid_frame().drop("canal_email")))

    frame = extract.scan(["loyer", "canal_email", "id_foyer"]).collect()

    assert frame.columns == ["loyer", "canal_email", "id_foyer"]
    assert frame.height == 5
    assert frame["canal_email"].to_list() == [False] * 5


def test_scan_refuses_a_column_outside_the_contract(extract_file: WriteExtract) -> None:
    extract = validate_extract(extract_file())

    with pytest.raises(UnknownContractColumn, match="nom"):
        extract.scan(["id_foyer", "nom"])


def test_a_life_event_on_the_last_day_of_the_reference_month_is_accepted(extract_file: WriteExtract) -> None:
    frame = _set("date_evenement", 1, dt.date(2024, 3, 31))(valid_frame())

    assert validate_extract(extract_file(frame)).rows == 5


def test_timestamps_at_midnight_are_read_as_dates(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(pl.col("mois_reference").cast(pl.Datetime("us")))

    extract = validate_extract(extract_file(frame))

    assert extract.scan(["mois_reference"]).collect()["mois_reference"].to_list() == [MOIS] * 5


def test_a_timestamp_that_is_not_midnight_is_not_a_date(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(
        pl.col("mois_reference").cast(pl.Datetime("us")) + pl.duration(hours=pl.int_range(pl.len()))
    )

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    problem = next(p for p in caught.value.problems if p.column == "mois_reference")
    assert problem.code == "valeur_illisible"
    assert problem.first_rows == (2, 3, 4, 5)


def test_nothing_is_mistaken_for_an_identifier_in_a_valid_extract_with_free_text(
    extract_file: WriteExtract,
) -> None:
    frame = valid_frame().with_columns(
        pl.Series("remarque", ["dossier 2024-03", "RDV 14h30", "loyer 610,50 €", "tél. à demander", "-"])
    )

    assert validate_extract(extract_file(frame, "csv_fr")).dropped_columns == ("remarque",)


def test_missing_ids_are_missing_values_not_duplicates(extract_file: WriteExtract) -> None:
    frame = _set("id_foyer", 1, None)(_set("id_foyer", 3, None)(valid_frame()))

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    assert [(p.code, p.first_rows) for p in caught.value.problems] == [("valeur_manquante", (2, 4))]


def test_several_reference_months_are_reported_against_the_most_frequent(extract_file: WriteExtract) -> None:
    frame = _set("mois_reference", 0, dt.date(2024, 2, 1))(
        _set("mois_reference", 4, dt.date(2024, 4, 1))(valid_frame())
    )

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    problem = caught.value.problems[0]
    assert (problem.code, problem.rows, problem.first_rows) == ("mois_reference_multiples", 2, (1, 5))


def test_whole_numbers_stored_as_floats_are_read_as_integers(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(pl.col("impaye_loyer_mois").cast(pl.Float64))
    frame = _set("impaye_loyer_mois", 1, None)(frame)

    scanned = validate_extract(extract_file(frame)).scan(["impaye_loyer_mois"]).collect()

    assert scanned["impaye_loyer_mois"].to_list() == [0, 0, 3, 0, 0]
    assert scanned.schema["impaye_loyer_mois"] == pl.Int32


def test_fractional_numbers_in_an_integer_column_are_unreadable(extract_file: WriteExtract) -> None:
    frame = _set("nb_enfants", 2, 2.5)(valid_frame().with_columns(pl.col("nb_enfants").cast(pl.Float64)))

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(extract_file(frame))

    assert [(p.column, p.code, p.first_rows) for p in caught.value.problems] == [
        ("nb_enfants", "valeur_illisible", (3,))
    ]


def test_the_current_month_at_the_caf_is_accepted(extract_file: WriteExtract) -> None:
    current = caf_day(dt.datetime.now(dt.UTC)).replace(day=1)
    frame = valid_frame().with_columns(mois_reference=pl.lit(current))

    assert validate_extract(extract_file(frame)).mois_reference == current
