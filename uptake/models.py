"""Tables owned by the `uptake` package (its own declarative base; migrations in `uptake/migrations`)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the `uptake` tables (names prefixed `uptake_`)."""
