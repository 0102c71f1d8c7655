"""Accounts of the web application: roles, sectors, Argon2 password hashes.

A social worker is attached to sectors: the commune codes whose households appear on their worklist.
Every change of an account (created, sectors, disabled or enabled again, password replaced) is written
to the audit log with who made it: who can see which households is what the DPO reviews.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.models import AuditEntry
from uptake.french import utc
from uptake.models import User, WebSession

if TYPE_CHECKING:  # for the type only: the scheduler module loads APScheduler
    from uptake.scheduler import ScheduleInfo

ROLES = ("travailleur_social", "equipe_donnees", "dpo", "admin")
ROLE_LABELS = {
    "travailleur_social": "Travailleur social",
    "equipe_donnees": "Équipe données",
    "dpo": "Délégué à la protection des données",
    "admin": "Administrateur",
}
MIN_PASSWORD_LENGTH = 12
# zxcvbn's score from 0 to 4: 3 is "safely unguessable" against an online attack that is throttled.
MIN_PASSWORD_SCORE = 3
# An active account unused for this long is pointed out for its review, and disabled by the scheduled
# job `comptes_inactifs` where there is one: access rights are reviewed, and an unused account is a
# door left open.
DORMANT_AFTER = timedelta(days=90)
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


class WrongPassword(AccountError):
    """The current password given to change it is not the account's."""


@dataclass(frozen=True)
class Account:
    """An account as the rest of the application sees it (never the hash)."""

    id: int
    login: str
    role: str
    secteurs: tuple[str, ...]
    active: bool
    # Set by an administrator: its owner replaces it before any other page (« Mon compte »).
    password_temporary: bool = False

    @property
    def role_label(self) -> str:
        """The role in words, for pages."""
        return ROLE_LABELS[self.role]

    @property
    def state_label(self) -> str:
        """The account's state in words, for pages and `uptake users list`."""
        if not self.active:
            return "désactivé"
        return "actif, mot de passe provisoire" if self.password_temporary else "actif"


def account_of(user: User) -> Account:
    """The account of a stored user, as the rest of the application sees it."""
    return Account(
        user.id, user.login, user.role, tuple(user.secteurs), user.active, bool(user.password_temporary)
    )


# Words a guesser tries first here, beside zxcvbn's own lists (which are English) and the common
# French words of Faker's French word list.
_GUESSED_FIRST = (
    "uptake",
    "caf",
    "allocations",
    "familiales",
    "motdepasse",
    "mot de passe",
    "azerty",
    "bonjour",
    "bienvenue",
    "soleil",
    "france",
)


@cache
def _french_words() -> tuple[str, ...]:
    from faker.providers.lorem.fr_FR import Provider

    return (*_GUESSED_FIRST, *Provider.word_list)


def _check_password(password: str, login: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Mot de passe trop court : au moins {MIN_PASSWORD_LENGTH} caractères sont exigés. "
            "Choisissez une phrase de passe plus longue."
        )
    # Length alone lets `aaaaaaaaaaaa` or `azerty123456` through: zxcvbn estimates how many guesses
    # the usual patterns (repetitions, sequences, keyboard rows, words, the login) leave.
    from zxcvbn import zxcvbn

    if zxcvbn(password[:100], user_inputs=[login, *_french_words()])["score"] < MIN_PASSWORD_SCORE:
        raise AccountError(
            "Mot de passe trop facile à deviner (répétition, suite de caractères, rangée du clavier, mot "
            "courant ou identifiant du compte). Choisissez une phrase de passe de plusieurs mots sans lien "
            "entre eux, par exemple quatre mots séparés par des tirets."
        )


def _find(session: Session, login: str) -> User:
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    if user is None:
        lower = login.lower()
        exists = lower != login and session.scalars(select(User.id).where(User.login == lower)).first()
        # Logins are written in lower case: « ADMIN » is most likely « admin ».
        hint = f" Les identifiants s'écrivent en minuscules : « {lower} » ?" if exists else ""
        raise AccountError(f"Compte inconnu : « {login} ».{hint} Vérifiez l'identifiant (uptake users list).")
    return user


