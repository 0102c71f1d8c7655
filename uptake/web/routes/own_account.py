"""« Mon compte », for every role: one's sectors and one's own password.

A password set by an administrator is temporary: every other page leads here until its owner has
replaced it. The password changes only with the current one. The other sessions of the account end
(another computer, a forgotten browser); the one that made the change goes on under a new session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from uptake.db import transaction
from uptake.users import AccountError, WrongPassword, change_own_password, review_account
from uptake.web.access import OWN_ACCOUNT, SESSION_COOKIE, current_account, guard, set_session_cookie
from uptake.web.errors import error_page
from uptake.web.rendering import render
from uptake.web.sessions import clear_failures, close_session, is_throttled, open_session, record_failure

router = APIRouter(dependencies=guard(OWN_ACCOUNT))


def _page(
    request: Request, *, notice: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    with transaction(request.app.state.context.engine) as session:
        review = review_account(session, current_account(request).login)
    warning = None
    if current_account(request).password_temporary:
        warning = (
            "Votre mot de passe a été choisi par l'administrateur : remplacez-le par le vôtre pour "
            "accéder à vos pages."
        )
    return render(
        request,
        "own_account.html",
        {
            "title": "Mon compte",
            "changed": review.password_changed_at if review else None,
            "notice": notice,
            "error": error,
            "warning": warning,
        },
        status_code=status_code,
    )


@router.get("/compte")
def own_account_page(request: Request, fait: str | None = None) -> Response:
    """One's login, role, sectors, when the password was last changed, and the form to change it."""
    notice = "Mot de passe changé. Vos autres sessions ont pris fin." if fait == "mot-de-passe" else None
    return _page(request, notice=notice)


@router.post("/compte/mot-de-passe")
def change_password(
    request: Request,
    actuel: Annotated[str, Form(max_length=1024)],
    nouveau: Annotated[str, Form(max_length=1024)],
    confirmation: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Replace one's own password, then carry on under a new session. Wrong current passwords count
    as failed sign-ins: an unattended session does not let anyone try passwords freely."""
    account = current_account(request)
    client_ip = request.client.host if request.client else "inconnue"
    engine = request.app.state.context.engine
    with transaction(engine) as session:
        if is_throttled(session, account.login, client_ip):
            return error_page(request, 429)
    if nouveau != confirmation:
        return _page(
            request,
            error="Les deux saisies du nouveau mot de passe diffèrent : rien n'a été changé.",
            status_code=400,
        )
    now = datetime.now(UTC)
    try:
        with transaction(engine) as session:
            change_own_password(session, account.id, actuel, nouveau, now=now)
            clear_failures(session, account.login)
            close_session(session, request.cookies.get(SESSION_COOKIE, ""))
            token, _signed_in = open_session(session, account, now=now)
    except WrongPassword as exc:
        with transaction(engine) as session:
            record_failure(session, account.login, client_ip)
        return _page(request, error=str(exc), status_code=400)
    except AccountError as exc:
        return _page(request, error=str(exc), status_code=400)
    response = RedirectResponse("/compte?fait=mot-de-passe", status_code=303)
    set_session_cookie(request, response, token)
    return response


ROUTERS = (router,)
