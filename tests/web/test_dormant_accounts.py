"""Accounts left unused are disabled: by `disable_dormant`, the `comptes_inactifs` job and
`uptake users disable-dormant`, never the last administrator, and afresh only after a re-enabling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from privacy.models import AuditEntry
from tests.web.conftest import age_account
from uptake.context import AppContext
from uptake.db import alembic_config, transaction, upgrade
from uptake.jobs import JOBS, ScheduleError, dormant_accounts_job
from uptake.models import User
from uptake.users import DORMANT_AFTER, add_user, authenticate, disable_dormant, review_account, set_active

PASSWORD = "une-phrase-de-passe-solide"


def _add(engine: Engine, login: str, role: str = "equipe_donnees") -> None:
    with transaction(engine) as session:
        add_user(session, login, role=role, password=PASSWORD, actor="test", temporary=False)


def _unused_for(engine: Engine, login: str, days: int, *, signed_in: bool = True) -> None:
    """Created 400 days ago; signed in `days` days ago (or never)."""
    age_account(
        engine, login, created=timedelta(days=400), signed_in=timedelta(days=days) if signed_in else None
    )


def _active(engine: Engine) -> dict[str, bool]:
    with transaction(engine) as session:
        return {u.login: u.active for u in session.scalars(select(User))}


def test_only_the_accounts_unused_for_longer_than_the_delay_are_disabled_with_the_reason(
    engine: Engine,
) -> None:
    days = DORMANT_AFTER.days
    for login in ("admin", "ancien", "recent", "jamais", "nouveau"):
        _add(engine, login, role="admin" if login == "admin" else "equipe_donnees")
    _unused_for(engine, "admin", 1)
    _unused_for(engine, "ancien", days + 1)
    _unused_for(engine, "recent", days - 1)
    _unused_for(engine, "jamais", 0, signed_in=False)  # created 400 days ago, never used
    with transaction(engine) as session:
        sweep = disable_dormant(session, actor="planificateur:comptes")
    assert sorted(sweep.disabled) == ["ancien", "jamais"] and sweep.admin_kept is None
    assert _active(engine) == {
        "admin": True,
        "ancien": False,
        "recent": True,
        "jamais": False,
        "nouveau": True,
    }
    with transaction(engine) as session:
        assert authenticate(session, "ancien", PASSWORD) is None
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "compte.desactivation")).all()
    assert {e.object_ref for e in entries} == {"compte:ancien", "compte:jamais"}
    assert {e.actor for e in entries} == {"planificateur:comptes"}
    assert all(
        json.loads(e.details or "{}")["motif"] == f"sans connexion depuis plus de {days} jours"
        for e in entries
    )
    # Run again the same day: nothing more to do, nothing more logged.
    with transaction(engine) as session:
        assert disable_dormant(session, actor="planificateur:comptes").disabled == ()


def test_an_account_enabled_again_counts_its_inactivity_from_then(engine: Engine) -> None:
    _add(engine, "admin", role="admin")
    _add(engine, "revenu")
    _unused_for(engine, "revenu", DORMANT_AFTER.days + 30)
    with transaction(engine) as session:
        assert disable_dormant(session, actor="test").disabled == ("revenu",)
        set_active(session, "revenu", True, actor="admin")
    with transaction(engine) as session:
        # Its last sign-in is still months old, but an administrator has just handed it back.
        assert disable_dormant(session, actor="test").disabled == ()
        review = review_account(session, "revenu")
    assert review is not None and review.account.active
    later = datetime.now(UTC) + DORMANT_AFTER + timedelta(days=1)
    with transaction(engine) as session:
        assert disable_dormant(session, actor="test", now=later).disabled == ("revenu",)


def test_a_new_password_handed_over_by_the_administrator_restarts_the_count(engine: Engine) -> None:
    from uptake.users import reset_password

    _add(engine, "oublieux")
    _unused_for(engine, "oublieux", DORMANT_AFTER.days + 10)
    with transaction(engine) as session:
        reset_password(session, "oublieux", "encore-une-phrase-solide", actor="admin")
        assert disable_dormant(session, actor="test").disabled == ()


@pytest.mark.parametrize(("other_unused_days", "kept"), [(120, "admin-b"), (3, None)])
def test_the_last_active_administrator_is_kept_and_pointed_out(
    engine: Engine, other_unused_days: int, kept: str | None
) -> None:
    for login in ("admin-a", "admin-b"):
        _add(engine, login, role="admin")
    _unused_for(engine, "admin-a", 200)
    _unused_for(engine, "admin-b", other_unused_days)
    with transaction(engine) as session:
        sweep = disable_dormant(session, actor="test")
    # Both unused: the one used most recently stays, to enable the others again; one still in use
    # lets the other go.
    assert sweep.disabled == ("admin-a",) and sweep.admin_kept == kept
    assert _active(engine) == {"admin-a": False, "admin-b": True}


def test_accounts_whose_sign_ins_were_never_recorded_are_counted_from_the_upgrade(engine: Engine) -> None:
    from alembic import command

    for login in ("admin", "inconnue", "connue"):
        _add(engine, login, role="admin" if login == "admin" else "equipe_donnees")
    _unused_for(engine, "admin", 1)
    # Before revision uptake_0004, no sign-in was recorded: an account in use looked never used.
    _unused_for(engine, "inconnue", 0, signed_in=False)
    _unused_for(engine, "connue", 200)
    command.downgrade(alembic_config(engine), "uptake_0004")
    upgrade(engine)
    with transaction(engine) as session:
        assert disable_dormant(session, actor="test").disabled == ("connue",)
    unused_since_upgrade = datetime.now(UTC) + DORMANT_AFTER + timedelta(days=1)
    with transaction(engine) as session:
        assert disable_dormant(session, actor="test", now=unused_since_upgrade).disabled == ("inconnue",)


def test_the_scheduled_job_disables_the_dormant_accounts_of_the_data_folder(uptake_home: Path) -> None:
    engine = AppContext.from_env().engine
    _add(engine, "admin", role="admin")
    _add(engine, "parti")
    _unused_for(engine, "admin", 5)
    _unused_for(engine, "parti", 45)
    assert dormant_accounts_job(schedule="comptes")["comptes_desactives"] == 0
    result = dormant_accounts_job(schedule="comptes", days=30)
    assert result == {"status": "succeeded", "comptes_desactives": 1}
    assert _active(engine) == {"admin": True, "parti": False}


def test_the_job_refuses_a_delay_shorter_than_a_month(uptake_home: Path) -> None:
    spec = JOBS["comptes_inactifs"]
    assert spec.checked({"days": "60"}) == {"days": 60}
    with pytest.raises(ScheduleError, match="days : au moins 30 attendu, « 7 » reçu"):
        spec.checked({"days": "7"})
    with pytest.raises(ScheduleError, match="days : de 30 à 3650 attendu"):
        spec.checked({"days": "4000"})


def test_the_command_says_which_accounts_it_disabled_and_which_administrator_it_kept(
    cli: Any, uptake_home: Path
) -> None:
    engine = AppContext.from_env().engine
    _add(engine, "admin", role="admin")
    _add(engine, "parti")
    _unused_for(engine, "admin", 400, signed_in=False)
    _unused_for(engine, "parti", 100)
    result = cli("users", "disable-dormant", "--acteur", "admin-caf")
    assert result.code == 0, result.output
    assert "1 compte désactivé : parti." in result.stdout
    assert "Gardé actif : admin, le dernier administrateur actif" in result.stdout
    again = cli("users", "disable-dormant", "--jours", "60")
    assert again.code == 0 and "rien à désactiver" in again.stdout
    assert "Gardé actif : admin" in again.stdout
    short = cli("users", "disable-dormant", "--jours", "7")
    assert short.code == 2 and "--jours" in short.stderr
