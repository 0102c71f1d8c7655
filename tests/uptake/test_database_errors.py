"""A database that cannot be used is a French error naming it, its password hidden, not a crash."""

from __future__ import annotations

from tests.conftest import free_port, run_cli


def test_a_database_that_does_not_answer_is_named_without_its_password(uptake_home) -> None:
    url = f"postgresql+psycopg://caf:motdepasse-secret@127.0.0.1:{free_port()}/uptake"
    result = run_cli("runs", "list", env={"UPTAKE_HOME": str(uptake_home), "UPTAKE_DATABASE_URL": url})
    assert result.code == 2
    assert "ne répond pas ou refuse l'opération" in result.output and "caf:***@127.0.0.1" in result.output
    assert "motdepasse-secret" not in result.output and "Erreur interne" not in result.output


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