def parse_sectors(values: Iterable[str]) -> list[str]:
    """Commune codes given one by one or as lists separated by commas, semicolons or spaces
    ("04088, 04178", "04088;04178" as a spreadsheet column copies them)."""
    return [code for value in values for code in value.replace(",", " ").replace(";", " ").split()]


def _check_sectors(role: str, secteurs: Sequence[str], known_communes: Iterable[str] | None) -> None:
    if secteurs and role != "travailleur_social":
        raise AccountError("Seuls les comptes « travailleur_social » sont rattachés à des secteurs.")
    if not secteurs and role == "travailleur_social":
        raise AccountError(
            "Aucun secteur donné : un travailleur social a au moins une commune, dont il appelle les "
            "foyers. Donnez les codes INSEE de ses communes (par exemple 04088, 04104)."
        )
    if known_communes is not None:
        known = set(known_communes)
        unknown = [code for code in secteurs if code not in known]
        if unknown:
            raise AccountError(
                f"Secteur hors du territoire : {', '.join(unknown)}. Donnez des codes INSEE de communes "
                "du territoire configuré (config/territoire.toml)."
            )


def _record(session: Session, actor: str, login: str, *, action: str, **details: object) -> None:
    audit.append(session, actor=actor, action=action, object_ref=f"compte:{login}", details=details or None)


def add_user(
    session: Session,
    login: str,
    *,
    role: str,
    password: str,
    actor: str,
    secteurs: Sequence[str] = (),
    known_communes: Iterable[str] | None = None,
    temporary: bool = True,
) -> Account:
    """Create an account; `secteurs` (commune codes) are checked against `known_communes` when given.

    The password is `temporary` (its owner replaces it at their first sign-in) unless its owner chose
    it themselves."""
    if not _LOGIN_PATTERN.match(login):
        raise AccountError(
            f"Identifiant invalide : « {login} ». Utilisez 2 à 64 caractères parmi a-z, 0-9, « . », "
            "« _ » et « - », en commençant par une lettre ou un chiffre."
        )
    if role not in ROLES:
        raise AccountError(f"Rôle inconnu : « {role} ». Rôles possibles : {', '.join(ROLES)}.")
    _check_sectors(role, secteurs, known_communes)
    _check_password(password, login)
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
        password_temporary=temporary,
    )
    session.add(user)
    session.flush()
    _record(
        session,
        actor,
        login,
        action="compte.creation",
        role=role,
        secteurs=list(user.secteurs),
        mot_de_passe_provisoire=temporary,
    )
    return account_of(user)


@dataclass(frozen=True)
class AccountChange:
    """An account after an operation, and whether the operation changed it (a repeated one does not)."""

    account: Account
    changed: bool


def set_active(
    session: Session, login: str, active: bool, *, actor: str, reason: str | None = None
) -> AccountChange:
    """Disable an account (it can no longer sign in, its open web sessions stop working, and the
    households a social worker held go back to the call list) or enable it again (it signs in with the
    password it had; its inactivity is counted afresh from now). The `reason` (in French) goes to the
    audit log."""
    user = _find(session, login)
    if user.active == active:
        return AccountChange(account_of(user), changed=False)
    user.active = active
    if active:
        user.dormancy_reset_at = datetime.now(UTC)
    else:
        # Ended, not paused: a cookie of before (a stolen laptop's) must not work again at re-enabling.
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        if user.role == "travailleur_social":
            from outreach.worklist import give_back_held  # the call lists, only for a social worker

            give_back_held(session, login)
    session.flush()
    details = {"motif": reason} if reason else {}
    _record(
        session, actor, login, action="compte.reactivation" if active else "compte.desactivation", **details
    )
    return AccountChange(account_of(user), changed=True)


