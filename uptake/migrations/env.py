"""Alembic environment: runs against the engine handed over by `uptake.db`."""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import MetaData

from uptake.db import DOMAIN_PACKAGES


def _metadatas() -> list[MetaData]:
    found = []
    for name in DOMAIN_PACKAGES:
        try:
            module = importlib.import_module(f"{name}.models")
        except ModuleNotFoundError:
            continue
        found.append(module.Base.metadata)
    return found


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=_metadatas(),
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations()
