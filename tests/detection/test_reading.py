"""Reading any file handed over as an extract: the accepted shapes, and a clear problem for the others."""

from __future__ import annotations

import gzip
import os
import random
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.validation import ExtractRejected, validate_extract
from tests.detection.conftest import WriteExtract, to_text, valid_frame, write_extract


def _rejection(path: Path) -> ExtractRejected:
    with pytest.raises(ExtractRejected) as caught:
        validate_extract(path)
    return caught.value


def _only_code(path: Path) -> str:
    rejected = _rejection(path)
    assert len(rejected.problems) == 1, rejected.report()
    return rejected.problems[0].code


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    rejected = _rejection(tmp_path / "absent.parquet")
    assert [p.code for p in rejected.problems] == ["fichier_introuvable"]
    assert rejected.content_hash is None
    assert "n'existe pas" in rejected.report()
    # The whole path: the report's heading names the file only, and the typo may be in a folder's name.
    assert str(tmp_path / "absent.parquet") in rejected.report()


def test_a_directory_is_a_problem(tmp_path: Path) -> None:
    assert _only_code(tmp_path) == "fichier_repertoire"


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"], ids=["vide", "lignes_vides", "bom_seul"])
def test_an_empty_file_is_a_problem(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vide.csv"
    path.write_bytes(content)
    assert _only_code(path) == "fichier_vide"


def test_random_bytes_are_neither_parquet_nor_csv(tmp_path: Path) -> None:
    path = tmp_path / "extrait.parquet"
    path.write_bytes(random.Random(7).randbytes(5000))
    assert _only_code(path) == "format_inconnu"


def test_a_text_file_named_parquet_is_said_not_to_be_parquet(tmp_path: Path) -> None:
    path = tmp_path / "extrait.parquet"
    path.write_text("id_foyer,mois_reference\nabc,2025-06-01\n", encoding="utf-8")
    rejected = _rejection(path)
    assert [p.code for p in rejected.problems] == ["parquet_invalide"]
    assert "renommez-le en .csv" in " ".join(rejected.report().split())


@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_a_truncated_parquet_file_is_a_problem(extract_file: WriteExtract, keep: float) -> None:
    path = extract_file()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert _only_code(path) == "parquet_illisible"


def test_a_parquet_file_with_a_corrupt_middle_is_a_problem(extract_file: WriteExtract) -> None:
    path = extract_file()
    data = bytearray(path.read_bytes())
    data[8:400] = random.Random(3).randbytes(392)
    path.write_bytes(bytes(data))
    assert _only_code(path) in {"parquet_illisible", "lecture_impossible"}


def test_a_latin1_csv_is_refused_with_the_line_of_the_first_bad_character(tmp_path: Path) -> None:
    frame = to_text(valid_frame(), french=True).with_columns(pl.lit("élevé").alias("remarque"))
    path = tmp_path / "latin1.csv"
    path.write_bytes(frame.write_csv(separator=";").encode("latin-1"))

    rejected = _rejection(path)

    assert [p.code for p in rejected.problems] == ["encodage_invalide"]
    assert rejected.problems[0].first_rows == (1,)
    assert "UTF-8" in rejected.report()


def test_a_csv_cut_in_the_middle_of_a_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "coupe.csv"
    text = to_text(valid_frame(), french=False).with_columns(pl.lit("été").alias("note")).write_csv()
    path.write_bytes(text.encode()[:-2])
    assert _only_code(path) == "encodage_invalide"


def test_a_header_only_csv_has_no_household(tmp_path: Path) -> None:
    path = tmp_path / "entete.csv"
    path.write_text(",".join(valid_frame().columns) + "\n", encoding="utf-8")
    assert _only_code(path) == "aucune_ligne"


def test_a_csv_without_header_is_refused_without_quoting_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "sans_entete.csv"
    path.write_text(to_text(valid_frame(), french=False).write_csv(include_header=False), encoding="utf-8")

    rejected = _rejection(path)

    assert [p.code for p in rejected.problems] == ["entete_absente"]
    assert "foyer_000000000001" not in rejected.report()


def test_a_tab_separated_file_is_refused_with_the_separator_named(tmp_path: Path) -> None:
    path = tmp_path / "tabulations.csv"
    to_text(valid_frame(), french=False).write_csv(path, separator="\t")
    assert _only_code(path) == "separateur_invalide"


def test_a_duplicated_header_column_is_refused(tmp_path: Path) -> None:
    text = to_text(valid_frame(), french=False).write_csv()
    header, rest = text.split("\n", 1)
    path = tmp_path / "double.csv"
    path.write_text(header + ",loyer\n" + "\n".join(line + ",1" for line in rest.splitlines()) + "\n")

    rejected = _rejection(path)

    assert [(p.column, p.code) for p in rejected.problems] == [("loyer", "colonne_dupliquee")]


def test_a_csv_with_a_line_of_too_many_fields_is_refused(tmp_path: Path) -> None:
    text = to_text(valid_frame(), french=False).write_csv()
    path = tmp_path / "champs.csv"
    path.write_text(text + "a,b," * 40 + "\n")
    assert _only_code(path) == "lecture_impossible"


@pytest.mark.parametrize("shape", ["parquet", "csv", "csv_fr"])
def test_the_format_is_recognised_from_the_content_not_the_suffix(
    extract_file: WriteExtract, shape: str
) -> None:
    path = extract_file(shape=shape, name="extrait.dat")

    extract = validate_extract(path)

    assert extract.file_format == ("parquet" if shape == "parquet" else "csv")
    assert extract.scan().collect().equals(valid_frame())


def test_a_csv_with_bom_crlf_and_trailing_blank_lines_is_read(tmp_path: Path) -> None:
    text = to_text(valid_frame(), french=True).write_csv(separator=";", line_terminator="\r\n")
    path = tmp_path / "tableur.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (text + "\r\n\r\n").encode())

    extract = validate_extract(path)

    assert extract.rows == 5
    assert extract.scan().collect().equals(valid_frame())


def test_csv_spellings_of_booleans_numbers_and_dates_are_all_read(tmp_path: Path) -> None:
    frame = to_text(valid_frame(), french=True).with_columns(
        pl.Series("en_couple", ["NON", " Oui ", "1", "False", "TRUE"]),
        pl.Series("revenus_activite_allocataire", ["850,5", "1 450", "0", "0.0", "1\u00a0200,25"]),
        pl.Series("mois_reference", ["2024-03-01", "01/03/2024", "2024-03-01", "01/03/2024", "2024-03-01"]),
    )
    path = tmp_path / "orthographes.csv"
    frame.write_csv(path, separator=";")

    scanned = validate_extract(path).scan(["en_couple", "revenus_activite_allocataire"]).collect()

    assert scanned["en_couple"].to_list() == [False, True, True, False, True]
    assert scanned["revenus_activite_allocataire"].to_list() == [850.5, 1450.0, 0.0, 0.0, 1200.25]


def test_row_numbers_count_a_skipped_blank_line(tmp_path: Path) -> None:
    lines = (
        to_text(valid_frame(), french=False)
        .with_columns(pl.Series("age_allocataire", ["24", "35", "42", "67", "300"]))
        .write_csv()
        .splitlines()
    )
    path = tmp_path / "trou.csv"
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n")

    problem = _rejection(path).problems[0]

    assert (problem.code, problem.first_rows) == ("hors_bornes", (6,))


@pytest.mark.skipif(os.geteuid() == 0, reason="root lit tous les fichiers")
def test_an_unreadable_file_is_a_problem(extract_file: WriteExtract) -> None:
    path = extract_file()
    path.chmod(0)
    assert _only_code(path) == "fichier_illisible"


def _valid_bytes(shape: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return write_extract(valid_frame(), Path(folder) / "valide", shape).read_bytes()


_BASES = {shape: _valid_bytes(shape) for shape in ("parquet", "csv", "csv_fr")}


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from(sorted(_BASES)),
    cut=st.integers(0, 100),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=4)), max_size=6),
)
def test_any_damaged_file_gets_a_verdict_never_an_unexpected_error(
    shape: str, cut: int, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(_BASES[shape])
    for position, replacement in edits:
        at = position % len(data)
        data[at : at + len(replacement)] = replacement
    data = data[: max(1, len(data) * cut // 100)] if cut < 100 else data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "abime"
        path.write_bytes(bytes(data))
        try:
            validate_extract(path)
        except ExtractRejected as rejected:
            assert rejected.problems
            assert all(p.code and p.message for p in rejected.problems)


def _csv_lines(shape: str = "csv") -> list[str]:
    french = shape == "csv_fr"
    return to_text(valid_frame(), french=french).write_csv(separator=";" if french else ",").splitlines()


@pytest.mark.parametrize("shape", ["csv", "csv_fr"])
def test_csv_rows_with_fewer_fields_than_the_header_are_refused_with_their_numbers(
    tmp_path: Path, shape: str
) -> None:
    lines = _csv_lines(shape)
    separator = ";" if shape == "csv_fr" else ","
    # Rows 2 and 4 lose their last field (`opposition_contact`): read as empty, it would become false.
    for row in (2, 4):
        lines[row] = lines[row].rsplit(separator, 1)[0]
    path = tmp_path / "courtes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    problems = [(p.code, p.rows, p.first_rows) for p in _rejection(path).problems if not p.column]

    assert problems == [("champs_manquants", 2, (2, 4))]


def test_short_rows_are_counted_past_quoted_separators_and_line_breaks(tmp_path: Path) -> None:
    frame = to_text(valid_frame(), french=False).with_columns(
        pl.Series("remarque", ['a "b", c', "ligne\nsuivante, fin", "x", "y", "z"])
    )
    lines = frame.write_csv().split("\n")
    path = tmp_path / "guillemets.csv"
    # The quoted break makes row 2 two physical lines; row 3 then loses its `remarque`.
    lines[4] = lines[4].rsplit(",", 1)[0]
    path.write_text("\n".join(lines), encoding="utf-8")

    problems = [(p.code, p.first_rows) for p in _rejection(path).problems if not p.column]

    assert problems == [("champs_manquants", (3,))]


def test_a_csv_with_an_empty_last_field_is_not_short(tmp_path: Path) -> None:
    frame = to_text(valid_frame(), french=False).with_columns(pl.lit(None, pl.String).alias("remarque"))
    path = tmp_path / "vide_en_fin.csv"
    frame.write_csv(path)

    assert validate_extract(path).rows == 5


@pytest.mark.parametrize("cut", [1, 40])
def test_a_csv_cut_before_its_last_line_end_is_refused_as_truncated(tmp_path: Path, cut: int) -> None:
    text = "\n".join(_csv_lines()) + "\n"
    path = tmp_path / "tronque.csv"
    path.write_text(text[:-cut], encoding="utf-8")

    rejected = _rejection(path)

    assert [(p.code, p.first_rows) for p in rejected.problems] == [("fichier_tronque", (5,))]
    assert "fichier tronqué : la dernière ligne est incomplète" in rejected.report()


def test_a_short_row_past_the_first_megabytes_of_a_csv_is_found_with_its_number(tmp_path: Path) -> None:
    frame = pl.concat([to_text(valid_frame(), french=False)] * 2400)
    ids = pl.format("foyer_{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(12))
    lines = frame.with_columns(ids.alias("id_foyer")).write_csv().splitlines()
    lines[9000] = lines[9000].rsplit(",", 1)[0]
    lines.insert(3000, "")  # a blank line keeps its number: the short row becomes row 9001
    path = tmp_path / "grand.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 1 << 20  # past the first chunk read

    problems = [(p.code, p.rows, p.first_rows) for p in _rejection(path).problems if not p.column]

    assert problems == [("champs_manquants", 1, (9001,))]


@pytest.mark.parametrize("shape", ["csv", "csv_fr"])
def test_a_separator_ending_every_line_is_an_empty_unnamed_column_dropped(tmp_path: Path, shape: str) -> None:
    separator = ";" if shape == "csv_fr" else ","
    lines = _csv_lines(shape)
    path = tmp_path / "separateur_final.csv"
    path.write_text("".join(line + separator + "\n" for line in lines), encoding="utf-8")

    extract = validate_extract(path)

    assert extract.rows == 5
    assert extract.dropped_columns == ("(colonne n°32 sans en-tête)",)


def test_values_under_an_unnamed_column_are_refused_with_their_rows(tmp_path: Path) -> None:
    lines = _csv_lines()
    cells = ["", "", "", "x", " "]
    path = tmp_path / "sans_entete.csv"
    path.write_text(
        lines[0] + ",\n" + "".join(f"{line},{cell}\n" for line, cell in zip(lines[1:], cells, strict=True))
    )

    problems = [(p.column, p.code, p.first_rows) for p in _rejection(path).problems]

    assert problems == [("(colonne n°32 sans en-tête)", "valeur_sans_entete", (4,))]


def test_a_parquet_file_with_a_duplicated_column_names_it(tmp_path: Path) -> None:
    # polars refuses to write one: the second name is rewritten in the file's bytes (same length).
    frame = valid_frame().with_columns(pl.col("loyer").alias("loyex"))
    path = tmp_path / "double.parquet"
    buffer = BytesIO()
    frame.write_parquet(buffer)
    path.write_bytes(buffer.getvalue().replace(b"loyex", b"loyer"))

    rejected = _rejection(path)

    assert [(p.column, p.code) for p in rejected.problems] == [("loyer", "colonne_dupliquee")]
    assert "la colonne `loyer` apparaît plusieurs fois" in rejected.report()


def test_decimal_amounts_of_a_parquet_file_are_read_as_numbers(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(pl.col("loyer", "montant_ppa").cast(pl.Decimal(12, 2)))

    scanned = validate_extract(extract_file(frame)).scan(["loyer", "montant_ppa"]).collect()

    assert scanned.equals(valid_frame().select("loyer", "montant_ppa"))


def test_a_negative_decimal_amount_is_out_of_bounds(extract_file: WriteExtract) -> None:
    frame = valid_frame().with_columns(
        pl.Series("autres_ressources", [0, -5, 120, 980, 0], pl.Decimal(12, 2))
    )

    problem = _rejection(extract_file(frame)).problems[0]

    assert (problem.column, problem.code, problem.first_rows) == ("autres_ressources", "hors_bornes", (2,))


@pytest.mark.parametrize(("suffix", "compress"), [(".zip", "zip"), (".csv.gz", "gzip")])
def test_a_compressed_extract_is_told_to_be_decompressed(tmp_path: Path, suffix: str, compress: str) -> None:
    text = to_text(valid_frame(), french=False).write_csv().encode()
    path = tmp_path / f"extrait{suffix}"
    if compress == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("extrait.csv", text)
    else:
        path.write_bytes(gzip.compress(text))

    rejected = _rejection(path)

    assert [p.code for p in rejected.problems] == ["fichier_compresse"]
    assert "décompressez-le" in rejected.report()
