"""Web sessions stored server-side, and login throttling per login and per client address.

The cookie carries a random token; the database keeps only its SHA-256, the account and the CSRF
token of the session. Disabling an account or changing its password ends its sessions.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from uptake.models import LoginAttempt, User, WebSession
from uptake.users import Account, account_of

SESSION_LIFETIME = timedelta(hours=8)
# A browser left open on a call list ends its session after this much time without a request
# (ANSSI's guidance for applications handling personal data: a short inactivity timeout).
IDLE_TIMEOUT = timedelta(minutes=30)
# Signed-in pages warn this long before the idle limit, with a button that extends the session (RGAA
# 13.1, WCAG 2.2.1): long enough to come back from another window and press it.
IDLE_WARNING = timedelta(minutes=3)
# The last request is written at most once a minute, not on every page.
_TOUCH_EVERY = timedelta(minutes=1)
THROTTLE_WINDOW = timedelta(minutes=15)
# Guessing one account's password from one place stops after 5 failures. The same account is locked
# for everyone only after 20 failures from several places: 5 wrong passwords typed from anywhere
# would otherwise let anybody keep a colleague out of their call list all day.
MAX_FAILURES_PER_LOGIN_AND_IP = 5
MAX_FAILURES_PER_LOGIN = 20
MAX_FAILURES_PER_IP = 30


@dataclass(frozen=True)
class SignedIn:
    """The account behind a valid session cookie, with the session's CSRF token."""

    account: Account
    csrf_token: str
    expires_at: datetime
    # When the session ends if no request keeps it alive before (at the latest `expires_at`).
    idle_until: datetime

    def seconds_left(self, now: datetime | None = None) -> int:
        """Seconds before the idle limit, rounded up (0 only once it passed)."""
        left = self.idle_until - (now or datetime.now(UTC))
        return max(0, math.ceil(left.total_seconds()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone-aware columns: they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def warning_lead(idle_timeout: timedelta) -> timedelta:
    """How long before the idle limit pages warn: `IDLE_WARNING`, or half of a shorter limit."""
    return min(IDLE_WARNING, idle_timeout / 2)


def open_session(
    session: Session, account: Account, now: datetime | None = None, idle_timeout: timedelta = IDLE_TIMEOUT
) -> tuple[str, SignedIn]:
    """Start a web session for `account`; returns the cookie token (shown once) and the session."""
    now = now or datetime.now(UTC)
    # Sessions past their end are of no use and say who worked when: gone at the next sign-in.
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.add(
        WebSession(
            token_sha256=_digest(token),
            user_id=account.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
            last_seen_at=now,
        )
    )
    session.flush()
    return token, SignedIn(account, csrf, expires, min(now + idle_timeout, expires))


def resolve_session(
    session: Session,
    token: str,
    now: datetime | None = None,
    *,
    idle_timeout: timedelta = IDLE_TIMEOUT,
    touch: bool = True,
) -> SignedIn | None:
    """The signed-in account for a cookie token, or None if unknown, expired, idle for `idle_timeout`,
    disabled or superseded. A valid session's last request time moves to `now`, unless `touch` is
    False (a page asking how long its session has left must not keep it alive)."""
    now = now or datetime.now(UTC)
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_sha256 == _digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if _aware(row.expires_at) <= now or not user.active:
        return None
    last_seen = _aware(row.last_seen_at or row.created_at)
    if now - last_seen >= idle_timeout:
        session.delete(row)
        return None
    if touch and now - last_seen >= _TOUCH_EVERY:
        row.last_seen_at = last_seen = now
    if _aware(user.password_changed_at) > _aware(row.created_at):
        return None
    expires = _aware(row.expires_at)
    return SignedIn(account_of(user), row.csrf_token, expires, min(last_seen + idle_timeout, expires))


def extend_session(session: Session, token: str, now: datetime | None = None) -> None:
    """Move the session's last request time to `now` (« Rester connecté »): the idle limit starts
    again, whatever `_TOUCH_EVERY` says (never past the session's end, `SESSION_LIFETIME`)."""
    session.execute(
        update(WebSession)
        .where(WebSession.token_sha256 == _digest(token))
        .values(last_seen_at=now or datetime.now(UTC))
    )


def close_session(session: Session, token: str) -> None:
    """End the web session of this cookie token (logout)."""
    session.execute(delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def is_throttled(session: Session, login: str, client_ip: str, now: datetime | None = None) -> bool:
    """True when too many recent failures came for this login from this address, for this login from
    everywhere, or from this address for any login (see the limits above)."""
    since = (now or datetime.now(UTC)) - THROTTLE_WINDOW
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.attempted_at >= since)
    per_login = session.scalar(recent.where(LoginAttempt.login == login[:64])) or 0
    per_ip = session.scalar(recent.where(LoginAttempt.client_ip == client_ip[:64])) or 0
    here = (
        session.scalar(
            recent.where(LoginAttempt.login == login[:64], LoginAttempt.client_ip == client_ip[:64])
        )
        or 0
    )
    return (
        here >= MAX_FAILURES_PER_LOGIN_AND_IP
        or per_login >= MAX_FAILURES_PER_LOGIN
        or per_ip >= MAX_FAILURES_PER_IP
    )


def record_failure(session: Session, login: str, client_ip: str, now: datetime | None = None) -> None:
    """Remember one failed sign-in (the password itself is never stored) for `THROTTLE_WINDOW` only:
    what was typed as the identifier is sometimes the password, typed in the wrong box, so failures
    older than the window, which throttle nothing any more, are deleted at once."""
    now = now or datetime.now(UTC)
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - THROTTLE_WINDOW))
    session.add(LoginAttempt(login=login[:64], client_ip=client_ip[:64], attempted_at=now))


def clear_failures(session: Session, login: str) -> None:
    """Forget the failures of a login after it signed in successfully."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.login == login))