def set_sectors(
    session: Session,
    login: str,
    secteurs: Sequence[str],
    *,
    actor: str,
    known_communes: Iterable[str] | None = None,
) -> AccountChange:
    """Replace a social worker's sectors; their list shows the new communes at their next page."""
    user = _find(session, login)
    if not secteurs and user.role == "travailleur_social":
        raise AccountError(
            "Aucun secteur donné : un travailleur social a au moins une commune. Pour lui retirer "
            "l'accès aux foyers, désactivez le compte."
        )
    _check_sectors(user.role, secteurs, known_communes)
    before, after = list(user.secteurs), sorted(set(secteurs))
    if before == after:
        return AccountChange(account_of(user), changed=False)
    user.secteurs = after
    if user.role == "travailleur_social":
        from outreach.worklist import give_back_held  # the call lists, only for a social worker

        give_back_held(session, login, keep=after)
    session.flush()
    _record(session, actor, login, action="compte.secteurs", avant=before, apres=after)
    return AccountChange(account_of(user), changed=True)


def reset_password(
    session: Session, login: str, password: str, *, actor: str, temporary: bool = True
) -> Account:
    """Replace an account's password (a forgotten one), `temporary` unless its owner chose it; its
    sessions end. This re-enables nothing: a disabled account stays disabled."""
    _check_password(password, login)
    user = _find(session, login)
    _replace_password(user, password, datetime.now(UTC), temporary=temporary)
    session.flush()
    _record(
        session,
        actor,
        login,
        action="compte.mot_de_passe",
        par="administrateur",
        mot_de_passe_provisoire=temporary,
    )
    return account_of(user)


def change_own_password(
    session: Session, account_id: int, current: str, new: str, *, now: datetime | None = None
) -> Account:
    """Replace one's own password, given the current one. Every session of the account ends at `now`
    except one opened at that same moment (the caller's new one)."""
    user = session.get(User, account_id)
    if user is None or not user.active:
        raise AccountError("Ce compte n'existe plus ou a été désactivé.")
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise WrongPassword("Le mot de passe actuel est incorrect : rien n'a été changé.") from None
    if new == current:
        raise AccountError("Le nouveau mot de passe est celui d'aujourd'hui : choisissez-en un autre.")
    _check_password(new, user.login)
    _replace_password(user, new, now or datetime.now(UTC), temporary=False)
    session.flush()
    _record(session, user.login, user.login, action="compte.mot_de_passe", par="titulaire")
    return account_of(user)


def _replace_password(user: User, password: str, now: datetime, *, temporary: bool) -> None:
    user.password_hash = _HASHER.hash(password)
    user.password_changed_at = now
    user.password_temporary = temporary


def authenticate(
    session: Session, login: str, password: str, *, now: datetime | None = None
) -> Account | None:
    """The active account whose password matches, or None (unknown login, wrong password, disabled).
    A match is the account's last sign-in (`now`)."""
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    user.last_sign_in_at = now or datetime.now(UTC)
    return account_of(user)


def confirm_password(session: Session, login: str, password: str) -> None:
    """Check that `password` is the active account `login`'s own, to confirm a decision taken outside
    the web application (not a sign-in: the account's last sign-in is left as it is). A provisional
    password is refused: the administrator who set it knows it."""
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise WrongPassword(
            f"Mot de passe incorrect pour le compte « {login} » : rien n'a été décidé."
        ) from None
    if user is None or not user.active:
        raise AccountError(f"Le compte « {login} » n'existe pas ou a été désactivé : rien n'a été décidé.")
    if user.password_temporary:
        raise AccountError(
            f"Le mot de passe du compte « {login} » est provisoire (donné par l'administrateur) : son "
            "titulaire se connecte d'abord à l'application pour choisir le sien. Rien n'a été décidé."
        )


