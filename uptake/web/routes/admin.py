"""Administration: the accounts (create; for each, its sectors, password, disable and enable again,
and its history from the audit log).

Every change is written to the audit log by `uptake.users`, with the administrator who made it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from uptake.audit_labels import action_label
from uptake.db import transaction
from uptake.users import (
    ROLE_LABELS,
    AccountError,
    AccountEvent,
    AccountReview,
    account_history,
    add_user,
    parse_sectors,
    reset_password,
    review_account,
    review_accounts,
    set_active,
    set_sectors,
)
from uptake.web.access import allow, current_account, guard
from uptake.web.errors import error_page
from uptake.web.rendering import render

router = APIRouter(prefix="/admin", dependencies=guard(allow("admin")))

NOTICES = {
    "cree": "Compte créé.",
    "secteurs": "Secteurs enregistrés : la liste d'appels suit dès la page suivante du travailleur social.",
    "desactive": "Compte désactivé : ses sessions ouvertes ont pris fin.",
    "reactive": "Compte réactivé : il se connecte avec le mot de passe qu'il avait.",
    "mot-de-passe": "Mot de passe provisoire enregistré : ses sessions ouvertes ont pris fin. Transmettez-le "
    "par un autre canal que l'identifiant ; la personne le remplace à sa prochaine connexion.",
}


def _page(
    request: Request, error: str | None = None, status_code: int = 200, notice: str | None = None
) -> Response:
    with transaction(request.app.state.context.engine) as session:
        reviews = review_accounts(session)
    # The example names the installation's own communes, not the shipped territory's.
    example = " ".join(request.app.state.context.territory.communes[:2])
    return render(
        request,
        "admin/accounts.html",
        {
            "title": "Comptes",
            "reviews": reviews,
            "roles": ROLE_LABELS,
            "error": error,
            "notice": notice,
            "sectors_example": example,
        },
        status_code=status_code,
    )


@router.get("/comptes")
def accounts_page(request: Request, fait: str | None = None) -> Response:
    """Every account with its role, sectors and state; the form to create one."""
    return _page(request, notice=NOTICES.get(fait or ""))


@router.post("/comptes")
def create_account(
    request: Request,
    identifiant: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    mot_de_passe: Annotated[str, Form(max_length=1024)],
    secteurs: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Create an account; sectors are commune codes separated by spaces or commas."""
    ctx = request.app.state.context
    try:
        with transaction(ctx.engine) as session:
            add_user(
                session,
                identifiant,
                role=role,
                password=mot_de_passe,
                actor=current_account(request).login,
                secteurs=parse_sectors([secteurs]),
                known_communes=ctx.territory.communes,
            )
    except AccountError as exc:
        return _page(request, str(exc), status_code=400)
    return RedirectResponse("/admin/comptes?fait=cree", status_code=303)


def _review(request: Request, login: str) -> AccountReview | None:
    with transaction(request.app.state.context.engine) as session:
        return review_account(session, login)


def _history(request: Request, login: str) -> list[AccountEvent]:
    with transaction(request.app.state.context.engine) as session:
        return account_history(session, login)


def _account_page(
    request: Request,
    review: AccountReview,
    *,
    notice: str | None = None,
    error: str | None = None,
    typed_sectors: str | None = None,
    status_code: int = 200,
) -> Response:
    account = review.account
    return render(
        request,
        "admin/account.html",
        {
            "title": f"Compte {account.login}",
            "shown": account,
            "review": review,
            "history": _history(request, account.login),
            "label": action_label,
            "own": account.login == current_account(request).login,
            "notice": notice,
            "error": error,
            # A refused entry is given back as typed, to be mended rather than typed again.
            "sectors_value": " ".join(account.secteurs) if typed_sectors is None else typed_sectors,
        },
        status_code=status_code,
    )


@router.get("/comptes/{login}")
def account_page(request: Request, login: str, fait: str | None = None) -> Response:
    """One account: its sectors (social workers), a new password, disable or enable again."""
    review = _review(request, login)
    if review is None:
        return error_page(request, 404, _unknown(login))
    return _account_page(request, review, notice=NOTICES.get(fait or ""))


def _unknown(login: str) -> str:
    # The login is an account's identifier, checked against a pattern before it is ever stored;
    # shown cut short, as typed in the address.
    return f"Aucun compte « {login[:64]} » : la liste des comptes les donne tous."


def _refused(request: Request, login: str, message: str, typed_sectors: str | None = None) -> Response:
    review = _review(request, login)
    if review is None:
        return error_page(request, 404, _unknown(login))
    return _account_page(request, review, error=message, typed_sectors=typed_sectors, status_code=400)


@router.post("/comptes/{login}/secteurs")
def change_sectors(
    request: Request, login: str, secteurs: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Replace a social worker's sectors (commune codes separated by spaces or commas)."""
    ctx = request.app.state.context
    if _review(request, login) is None:
        return error_page(request, 404)
    try:
        with transaction(ctx.engine) as session:
            set_sectors(
                session,
                login,
                parse_sectors([secteurs]),
                actor=current_account(request).login,
                known_communes=ctx.territory.communes,
            )
    except AccountError as exc:
        return _refused(request, login, str(exc), typed_sectors=secteurs)
    return RedirectResponse(f"/admin/comptes/{login}?fait=secteurs", status_code=303)


@router.post("/comptes/{login}/mot-de-passe")
def new_password(
    request: Request, login: str, mot_de_passe: Annotated[str, Form(max_length=1024)]
) -> Response:
    """Give an account a new password (a forgotten one): its open sessions end."""
    if _review(request, login) is None:
        return error_page(request, 404)
    if login == current_account(request).login:
        return _refused(
            request, login, "Pour votre propre compte, changez le mot de passe depuis « Mon compte »."
        )
    try:
        with transaction(request.app.state.context.engine) as session:
            reset_password(session, login, mot_de_passe, actor=current_account(request).login)
    except AccountError as exc:
        return _refused(request, login, str(exc))
    return RedirectResponse(f"/admin/comptes/{login}?fait=mot-de-passe", status_code=303)


def _set_active(request: Request, login: str, active: bool) -> Response:
    if _review(request, login) is None:
        return error_page(request, 404)
    if not active and login == current_account(request).login:
        return _page(request, "Vous ne pouvez pas désactiver votre propre compte.", status_code=400)
    with transaction(request.app.state.context.engine) as session:
        set_active(session, login, active, actor=current_account(request).login)
    return RedirectResponse(f"/admin/comptes?fait={'reactive' if active else 'desactive'}", status_code=303)


@router.post("/comptes/{login}/desactiver")
def disable_account(request: Request, login: str) -> Response:
    """Disable an account (its sessions end at once); not one's own, so that an admin always remains."""
    return _set_active(request, login, False)


@router.post("/comptes/{login}/reactiver")
def enable_account(request: Request, login: str) -> Response:
    """Enable a disabled account again, with the password it had."""
    return _set_active(request, login, True)


ROUTERS = (router,)
