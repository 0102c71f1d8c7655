"""Accounts of the web application: roles, sectors, Argon2 password hashes.

A social worker is attached to sectors: the commune codes whose households appear on their worklist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.models import User

ROLES = ("travailleur_social", "equipe_donnees", "dpo", "admin")
ROLE_LABELS = {
    "travailleur_social": "Travailleur social",
    "equipe_donnees": "Équipe données",
    "dpo": "Délégué à la protection des données",
    "admin": "Administrateur",
}
MIN_PASSWORD_LENGTH = 12
_LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the login is unknown, so that timing does not reveal which logins exist.

    Computed at the first sign-in, not at import: every CLI command imports this module."""
    return _HASHER.hash("compte-inexistant-pour-egaliser-le-temps")


class AccountError(Exception):
    """A refused account operation; `str()` is a French message naming the input and the fix."""

    exit_code = 2


@dataclass(frozen=True)
class Account:
    """An account as the rest of the application sees it (never the hash)."""

    id: int
    login: str
    role: str
    secteurs: tuple[str, ...]
    active: bool

    @property
    def role_label(self) -> str:
        """The role in words, for pages."""
        return ROLE_LABELS[self.role]


def _account(user: User) -> Account:
    return Account(user.id, user.login, user.role, tuple(user.secteurs), user.active)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères sont exigés. "
            "Choisissez une phrase de passe plus longue."
        )


def _find(session: Session, login: str) -> User:
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    if user is None:
        raise AccountError(f"Compte inconnu : « {login} ». Vérifiez l'identifiant (uptake users list).")
    return user


def add_user(
    session: Session,
    login: str,
    *,
    role: str,
    password: str,
    secteurs: Sequence[str] = (),
    known_communes: Iterable[str] | None = None,
) -> Account:
    """Create an account; `secteurs` (commune codes) are checked against `known_communes` when given."""
    if not _LOGIN_PATTERN.match(login):
        raise AccountError(
            f"Identifiant invalide : « {login} ». Utilisez 2 à 64 caractères parmi a-z, 0-9, « . », "
            "« _ » et « - », en commençant par une lettre ou un chiffre."
        )
    if role not in ROLES:
        raise AccountError(f"Rôle inconnu : « {role} ». Rôles possibles : {', '.join(ROLES)}.")
    if secteurs and role != "travailleur_social":
        raise AccountError("Seuls les comptes « travailleur_social » sont rattachés à des secteurs.")
    if known_communes is not None:
        known = set(known_communes)
        unknown = [code for code in secteurs if code not in known]
        if unknown:
            raise AccountError(
                f"Secteur hors du territoire : {', '.join(unknown)}. Donnez des codes INSEE de communes "
                "du territoire configuré (config/territoire.toml)."
            )
    _check_password(password)
    if session.scalars(select(User.id).where(User.login == login)).first() is not None:
        raise AccountError(f"Le compte « {login} » existe déjà. Choisissez un autre identifiant.")
    now = datetime.now(UTC)
    user = User(
        login=login,
        password_hash=_HASHER.hash(password),
        role=role,
        secteurs=sorted(set(secteurs)),
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return _account(user)


def disable_user(session: Session, login: str) -> Account:
    """Disable an account: it can no longer sign in, and its open web sessions stop working."""
    user = _find(session, login)
    user.active = False
    session.flush()
    return _account(user)


def reset_password(session: Session, login: str, password: str) -> Account:
    """Replace an account's password (and re-enable nothing: a disabled account stays disabled)."""
    _check_password(password)
    user = _find(session, login)
    user.password_hash = _HASHER.hash(password)
    user.password_changed_at = datetime.now(UTC)
    session.flush()
    return _account(user)


def authenticate(session: Session, login: str, password: str) -> Account | None:
    """The active account whose password matches, or None (unknown login, wrong password, disabled)."""
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return _account(user)


def get_account(session: Session, user_id: int) -> Account | None:
    """The account with this id, or None."""
    user = session.get(User, user_id)
    return _account(user) if user is not None else None


def list_accounts(session: Session) -> list[Account]:
    """Every account, by login."""
    return [_account(u) for u in session.scalars(select(User).order_by(User.login))]
