"""`/sante`: the probe the Caf's supervision (or a reverse proxy) polls to know the service is up.

Public and silent: it says only whether the application answers and reaches its database, never
what the database holds, and writes nothing (not even to the audit log: it is polled every minute).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from uptake.db import DatabaseUnusable
from uptake.web.access import PUBLIC, guard
from uptake.web.services import context_of

probe = APIRouter(dependencies=guard(PUBLIC))
ROUTERS = (probe,)


@probe.get("/sante")
def health(request: Request) -> Response:
    """200 `{"etat": "ok"}` when the database answers; 503 `{"etat": "base injoignable"}` otherwise."""
    try:
        with context_of(request).engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, DatabaseUnusable):  # down, or unreachable when first migrated
        return JSONResponse(
            {"etat": "base injoignable"}, status_code=503, headers={"Cache-Control": "no-store"}
        )
    return JSONResponse({"etat": "ok"}, headers={"Cache-Control": "no-store"})
