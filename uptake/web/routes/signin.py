"""Sign in, sign out and the home page (which sends each role to its first page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from uptake.db import transaction
from uptake.users import authenticate
from uptake.web.access import (
    ANY_ROLE,
    CSRF_COOKIE,
    OWN_ACCOUNT,
    PUBLIC,
    SESSION_COOKIE,
    current_account,
    guard,
    idle_timeout_of,
    secure_cookies,
    set_session_cookie,
)
from uptake.web.errors import error_page
from uptake.web.rendering import home_of, idle_limit_text, render
from uptake.web.sessions import (
    clear_failures,
    close_session,
    is_throttled,
    open_session,
    record_failure,
)

public = APIRouter(dependencies=guard(PUBLIC))
signed = APIRouter(dependencies=guard(ANY_ROLE))
# Signing out is open even before a temporary password is replaced.
leaving = APIRouter(dependencies=guard(OWN_ACCOUNT))


@public.get("/connexion")
def login_page(request: Request) -> Response:
    """The sign-in form (with a CSRF cookie: the form is protected before any session exists)."""
    context: dict[str, object] = {"title": "Connexion"}
    if request.query_params.get("session") == "terminee":
        limit = idle_limit_text(idle_timeout_of(request))
        context["ended"] = (
            f"Votre session a pris fin ({limit} sans activité, ou fin de la journée "
            "de connexion) : reconnectez-vous."
        )
    response = render(request, "login.html", context)
    response.set_cookie(
        CSRF_COOKIE,
        request.state.csrf_token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )
    return response


@public.post("/connexion")
def login(
    request: Request,
    identifiant: Annotated[str, Form(max_length=64)],
    mot_de_passe: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Check the password (throttled per login and per address) and open a session."""
    client_ip = request.client.host if request.client else "inconnue"
    engine = request.app.state.context.engine
    with transaction(engine) as session:
        if is_throttled(session, identifiant, client_ip):
            return error_page(request, 429)
        account = authenticate(session, identifiant, mot_de_passe)
        if account is None:
            record_failure(session, identifiant, client_ip)
        else:
            clear_failures(session, identifiant)
            token, _signed_in = open_session(session, account, idle_timeout=idle_timeout_of(request))
    if account is None:
        return render(
            request,
            "login.html",
            {"title": "Connexion", "error": "Identifiant ou mot de passe incorrect, ou compte désactivé."},
            status_code=401,
        )
    response = RedirectResponse(home_of(account.role), status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(CSRF_COOKIE)
    return response


@signed.get("/")
def home(request: Request) -> Response:
    """Send the signed-in person to the first page of their role."""
    return RedirectResponse(home_of(current_account(request).role), status_code=303)


@leaving.post("/deconnexion")
def logout(request: Request) -> Response:
    """End the session (server-side) and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    with transaction(request.app.state.context.engine) as session:
        close_session(session, token)
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


ROUTERS = (public, signed, leaving)
