"""The social worker's pages: my call list, the next household, the household card, the outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from detection.reference import load_reference
from outreach.errors import OutreachError
from outreach.outcomes import OUTCOMES, UNDELIVERED
from uptake.web.access import allow, current_account, guard
from uptake.web.household_card import CALL_FIELDS, build_card
from uptake.web.household_views import record_view
from uptake.web.rendering import render
from uptake.web.services import context_of, db, keyring_of
from uptake.web.worklist import (
    WorklistError,
    claim_next,
    claimed_by,
    close_with_outcome,
    count_free,
    my_worklist,
    next_callable,
    release,
)

router = APIRouter(prefix="/travail", dependencies=guard(allow("travailleur_social")))
ROUTERS = (router,)

# What a call can end with: every outcome but "still to contact", the state before any call, and a
# letter come back, which the mail room records (`uptake outcomes import`, by the letter's reference).
CALL_OUTCOMES = {code: label for code, label in OUTCOMES.items() if code not in ("a_contacter", UNDELIVERED)}

NOTICES = {
    "vide": "Aucun foyer de vos secteurs n'est à appeler pour le moment.",
    "enregistre": "Résultat enregistré. Le foyer est retiré de votre liste.",
    "libere": "Foyer remis dans la liste.",
}


@router.get("/liste")
def worklist_page(request: Request, fait: str | None = None) -> Response:
    """My claimed household first, then the free households of my sectors, most urgent first."""
    account = current_account(request)
    now = datetime.now(UTC)
    with db(request) as session:
        rows = my_worklist(session, account.login, account.secteurs)
        free = count_free(session, account.secteurs, now)
        upcoming = None if free else next_callable(session, account.secteurs, now)
    reference = load_reference()
    communes = {r.code_commune for r in rows}
    return render(
        request,
        "travail/worklist.html",
        {
            "title": "Ma liste d'appels",
            "rows": rows,
            "free": free,
            "upcoming": upcoming,
            "now": now,
            "commune_names": {c: reference.get(c).nom for c in communes if c in reference},
            "notice": NOTICES.get(fait or ""),
            "mine": [r for r in rows if r.attribue_a == account.login],
        },
    )


@router.post("/suivant")
async def next_household(request: Request) -> Response:
    """Claim the most urgent free household of my sectors (never one a colleague holds)."""
    account = current_account(request)
    row_id = await run_in_threadpool(claim_next, context_of(request).engine, account.login, account.secteurs)
    if row_id is None:
        return RedirectResponse("/travail/liste?fait=vide", status_code=303)
    return RedirectResponse(f"/travail/foyers/{row_id}", status_code=303)


def _card_page(
    request: Request, row_id: int, *, error: str | None = None, status_code: int = 200
) -> Response:
    account = current_account(request)
    keyring = keyring_of(request)
    with db(request) as session:
        try:
            item = claimed_by(session, row_id, account.login)
        except WorklistError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        card = build_card(session, context_of(request), keyring, item, actor=account.login)
        record_view(
            session,
            actor=account.login,
            pseudonym=item.id_foyer,
            motif="appel (liste de travail)",
            campagne=item.campagne,
            worklist_id=item.id,
            fields_shown=[f for f in CALL_FIELDS if card.contact.get(f)],
        )
    return render(
        request,
        "travail/household.html",
        {"title": f"Foyer {card.item.id_foyer}", "card": card, "outcomes": CALL_OUTCOMES, "error": error},
        status_code=status_code,
    )


@router.get("/foyers/{row_id}")
def household_page(request: Request, row_id: int) -> Response:
    """The card of a household I hold (audited: who, when, which household, why)."""
    return _card_page(request, row_id)


def _amount(text: str) -> float | None:
    cleaned = text.replace("€", "").replace("\u202f", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise OutreachError(
            f"montant illisible « {text[:20]} » : écrivez un nombre, par exemple 182,50"
        ) from None


@router.post("/foyers/{row_id}/resultat")
def record_result(
    request: Request,
    row_id: int,
    resultat: Annotated[str, Form(max_length=40)],
    montant: Annotated[str, Form(max_length=20)] = "",
    commentaire: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record the outcome of the call from the closed list (amount required for `droit_ouvert`)."""
    account = current_account(request)
    try:
        with db(request) as session:
            close_with_outcome(
                session,
                row_id,
                account.login,
                resultat=resultat,
                montant=_amount(montant),
                commentaire=commentaire.strip() or None,
            )
    except WorklistError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except OutreachError as exc:
        return _card_page(request, row_id, error=f"Résultat non enregistré : {exc}", status_code=400)
    return RedirectResponse("/travail/liste?fait=enregistre", status_code=303)


@router.post("/foyers/{row_id}/liberer")
def release_household(request: Request, row_id: int) -> Response:
    """Give the household back to the list (for a colleague, or later)."""
    try:
        with db(request) as session:
            release(session, row_id, current_account(request).login)
    except WorklistError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return RedirectResponse("/travail/liste?fait=libere", status_code=303)
