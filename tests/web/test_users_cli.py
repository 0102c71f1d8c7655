"""`uptake users …` through the real command, on the test's own SQLite database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from uptake.db import make_engine, transaction
from uptake.models import User
from uptake.settings import load_settings
from uptake.users import authenticate


def _user(login: str) -> User | None:
    engine = make_engine(load_settings().database_url)
    with transaction(engine) as session:
        return session.scalars(select(User).where(User.login == login)).one_or_none()


def test_add_stores_an_argon2_hash_and_the_sectors(cli: Any) -> None:
    result = cli(
        "users",
        "add",
        "ts-forcalquier",
        "--role",
        "travailleur_social",
        "--secteur",
        "04088",
        "--secteur",
        "04178",
        "--password-stdin",
        stdin="une-phrase-de-passe-solide\n",
    )
    assert result.code == 0, result.output
    assert "Compte créé" in result.stdout
    user = _user("ts-forcalquier")
    assert user is not None
    assert user.password_hash.startswith("$argon2")
    assert "une-phrase-de-passe-solide" not in user.password_hash
    assert user.secteurs == ["04088", "04178"]


def test_add_refuses_a_sector_outside_the_territory_and_names_it(cli: Any) -> None:
    result = cli(
        "users",
        "add",
        "ts-ailleurs",
        "--role",
        "travailleur_social",
        "--secteur",
        "75056",
        "--password-stdin",
        stdin="une-phrase-de-passe-solide\n",
    )
    assert result.code == 2
    assert "75056" in result.stderr
    assert "Traceback" not in result.output
    assert _user("ts-ailleurs") is None


def test_add_refuses_a_short_password_and_an_unknown_role(cli: Any) -> None:
    short = cli("users", "add", "dpo1", "--role", "dpo", "--password-stdin", stdin="court\n")
    assert short.code == 2
    assert "trop court" in short.stderr
    role = cli(
        "users", "add", "dpo1", "--role", "chef", "--password-stdin", stdin="une-phrase-de-passe-solide\n"
    )
    assert role.code == 2
    assert "Rôle inconnu" in role.stderr


def test_password_is_never_taken_from_the_command_line(cli: Any) -> None:
    result = cli("users", "add", "dpo1", "--role", "dpo")
    assert result.code == 2
    assert "--password-stdin" in result.stderr


def test_disable_and_reset_password_change_who_can_sign_in(cli: Any) -> None:
    assert (
        cli(
            "users", "add", "dpo1", "--role", "dpo", "--password-stdin", stdin="premiere-phrase-secrete\n"
        ).code
        == 0
    )
    assert (
        cli("users", "reset-password", "dpo1", "--password-stdin", stdin="seconde-phrase-secrete\n").code == 0
    )
    engine = make_engine(load_settings().database_url)
    with transaction(engine) as session:
        assert authenticate(session, "dpo1", "premiere-phrase-secrete") is None
        assert authenticate(session, "dpo1", "seconde-phrase-secrete") is not None
    assert cli("users", "disable", "dpo1").code == 0
    with transaction(engine) as session:
        assert authenticate(session, "dpo1", "seconde-phrase-secrete") is None
    listing = cli("users", "list")
    assert "dpo1" in listing.stdout
    assert "désactivé" in listing.stdout
    unknown = cli("users", "disable", "personne")
    assert unknown.code == 2
    assert "Compte inconnu" in unknown.stderr