@dataclass(frozen=True)
class AccountReview:
    """An account as its periodic review sees it: since when it exists, when it last signed in."""

    account: Account
    created_at: datetime
    password_changed_at: datetime
    last_sign_in_at: datetime | None
    dormancy_reset_at: datetime | None = None

    @property
    def unused_since(self) -> datetime:
        """Its last sign-in, or the last time an administrator handed it over (created, enabled again,
        a new password) if that came later: an account just handed over is not yet unused."""
        moments = [self.created_at, self.password_changed_at, self.last_sign_in_at, self.dormancy_reset_at]
        return max(m for m in moments if m is not None)

    def dormant(self, now: datetime, after: timedelta = DORMANT_AFTER) -> bool:
        """Active, and unused for longer than `after`."""
        return self.account.active and now - self.unused_since > after


def _review(user: User) -> AccountReview:
    last, again = user.last_sign_in_at, user.dormancy_reset_at
    return AccountReview(
        account_of(user),
        utc(user.created_at),
        utc(user.password_changed_at),
        utc(last) if last else None,
        utc(again) if again else None,
    )


def review_accounts(session: Session) -> list[AccountReview]:
    """Every account with its dates, by login."""
    return [_review(u) for u in session.scalars(select(User).order_by(User.login))]


def review_account(session: Session, login: str) -> AccountReview | None:
    """One account with its dates, or None for an unknown login."""
    user = session.scalars(select(User).where(User.login == login)).one_or_none()
    return _review(user) if user is not None else None


@dataclass(frozen=True)
class DormantSweep:
    """What `disable_dormant` did: the accounts disabled, and the last administrator left active."""

    disabled: tuple[str, ...]
    admin_kept: str | None = None


def disable_dormant(
    session: Session, *, actor: str, after: timedelta = DORMANT_AFTER, now: datetime | None = None
) -> DormantSweep:
    """Disable every active account unused for longer than `after` (audited, with the reason).

    The last active administrator is never disabled this way, even unused: nobody could then enable
    the others from the web pages. It is returned as `admin_kept`, to be reviewed by hand.
    """
    moment = now or datetime.now(UTC)
    reviews = review_accounts(session)
    dormant = [r for r in reviews if r.dormant(moment, after)]
    admins = {r.account.login for r in reviews if r.account.active and r.account.role == "admin"}
    admin_kept = None
    if admins and admins <= {r.account.login for r in dormant}:
        # The administrator used most recently stays: the one most likely to come back.
        admin_kept = max((r for r in dormant if r.account.login in admins), key=lambda r: r.unused_since)
    reason = f"sans connexion depuis plus de {after.days} jours"
    disabled = tuple(
        set_active(session, r.account.login, False, actor=actor, reason=reason).account.login
        for r in dormant
        if r is not admin_kept
    )
    return DormantSweep(disabled, admin_kept.account.login if admin_kept else None)


@dataclass(frozen=True)
class AccountEvent:
    """One change of an account as the audit log keeps it: when, which operation, by whom, and its
    details (JSON text: sectors before and after, the reason of a disabling…)."""

    at: str
    action: str
    actor: str
    details: str | None


def account_history(session: Session, login: str) -> list[AccountEvent]:
    """Every change of the account written to the audit log, newest first (for its administrator:
    why it is disabled, who moved its sectors)."""
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.object_ref == f"compte:{login}").order_by(AuditEntry.seq.desc())
    )
    return [AccountEvent(e.at, e.action, e.actor, e.details) for e in entries]


def list_accounts(session: Session) -> list[Account]:
    """Every account, by login."""
    return [account_of(u) for u in session.scalars(select(User).order_by(User.login))]


def dormant_sweeps(schedules: Iterable[ScheduleInfo]) -> list[tuple[ScheduleInfo, int]]:
    """The active schedules of the `comptes_inactifs` job, each with the delay it applies (days),
    shortest first: the first one is the delay after which an unused account is disabled."""
    sweeps = [
        (info, int(info.params.get("days", DORMANT_AFTER.days)))
        for info in schedules
        if info.job == "comptes_inactifs" and info.next_run is not None
    ]
    return sorted(sweeps, key=lambda sweep: sweep[1])
