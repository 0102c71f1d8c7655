"""Column names: a contract column written otherwise is refused with its renaming, never dropped for its
default."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from detection.validation import ExtractRejected, validate_extract
from tests.detection.conftest import WriteExtract, valid_frame


def _problems(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ExtractRejected) as caught:
        validate_extract(path)
    return [(p.column, p.code, p.message) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("shape", "written"),
    [
        ("parquet", "Opposition_Contact"),
        ("parquet", "opposition_contact "),
        ("parquet", "Opposition-Contact"),
        ("csv", "Opposition_Contact"),
        ("csv_fr", "opposition contact"),
    ],
)
def test_a_contract_column_written_otherwise_is_refused_with_its_renaming(
    extract_file: WriteExtract, shape: str, written: str
) -> None:
    frame = valid_frame().rename({"opposition_contact": written})

    [(column, code, message)] = _problems(extract_file(frame, shape))

    assert (column, code) == (written, "colonne_mal_nommee")
    assert f"renommez `{written}` en `opposition_contact`" in message


def test_a_csv_header_with_spaces_around_a_contract_name_is_read_as_that_column(
    extract_file: WriteExtract,
) -> None:
    frame = valid_frame().rename({"opposition_contact": " opposition_contact "})

    extract = validate_extract(extract_file(frame, "csv"))

    assert extract.scan(["opposition_contact"]).collect()["opposition_contact"].to_list() == [
        False,
        False,
        False,
        True,
        False,
    ]


def test_a_contract_column_also_present_under_another_spelling_is_refused(
    extract_file: WriteExtract,
) -> None:
    frame = valid_frame().with_columns(pl.col("opposition_contact").alias("OPPOSITION_CONTACT"))

    [(column, code, message)] = _problems(extract_file(frame))

    assert (column, code) == ("OPPOSITION_CONTACT", "colonne_mal_nommee")
    assert "gardez-en une seule" in message


@pytest.mark.parametrize("shape", ["parquet", "csv"])
def test_a_header_in_upper_case_is_told_once_that_names_differ_only_by_case(
    extract_file: WriteExtract, shape: str
) -> None:
    frame = valid_frame().rename(str.upper)

    problems = _problems(extract_file(frame, shape))

    assert [(column, code) for column, code, _ in problems] == [("", "colonnes_mal_nommees")]
    assert "ne diffèrent de ceux du contrat que par les majuscules" in problems[0][2]
    assert "`ID_FOYER` au lieu de `id_foyer`" in problems[0][2]


def test_a_required_column_written_otherwise_is_not_also_said_absent(extract_file: WriteExtract) -> None:
    frame = valid_frame().rename({"code_commune": "Code_Commune"})

    problems = _problems(extract_file(frame))

    assert [(column, code) for column, code, _ in problems] == [("Code_Commune", "colonne_mal_nommee")]


@pytest.mark.parametrize("shape", ["parquet", "csv"])
def test_a_raw_extract_is_told_to_be_pseudonymised_first(extract_file: WriteExtract, shape: str) -> None:
    frame = valid_frame().rename({"id_foyer": "matricule"})
    path = extract_file(frame, shape, name=f"brut.{'parquet' if shape == 'parquet' else 'csv'}")

    [(column, code, message)] = _problems(path)

    assert (column, code) == ("", "extrait_brut")
    assert f"`uptake pseudonymise {path.name} --out extrait.parquet`" in message


def _directory(pseudonym: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            pseudonym: ["foyer_000000000001", "foyer_000000000002"],
            "civilite": ["Mme", "M."],
            "nom": ["FICTIVE", "EXEMPLE"],
            "prenom": ["Jeanne", "Paul"],
            "telephone": ["0612345678", ""],
            "email": ["", "paul@example.org"],
            "adresse": ["1 rue de l'Essai", ""],
            "code_postal": ["04000", "04100"],
            "ville": ["Digne-les-Bains", "Manosque"],
        }
    )


@pytest.mark.parametrize("shape", ["parquet", "csv"])
@pytest.mark.parametrize("pseudonym", ["id_foyer", "matricule"])
def test_a_contact_directory_is_told_to_be_imported_as_such(
    tmp_path: Path, shape: str, pseudonym: str
) -> None:
    path = tmp_path / f"contacts.{shape}"
    frame = _directory(pseudonym)
    if shape == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)

    with pytest.raises(ExtractRejected) as caught:
        validate_extract(path)

    assert [(p.column, p.code) for p in caught.value.problems] == [("", "annuaire_des_contacts")]
    report = caught.value.report()
    assert "c'est l'annuaire des contacts" in report
    assert "`uptake contacts import`" in report
    assert ("uptake pseudonymise" in report) == (pseudonym == "matricule")
    assert "FICTIVE" not in report and "0612345678" not in report
