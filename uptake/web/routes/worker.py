"""The social worker's pages: my call list, the next household, the household card, the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from detection.reference import load_reference
from outreach.errors import OutcomeImportInvalid, OutreachError
from outreach.outcomes import OUTCOMES, UNDELIVERABLE
from outreach.questionnaire_answers import QuestionnairesImported, questionnaire_sent, record_returned
from outreach.questionnaires import Questionnaire, parse_reference
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
# letter come back or an e-mail bounced, which the mail room and the e-mail relay tell.
CALL_OUTCOMES = {
    code: label for code, label in OUTCOMES.items() if code != "a_contacter" and code not in UNDELIVERABLE
}

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


# What happened to a household that asks for a social worker on its questionnaire.
CALL_BACK_NOTICES = {
    "rappel": "Le foyer demande un travailleur social : il est remis sur la liste d'appels de sa campagne.",
    "sans_ligne": (
        "Le foyer demande un travailleur social mais n'a pas de ligne dans la liste d'appels (pas de "
        "téléphone au lancement) : prévenez l'équipe données."
    ),
    "opposition": (
        "Le foyer demande un travailleur social, mais une opposition au contact est en vigueur : "
        "voyez-le avec le délégué à la protection des données."
    ),
}


def _questionnaire_page(
    request: Request,
    *,
    reference: str = "",
    questionnaire: Questionnaire | None = None,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "travail/questionnaire.html",
        {
            "title": "Saisir un questionnaire retourné",
            "reference": reference,
            "questionnaire": questionnaire,
            "values": values or {"date": datetime.now(UTC).date().isoformat()},
            "problems": problems or {},
            "notice": notice,
            "error": "Questionnaire non enregistré : corrigez les champs signalés." if problems else None,
        },
        status_code=status_code,
    )


@router.get("/questionnaires")
def questionnaire_page(
    request: Request,
    reference: Annotated[str, Query(max_length=40)] = "",
    fait: Annotated[str, Query(max_length=40)] = "",
    suite: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Type in a returned pre-diagnostic questionnaire: its reference first, then its answers."""
    notice = None
    if parse_reference(fait):
        notice = f"Questionnaire {fait} enregistré. {CALL_BACK_NOTICES.get(suite, '')}".strip()
    if not reference.strip():
        return _questionnaire_page(request, notice=notice)
    try:
        with db(request) as session:
            questionnaire = questionnaire_sent(
                session, context_of(request).settings.config_dir, reference.strip()
            )
    except OutcomeImportInvalid as exc:
        problems = {p.column: p.problem for p in exc.problems}
        return _questionnaire_page(request, reference=reference, problems=problems, status_code=400)
    return _questionnaire_page(request, reference=reference.strip(), questionnaire=questionnaire)


@router.post("/questionnaires")
async def record_questionnaire(request: Request) -> Response:
    """Record the answers of one returned questionnaire (checked as an imported line is)."""
    form = await request.form()
    values = {key: str(value).strip()[:40] for key, value in form.items() if key != "csrf_token"}
    reference = values.get("reference", "")
    account = current_account(request)
    config_dir = context_of(request).settings.config_dir

    def record() -> tuple[QuestionnairesImported | None, Questionnaire | None, dict[str, str]]:
        with db(request) as session:
            try:
                done = record_returned(
                    session,
                    reference,
                    list(values),
                    [(1, values)],
                    config_dir,
                    actor=account.login,
                    outcome_source="saisie",
                )
            except OutcomeImportInvalid as exc:  # checked before anything is written
                try:
                    questionnaire = questionnaire_sent(session, config_dir, reference)
                except OutcomeImportInvalid:
                    questionnaire = None
                return None, questionnaire, {p.column: p.problem for p in exc.problems}
            return done, None, {}

    done, questionnaire, problems = await run_in_threadpool(record)
    if done is None:
        return _questionnaire_page(
            request,
            reference=reference,
            questionnaire=questionnaire,
            values=values,
            problems=problems,
            status_code=400,
        )
    outcomes = (("rappel", done.called_back), ("sans_ligne", done.no_call_line), ("opposition", done.opposed))
    suite = next((name for name, references in outcomes if references), "")
    return RedirectResponse(
        f"/travail/questionnaires?{urlencode({'fait': reference, 'suite': suite})}", status_code=303
    )
