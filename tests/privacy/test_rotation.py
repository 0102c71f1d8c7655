"""The mapping table of a key rotation, on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from privacy.rotation import mapping_table

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
