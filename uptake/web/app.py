"""The application factory: one FastAPI app on the same database as the command line."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from privacy.canonical import caf_time_zone
from privacy.disclosure import configured_threshold
from uptake.context import AppContext, utc_now
from uptake.settings import Settings, load_settings
from uptake.web.access import rules_of
from uptake.web.errors import ContainErrors, install_error_pages
from uptake.web.headers import SecurityHeaders
from uptake.web.routes import (
    accessibility,
    admin,
    data_team,
    dpo,
    dpo_accounts,
    own_account,
    probe,
    session_time,
    signin,
    worker,
)
from uptake.web.sessions import IDLE_TIMEOUT

STATIC_DIR = Path(__file__).parent / "static"
ROUTE_MODULES = (
    signin,
    session_time,
    own_account,
    probe,
    accessibility,
    admin,
    dpo,
    dpo_accounts,
    worker,
    data_team,
)


def create_app(
    settings: Settings | None = None,
    *,
    cookie_secure: bool | None = None,
    disclosure_threshold: int | None = None,
    clock: Callable[[], datetime] = utc_now,
    idle_timeout: timedelta = IDLE_TIMEOUT,
) -> FastAPI:
    """The web application for `settings` (default: the environment's).

    Session cookies get the `Secure` flag over HTTPS, or always when `cookie_secure` (or the
    environment variable `UPTAKE_COOKIE_SECURE=1`, for a TLS-terminating proxy) says so. Indicators
    hide counts below `disclosure_threshold` (default: `UPTAKE_SEUIL_SECRET`, else privacy's default).
    The call lists read the time from `clock` (campaigns' calling hours, claims, calls back). A session
    ends after `idle_timeout` without a request (shorter in tests of the warning that comes before).
    """
    app = FastAPI(title="uptake", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.context = AppContext(settings or load_settings(), clock=clock)
    app.state.cookie_secure = (
        cookie_secure if cookie_secure is not None else os.environ.get("UPTAKE_COOKIE_SECURE") == "1"
    )
    app.state.disclosure_threshold = disclosure_threshold or configured_threshold()
    app.state.idle_timeout = idle_timeout
    caf_time_zone()  # a wrong UPTAKE_FUSEAU stops the start, not every page that shows a date
    for module in ROUTE_MODULES:
        for router in module.ROUTERS:
            app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_pages(app)
    app.add_middleware(ContainErrors)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so error pages get the headers too
    _refuse_unguarded_routes(app)
    return app


def _refuse_unguarded_routes(app: FastAPI) -> None:
    """Default deny: a route without exactly one `Access` rule is a programming error."""
    for route in api_routes(app):
        rules = rules_of(dep.call for dep in route.dependant.dependencies)
        if len(rules) != 1:
            raise RuntimeError(f"route {route.path} must declare exactly one Access rule, has {len(rules)}")


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of the app, routers included (static files excluded)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]
