"""What the routes need from the application context: the database, the keyring, the territory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session

from privacy.keys import Keyring
from uptake.context import AppContext
from uptake.db import transaction


def context_of(request: Request) -> AppContext:
    """The application context shared by every request of this process."""
    context: AppContext = request.app.state.context
    return context


@contextmanager
def db(request: Request) -> Iterator[Session]:
    """One transaction on the application's database."""
    with transaction(context_of(request).engine) as session:
        yield session


def keyring_of(request: Request) -> Keyring:
    """The keyring of the data folder (opened once per application by its context)."""
    return context_of(request).keyring
