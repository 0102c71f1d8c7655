"""A key rotation: its raw extract, read or refused in French; its mapping table, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from privacy.errors import InputInvalid
from privacy.rotation import known_matricules, mapping_table

PAIRS = pl.DataFrame({"ancien": ["a" * 16, "b" * 16], "nouveau": ["c" * 16, "d" * 16]})


def test_a_failure_while_rekeying_is_reported_as_it_is_and_the_next_rotation_starts_clean(
    engine: Engine,
) -> None:
    with (
        pytest.raises(DBAPIError) as raised,
        Session(engine) as session,
        session.begin(),
        mapping_table(session, PAIRS),
    ):
        session.execute(text("SELECT * FROM table_absente"))
    assert "table_absente" in str(raised.value)  # not an error about the mapping table

    with Session(engine) as session, session.begin(), mapping_table(session, PAIRS) as table:
        assert session.scalar(select(func.count()).select_from(table)) == 2


def test_a_raw_extract_without_any_matricule_is_refused_before_the_vault_would_be_emptied(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "brut.csv"
    raw.write_text("matricule;code_commune\n", encoding="utf-8")
    with pytest.raises(InputInvalid, match="aucun matricule dans le fichier"):
        known_matricules(raw)


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"PAR1\x00\x00", "ce n'est pas un fichier Parquet complet"), (b"", "fichier vide")],
)
def test_an_unreadable_raw_extract_for_a_rotation_is_named_with_its_cause(
    tmp_path: Path, content: bytes, said: str
) -> None:
    raw = tmp_path / "brut.parquet"
    raw.write_bytes(content)
    with pytest.raises(InputInvalid) as refused:
        known_matricules(raw)
    assert str(refused.value).startswith(f"{raw} : {said}")


def test_a_latin1_raw_extract_for_a_rotation_is_said_not_to_be_utf8(tmp_path: Path) -> None:
    raw = tmp_path / "brut.csv"
    raw.write_bytes("matricule;nom\n1000001;Hélène\n".encode("latin-1"))
    with pytest.raises(InputInvalid, match="n'est pas encodé en UTF-8"):
        known_matricules(raw)
