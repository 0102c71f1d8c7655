"""Administration: the accounts (create, disable)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from uptake.db import transaction
from uptake.users import ROLE_LABELS, AccountError, add_user, disable_user, list_accounts
from uptake.web.access import allow, current_account, guard
from uptake.web.rendering import render

router = APIRouter(prefix="/admin", dependencies=guard(allow("admin")))


def _page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    with transaction(request.app.state.context.engine) as session:
        accounts = list_accounts(session)
    return render(
        request,
        "admin/accounts.html",
        {"title": "Comptes", "accounts": accounts, "roles": ROLE_LABELS, "error": error},
        status_code=status_code,
    )


@router.get("/comptes")
def accounts_page(request: Request) -> Response:
    """Every account with its role, sectors and state; the form to create one."""
    return _page(request)


@router.post("/comptes")
def create_account(
    request: Request,
    identifiant: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    mot_de_passe: Annotated[str, Form(max_length=1024)],
    secteurs: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Create an account; sectors are commune codes separated by spaces or commas."""
    codes = [c for c in secteurs.replace(",", " ").split() if c]
    ctx = request.app.state.context
    try:
        with transaction(ctx.engine) as session:
            add_user(
                session,
                identifiant,
                role=role,
                password=mot_de_passe,
                secteurs=codes,
                known_communes=ctx.territory.communes,
            )
    except AccountError as exc:
        return _page(request, str(exc), status_code=400)
    return RedirectResponse("/admin/comptes", status_code=303)


@router.post("/comptes/{login}/desactiver")
def disable_account(request: Request, login: str) -> Response:
    """Disable an account (its sessions end at once); not one's own, so that an admin always remains."""
    if login == current_account(request).login:
        return _page(request, "Vous ne pouvez pas désactiver votre propre compte.", status_code=400)
    try:
        with transaction(request.app.state.context.engine) as session:
            disable_user(session, login)
    except AccountError as exc:
        return _page(request, str(exc), status_code=404)
    return RedirectResponse("/admin/comptes", status_code=303)


ROUTERS = (router,)
