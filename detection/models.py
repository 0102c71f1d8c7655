"""Tables owned by the `detection` package (own declarative base and migrations)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of the `detection` tables (names prefixed `detection_`)."""
