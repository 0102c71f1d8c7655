"""The CSV files the data team imports (outcomes, questionnaires, STOP replies, bounces): nothing typed
is lost silently, spreadsheet habits are understood, every refusal names its line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from outreach.errors import OutcomeImportInvalid, OutreachError
from outreach.outcome_import import OUTCOME_COLUMNS, read_rows

REQUIRED = (("id_foyer", "reference"), ("resultat",), ("date",))


def _file(tmp_path: Path, text: str, name: str = "resultats.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(OutcomeImportInvalid) as refused:
        read_rows(path, OUTCOME_COLUMNS, required=REQUIRED)
    return str(refused.value)


def test_a_misspelt_column_is_refused_with_the_closest_known_name(tmp_path: Path) -> None:
    path = _file(
        tmp_path, "id_foyer;resultat;date;comentaire\nfoyer-test-00000001;joint;2026-03-12;rappeler\n"
    )

    said = _refusal(path)

    assert "ligne 1, colonne `comentaire` : colonne inconnue : vouliez-vous dire `commentaire` ?" in said


def test_a_column_nothing_resembles_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    said = _refusal(_file(tmp_path, "id_foyer;resultat;date;zzz\nfoyer-test-00000001;joint;2026-03-12;x\n"))

    assert "colonne `zzz` : colonne inconnue (colonnes possibles : id_foyer, reference," in said


def test_a_column_given_twice_is_refused(tmp_path: Path) -> None:
    said = _refusal(
        _file(tmp_path, "id_foyer;resultat;date;date\nfoyer-test-00000001;joint;2026-03-12;2026-03-13\n")
    )

    assert "ligne 1, colonne `date` : colonne en double" in said


def test_a_line_with_more_cells_than_the_header_is_refused_not_cut(tmp_path: Path) -> None:
    path = _file(tmp_path, "id_foyer;resultat;date\nfoyer-test-00000001;joint;2026-03-12;rappeler lundi\n")

    said = _refusal(path)

    assert "ligne 2, colonne `(colonne n° 4)` : 4 cellules pour 3 colonnes dans l'en-tête" in said
    assert "« ; »" in said
    assert "rappeler" not in said


def test_a_line_with_fewer_cells_than_the_header_is_refused_not_padded(tmp_path: Path) -> None:
    path = _file(tmp_path, "id_foyer;resultat;date;montant\nfoyer-test-00000001;droit_ouvert;2026-03-12\n")

    said = _refusal(path)

    assert (
        "ligne 2, colonne `montant` : 3 cellules pour 4 colonnes dans l'en-tête : complétez la ligne" in said
    )


def test_lines_of_separators_only_are_skipped(tmp_path: Path) -> None:
    path = _file(tmp_path, "id_foyer;resultat;date\n;;\nfoyer-test-00000001;joint;2026-03-12\n\n;;\n ; ; \n")

    header, rows = read_rows(path, OUTCOME_COLUMNS, required=REQUIRED)

    assert header == ["id_foyer", "resultat", "date"]
    assert rows == [(3, {"id_foyer": "foyer-test-00000001", "resultat": "joint", "date": "2026-03-12"})]


def test_a_header_with_an_unnamed_column_is_read_while_that_column_stays_empty(tmp_path: Path) -> None:
    path = _file(
        tmp_path, "resultat;date;id_foyer;\njoint;2026-03-12;foyer-test-00000001;\nrefus;2026-03-12;x;oups\n"
    )

    said = _refusal(path)

    assert "ligne 3, colonne `(colonne sans nom n° 4)` : valeur sous une colonne sans nom" in said
    assert "ligne 2" not in said


def test_an_empty_file_is_told_empty(tmp_path: Path) -> None:
    for text in ("", "\ufeff\n  \n"):
        with pytest.raises(OutreachError, match="le fichier est vide") as refused:
            read_rows(_file(tmp_path, text), OUTCOME_COLUMNS, required=REQUIRED)
        assert "colonne obligatoire" not in str(refused.value)


def test_a_tab_separated_file_is_read(tmp_path: Path) -> None:
    path = _file(tmp_path, "id_foyer\tresultat\tdate\nfoyer-test-00000001\tjoint\t2026-03-12\n")

    header, rows = read_rows(path, OUTCOME_COLUMNS, required=REQUIRED)

    assert header == ["id_foyer", "resultat", "date"] and rows[0][1]["resultat"] == "joint"


def test_a_cell_longer_than_the_csv_limit_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    long = "x" * (csv.field_size_limit() + 1)
    path = _file(
        tmp_path, f"id_foyer;resultat;date;commentaire\nfoyer-test-00000001;joint;2026-03-12;{long}\n"
    )

    said = _refusal(path)

    assert "ligne 2, colonne `(ligne)` : une cellule dépasse 131\u202f072 caractères" in said
    assert "xxxx" not in said


def test_a_stray_quote_is_told_by_its_line(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "id_foyer;resultat;date;commentaire\n"
        "foyer-test-00000001;joint;2026-03-12;ok\n"
        'foyer-test-00000002;joint;2026-03-12;"rappeler" lundi\n',
    )

    said = _refusal(path)

    assert "ligne 3, colonne `(ligne)` : CSV mal formé" in said


def test_bytes_that_are_not_utf8_are_told_by_their_line(tmp_path: Path) -> None:
    path = tmp_path / "resultats.csv"
    path.write_bytes("id_foyer;resultat;date;commentaire\nfoyer;joint;2026-03-12;déjà\n".encode("latin-1"))

    said = _refusal(path)

    assert "ligne 2, colonne `(fichier)` : le fichier n'est pas en UTF-8" in said


def test_a_folder_is_refused_like_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OutreachError, match="c'est un dossier, pas un fichier") as folder:
        read_rows(tmp_path, OUTCOME_COLUMNS)
    with pytest.raises(OutreachError, match="fichier introuvable") as missing:
        read_rows(tmp_path / "absent.csv", OUTCOME_COLUMNS)

    assert type(folder.value) is type(missing.value) is OutreachError
