"""`uptake users …` through the real command, on the test's own SQLite database."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from privacy.models import AuditEntry
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


def _audit(action: str) -> list[tuple[str, str | None, str | None]]:
    engine = make_engine(load_settings().database_url)
    with transaction(engine) as session:
        return [
            (e.actor, e.object_ref, e.details)
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        ]


def _add_worker(cli: Any, *sectors: str) -> None:
    options = [part for code in sectors for part in ("--secteur", code)]
    result = cli(
        "users", "add", "ts-mobile", "--role", "travailleur_social", *options, "--password-stdin",
        stdin="une-phrase-de-passe-solide\n",
    )  # fmt: skip
    assert result.code == 0, result.output


def test_sectors_given_as_a_comma_separated_list_are_each_kept(cli: Any) -> None:
    _add_worker(cli, "04088,04178")
    user = _user("ts-mobile")
    assert user is not None and user.secteurs == ["04088", "04178"]
    [(_actor, ref, details)] = _audit("compte.creation")
    assert ref == "compte:ts-mobile" and "04178" in (details or "")


def test_sectors_replaces_a_social_workers_communes_once_and_logs_who_did_it(cli: Any) -> None:
    _add_worker(cli, "04088")
    result = cli(
        "users", "sectors", "ts-mobile", "--secteur", "04104", "--secteur", "04178", "--acteur", "chef"
    )
    assert result.code == 0, result.output
    assert "04104, 04178" in result.stdout
    user = _user("ts-mobile")
    assert user is not None and user.secteurs == ["04104", "04178"]
    again = cli("users", "sectors", "ts-mobile", "--secteur", "04178,04104")
    assert again.code == 0 and "Rien à changer" in again.stdout
    [(actor, _ref, details)] = _audit("compte.secteurs")
    assert actor == "chef" and json.loads(details or "{}") == {
        "avant": ["04088"],
        "apres": ["04104", "04178"],
    }


def test_sectors_are_refused_for_other_roles_and_outside_the_territory(cli: Any) -> None:
    assert (
        cli(
            "users", "add", "dpo-x", "--role", "dpo", "--password-stdin", stdin="une-phrase-de-passe-solide\n"
        ).code
        == 0
    )
    other_role = cli("users", "sectors", "dpo-x", "--secteur", "04088")
    assert other_role.code == 2 and "travailleur_social" in other_role.stderr
    _add_worker(cli, "04088")
    outside = cli("users", "sectors", "ts-mobile", "--secteur", "75056")
    assert outside.code == 2 and "75056" in outside.stderr
    unknown = cli("users", "sectors", "personne", "--secteur", "04088")
    assert unknown.code == 2 and "Compte inconnu" in unknown.stderr
    assert _audit("compte.secteurs") == []


def test_a_disabled_account_enabled_again_authenticates_with_its_old_password(cli: Any) -> None:
    _add_worker(cli, "04088")
    assert cli("users", "disable", "ts-mobile").code == 0
    engine = make_engine(load_settings().database_url)
    with transaction(engine) as session:
        assert authenticate(session, "ts-mobile", "une-phrase-de-passe-solide") is None
    enabled = cli("users", "enable", "ts-mobile")
    assert enabled.code == 0 and "Compte réactivé" in enabled.stdout
    with transaction(engine) as session:
        assert authenticate(session, "ts-mobile", "une-phrase-de-passe-solide") is not None
    again = cli("users", "enable", "ts-mobile")
    assert again.code == 0 and "Rien à changer" in again.stdout
    assert len(_audit("compte.desactivation")) == 1 and len(_audit("compte.reactivation")) == 1


def test_a_password_typed_by_the_admin_is_temporary_unless_said_final(cli: Any) -> None:
    _add_worker(cli, "04088")
    made = _user("ts-mobile")
    assert made is not None and made.password_temporary
    final = cli(
        "users", "add", "dpo-elle-meme", "--role", "dpo", "--password-stdin", "--mot-de-passe-definitif",
        stdin="une-phrase-de-passe-solide\n",
    )  # fmt: skip
    assert final.code == 0 and "provisoire" not in final.stdout
    chosen = _user("dpo-elle-meme")
    assert chosen is not None and not chosen.password_temporary
    reset = cli(
        "users", "reset-password", "dpo-elle-meme", "--password-stdin", stdin="une-autre-phrase-solide\n"
    )
    assert reset.code == 0 and "provisoire" in reset.stdout
    listing = cli("users", "list").stdout
    assert "provisoire" in listing.split("ts-mobile")[1].splitlines()[0]
    after = _user("dpo-elle-meme")
    assert after is not None and after.password_temporary


def test_list_shows_the_last_sign_in_and_points_out_an_account_left_unused(cli: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    _add_worker(cli, "04088")
    engine = make_engine(load_settings().database_url)
    with transaction(engine) as session:
        session.execute(
            update(User)
            .where(User.login == "ts-mobile")
            .values(
                created_at=datetime.now(UTC) - timedelta(days=120),
                password_changed_at=datetime.now(UTC) - timedelta(days=120),
            )
        )
    row = cli("users", "list").stdout.split("ts-mobile")[1]
    assert "jamais" in row and "sans connexion depuis plus de 90 jours" in " ".join(row.split())
    with transaction(engine) as session:
        assert authenticate(session, "ts-mobile", "une-phrase-de-passe-solide") is not None
    row = cli("users", "list").stdout.split("ts-mobile")[1]
    assert "jamais" not in row and "sans connexion" not in " ".join(row.split())


def test_a_social_worker_without_a_sector_is_refused_and_not_created(cli: Any) -> None:
    result = cli(
        "users", "add", "ts-nulle-part", "--role", "travailleur_social", "--password-stdin",
        stdin="une-phrase-de-passe-solide\n",
    )  # fmt: skip
    assert result.code != 0
    assert "Aucun secteur donné" in " ".join(result.output.split())
    assert _user("ts-nulle-part") is None


def test_disabling_the_last_active_administrator_warns_how_to_get_one_back(cli: Any) -> None:
    added = cli(
        "users", "add", "admin1", "--role", "admin", "--password-stdin", stdin="une-phrase-de-passe-solide\n"
    )  # fmt: skip
    assert added.code == 0, added.output
    disabled = cli("users", "disable", "admin1")
    assert disabled.code == 0
    said = " ".join(disabled.stdout.split())
    assert "plus aucun compte administrateur actif" in said and "uptake users enable admin1" in said


def test_a_login_typed_in_capitals_is_pointed_to_its_lower_case_account(cli: Any) -> None:
    _add_worker(cli, "04088")
    result = cli("users", "disable", "TS-MOBILE")
    assert result.code != 0
    assert "Les identifiants s'écrivent en minuscules : « ts-mobile » ?" in " ".join(result.output.split())
    assert _user("ts-mobile").active  # type: ignore[union-attr]
