"""How long a page's session has left, and « Rester connecté » (RGAA 13.1, WCAG 2.2.1).

Every signed-in page carries its session's idle limit (`base.html`) and `static/session.js` warns a
few minutes before it. The script asks `/session/restant` before warning (another tab may have kept
the session alive): that question does not count as activity, or an open page would never let its
session end. Only the button « Rester connecté » extends it, by a form sent in the background so that
what was typed on the page stays.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from uptake.db import transaction
from uptake.web.access import OWN_ACCOUNT, PUBLIC_PASSIVE, SESSION_COOKIE, guard, idle_timeout_of
from uptake.web.services import context_of
from uptake.web.sessions import SignedIn, extend_session

passive = APIRouter(prefix="/session", dependencies=guard(PUBLIC_PASSIVE))
# Open before a temporary password is replaced: the warning shows on « Mon compte » too.
extending = APIRouter(prefix="/session", dependencies=guard(OWN_ACCOUNT))
ROUTERS = (passive, extending)


@passive.get("/restant")
def time_left(request: Request) -> Response:
    """`{"restant": seconds}` before the session ends without activity (0: ended, or none)."""
    signed_in: SignedIn | None = request.state.signed_in
    return JSONResponse({"restant": signed_in.seconds_left() if signed_in else 0})


@extending.post("/prolonger")
def stay_signed_in(request: Request) -> Response:
    """« Rester connecté »: the idle limit starts again now; `{"restant": seconds}`, fewer than the
    idle limit when the session's end (8 hours after signing in) comes first."""
    signed_in: SignedIn = request.state.signed_in
    context = context_of(request)
    now = context.now()
    with transaction(context.engine) as session:
        extend_session(session, request.cookies.get(SESSION_COOKIE, ""), now)
    extended = replace(signed_in, idle_until=min(now + idle_timeout_of(request), signed_in.expires_at))
    return JSONResponse({"restant": extended.seconds_left(now)})
