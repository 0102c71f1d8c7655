"""Tables owned by the `uptake` package (its own declarative base; migrations in `uptake/migrations`).

The front doors own only what the web application needs: accounts, web sessions and login attempts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the `uptake` tables (names prefixed `uptake_`)."""


class User(Base):
    """An account of the web application: a login, an Argon2 hash, one role, sectors (commune codes)."""

    __tablename__ = "uptake_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    secteurs: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Set by an administrator (a new account, a forgotten password): to be replaced by its owner at
    # their next sign-in, before any other page.
    password_temporary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # An administrator restarted the count of its inactivity (enabled it again; or the upgrade that
    # began recording sign-ins, uptake_0005): counted from then, not from an older sign-in.
    dormancy_reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of the cookie's random token is stored."""

    __tablename__ = "uptake_web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, index=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Last request seen (to the minute): a session left idle ends before its expiry.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LoginAttempt(Base):
    """One failed sign-in, kept to throttle guessing per login and per client address."""

    __tablename__ = "uptake_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    client_ip: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True, nullable=False)
