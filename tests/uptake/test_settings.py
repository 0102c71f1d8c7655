"""Which database the settings name, and when a named SQLite file must already exist."""

from __future__ import annotations

import builtins
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from uptake.context import AppContext
from uptake.db import DatabaseUnusable
from uptake.settings import Settings, database_problem, load_settings


def test_an_explicit_sqlite_address_must_name_an_existing_file(tmp_path: Path) -> None:
    env = {"UPTAKE_HOME": str(tmp_path / "home"), "UPTAKE_DATABASE_URL": "sqlite:////nonexistent/dir/x.db"}
    with pytest.raises(
        DatabaseUnusable, match=r"/nonexistent/dir/x\.db \(UPTAKE_DATABASE_URL\) n'existe pas"
    ):
        _ = AppContext(load_settings(env)).engine
    assert not Path("/nonexistent/dir").exists()
    created = AppContext(
        load_settings({**env, "UPTAKE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}), creates_database=True
    )
    assert created.engine is not None and (tmp_path / "x.db").is_file()


def test_the_default_database_and_an_address_naming_it_may_not_exist_yet(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert not load_settings({"UPTAKE_HOME": str(home)}).database_given
    named = load_settings(
        {"UPTAKE_HOME": str(home), "UPTAKE_DATABASE_URL": f"sqlite:///{home}/uptake.sqlite3"}
    )
    assert not named.database_given and not home.exists()


def test_a_missing_explicit_database_may_be_created_on_purpose(tmp_path: Path) -> None:
    wanted = Settings(tmp_path, f"sqlite:///{tmp_path / 'neuve.sqlite3'}", tmp_path, database_given=True)
    assert database_problem(wanted, creating=True) is None
    assert "lancez « uptake db upgrade »" in (database_problem(wanted) or "")


def test_a_server_database_is_not_checked_as_a_file(tmp_path: Path) -> None:
    settings = load_settings(
        {"UPTAKE_HOME": str(tmp_path), "UPTAKE_DATABASE_URL": "postgresql+psycopg://u@h/b"}
    )
    assert settings.database_given and database_problem(settings) is None


def test_checking_the_database_never_opens_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Closing any descriptor of an SQLite file drops every lock the process holds on it: a daemon's
    # open connections would then write unprotected (seen as « disk I/O error » under load).
    database = tmp_path / "uptake.sqlite3"
    sqlite3.connect(database).close()
    opened: list[str] = []
    real_open = io.open

    def watched(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", watched)
    monkeypatch.setattr(builtins, "open", watched)
    settings = Settings(tmp_path, f"sqlite:///{database}", tmp_path, database_given=True)

    assert database_problem(settings) is None
    assert str(database) not in opened


def test_a_data_folder_that_is_a_file_is_named_as_uptake_home(tmp_path: Path) -> None:
    extract = tmp_path / "extrait.parquet"
    extract.write_bytes(b"PAR1")
    with pytest.raises(DatabaseUnusable, match=r"UPTAKE_HOME désigne un fichier \(.*extrait\.parquet\)"):
        _ = AppContext(load_settings({"UPTAKE_HOME": str(extract)})).engine
    assert extract.read_bytes() == b"PAR1"


def test_an_empty_uptake_home_is_the_default_folder_not_the_current_one(tmp_path: Path) -> None:
    assert load_settings({"UPTAKE_HOME": ""}).home == load_settings({}).home
    assert load_settings({}).home.name == ".uptake"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_database_held_in_memory_is_refused_for_nothing_would_be_kept(tmp_path: Path, url: str) -> None:
    settings = load_settings({"UPTAKE_HOME": str(tmp_path / "home"), "UPTAKE_DATABASE_URL": url})
    problem = database_problem(settings)
    assert problem is not None and "base SQLite en mémoire : rien n'y serait conservé" in problem
