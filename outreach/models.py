"""Tables owned by the `outreach` package (its own declarative base; migrations in `outreach/migrations`)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the `outreach` tables (names prefixed `outreach_`)."""
