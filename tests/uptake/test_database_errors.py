"""A database that cannot be used is a French error naming it, its password hidden, not a crash."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, run_cli


def test_a_database_that_does_not_answer_is_named_without_its_password(uptake_home) -> None:
    url = f"postgresql+psycopg://caf:motdepasse-secret@127.0.0.1:{free_port()}/uptake"
    result = run_cli("runs", "list", env={"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": url})
    assert result.code == 2
    assert "ne répond pas ou refuse l'opération" in result.output and "caf:***@127.0.0.1" in result.output
    assert "motdepasse-secret" not in result.output and "Erreur interne" not in result.output


def test_a_postgresql_role_the_server_does_not_know_is_told_with_the_command_creating_it(
    uptake_home, postgres_server: str
) -> None:
    url = "postgresql+psycopg://role_jamais_cree@127.0.0.1/uptake"
    result = run_cli("check", env={"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": url})
    told = " ".join(result.output.split())
    assert result.code == 1
    assert "« createuser -h 127.0.0.1 -U postgres role_jamais_cree »" in told


def test_a_database_address_that_is_not_one_says_how_to_write_it(uptake_home) -> None:
    result = run_cli("runs", "list", env={"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": "base"})
    assert result.code == 2
    assert "n'est pas une adresse de base de données" in result.output
    assert "postgresql+psycopg://" in result.output


def test_a_database_other_than_postgresql_or_sqlite_is_refused_by_name(uptake_home) -> None:
    env = {"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": "mysql://caf@127.0.0.1/uptake"}
    result = run_cli("runs", "list", env=env)
    assert result.code == 2
    assert "base mysql, que uptake ne prend pas en charge" in result.output
    assert "Erreur interne" not in result.output


def test_a_postgresql_driver_that_is_not_installed_is_named(uptake_home) -> None:
    url = f"postgresql+asyncpg://caf@127.0.0.1:{free_port()}/uptake"
    result = run_cli("runs", "list", env={"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": url})
    assert result.code == 2
    assert "le pilote asyncpg, qui n'est pas installé" in result.output
    assert "Erreur interne" not in result.output


def test_a_file_that_is_not_a_database_is_named_and_not_an_internal_error(
    uptake_home, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("pas une base\n", encoding="utf-8")
    env = {"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": f"sqlite:///{notes}"}
    result = run_cli("validate", str(tmp_path / "extrait.parquet"), env=env)
    said = " ".join(result.stderr.split())
    assert result.code == 2
    assert f"la base SQLite {notes} (UPTAKE_DATABASE_URL) n'est pas une base de données SQLite" in said
    assert "Erreur interne" not in said and "DatabaseError" not in said
    assert notes.read_text(encoding="utf-8") == "pas une base\n"


def test_a_mistyped_sqlite_address_is_refused_and_creates_nothing(uptake_home, tmp_path: Path) -> None:
    mistyped = tmp_path / "donees" / "uptake.sqlite3"
    env = {"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": f"sqlite:///{mistyped}"}
    result = run_cli("runs", "list", env=env)
    said = " ".join(result.stderr.split())
    assert result.code == 2
    assert f"la base SQLite {mistyped} (UPTAKE_DATABASE_URL) n'existe pas (ni son dossier" in said
    assert "lancez « uptake db upgrade »" in said
    assert not mistyped.parent.exists()


def test_uptake_db_upgrade_creates_a_database_at_an_explicit_address(uptake_home, tmp_path: Path) -> None:
    wanted = tmp_path / "bases" / "uptake.sqlite3"
    env = {"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": f"sqlite:///{wanted}"}
    assert run_cli("db", "upgrade", env=env).code == 0
    assert wanted.is_file()
    assert run_cli("runs", "list", env=env).code == 0


def test_the_default_database_is_still_created_at_first_use(uptake_home) -> None:
    result = run_cli("runs", "list", env={"UPTAKE_HOME": str(uptake_home)})
    assert result.code == 0, result.output
    assert (uptake_home / "uptake.sqlite3").is_file()


def test_an_emptied_database_in_a_folder_in_use_is_refused_not_started_again(
    uptake_home, tmp_path: Path
) -> None:
    env = {"UPTAKE_HOME": str(uptake_home)}
    extract = tmp_path / "extrait.parquet"
    assert run_cli("synth", "--households", "60", "--out", str(extract), env=env).code == 0
    assert run_cli("run", "--extract", str(extract), env=env).code == 0
    assert run_cli("keys", "show", env=env).code == 0
    database = uptake_home / "uptake.sqlite3"
    database.write_bytes(b"")  # emptied (a failed copy, a restore gone wrong)
    result = run_cli("runs", "list", env=env)
    said = " ".join(result.stderr.split())
    assert result.code == 2
    assert f"la base {database} est vide (0 octet)" in said and "restaurez-la depuis sa sauvegarde" in said
    assert database.stat().st_size == 0  # left as found


def test_an_sqlite_file_that_refuses_the_operation_is_told_as_a_file_not_a_server() -> None:
    from uptake.db import unreachable

    said = str(unreachable("sqlite:////srv/uptake/uptake.sqlite3", RuntimeError("readonly")))
    assert "la base SQLite /srv/uptake/uptake.sqlite3 ne peut être ouverte ou modifiée" in said
    assert "son dossier /srv/uptake" in said and "serveur" not in said
