"""Tables owned by the `privacy` package (its own declarative base; migrations in `privacy/migrations`)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the `privacy` tables (names prefixed `privacy_`)."""
