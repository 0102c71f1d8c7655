"""The social worker's pages: my call list, the next household, the household card, the outcome."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from detection.reference import load_reference
from outreach import questionnaires
from outreach.errors import OutcomeImportInvalid, OutcomeInvalid
from outreach.outcomes import CALL_AGAIN, CALL_RESULTS, NOTE_MAX, OUTCOMES
from outreach.questionnaire_answers import (
    QuestionnairesImported,
    SentQuestionnaire,
    questionnaire_sent,
    record_returned,
)
from privacy.canonical import caf_day
from uptake import french
from uptake.limits import RECORD_ID_MAX
from uptake.web.access import allow, current_account, guard
from uptake.web.fields import LINE_BREAKS, RecordId
from uptake.web.household_card import CALL_FIELDS, build_card
from uptake.web.household_views import record_view
from uptake.web.list_place import PAGE_MAX, ListPlace, PlaceRefused, checked_place, last_page, page_count
from uptake.web.rendering import render
from uptake.web.services import context_of, db, keyring_of
from uptake.web.worklist import (
    WORKLIST_PAGE_SIZE,
    WorklistError,
    called_back_at,
    claim_caller,
    claim_next,
    close_with_outcome,
    closed_campaigns,
    colleagues_for,
    count_free,
    count_worklist,
    find_caller,
    holds_one,
    my_worklist,
    next_callable,
    open_claimed,
    recent_result,
    release,
    released_by,
    worklist_campaigns,
)

router = APIRouter(prefix="/travail", dependencies=guard(allow("travailleur_social")))
ROUTERS = (router,)

# The place in the call list (`ListPlace`): in the address of a page, in the hidden fields of its forms.
CommuneShown = Annotated[str, Query(max_length=5)]
CampaignShown = Annotated[str, Query(max_length=100)]
PageShown = Annotated[int, Query(ge=1, le=PAGE_MAX)]
CommuneSent = Annotated[str, Form(max_length=5)]
CampaignSent = Annotated[str, Form(max_length=100)]
PageSent = Annotated[int, Form(ge=1, le=PAGE_MAX)]

# What the card offers, in French: the results a call can end with (checked again by outreach).
CALL_OUTCOMES = {code: OUTCOMES[code] for code in CALL_RESULTS}

NOTICES = {
    "vide": "Aucun foyer de vos secteurs n'est à appeler pour le moment.",
    "enregistre": "Résultat enregistré. Le foyer est retiré de votre liste.",
    "libere": "Foyer remis dans la liste pour un collègue : il ne vous sera plus proposé.",
    "deja": "Le résultat de cet appel était déjà enregistré (formulaire envoyé deux fois) : rien n'a changé.",
    "deja_libere": "Ce foyer était déjà remis dans la liste : rien n'a changé.",
    "libere_seul": (
        "Foyer remis dans la liste. Aucun autre travailleur social n'a sa commune dans ses secteurs : "
        "prévenez votre responsable, qui peut la rattacher à un collègue ; sinon personne ne l'appellera."
    ),
}


def _call_again_notice(when: datetime | None) -> str:
    """What the worker reads after « injoignable » or « message laissé »: the household stays."""
    if when is None:
        return "Résultat enregistré."
    return (
        "Résultat enregistré. Le foyer reste dans la liste : il sera rappelé à partir du "
        f"{french.moment(when)}, par vous ou par un collègue."
    )


def _place(request: Request, commune: str, campagne: str, page: int) -> ListPlace:
    """The place in my call list the browser sent back, checked (400 when its filter is not mine)."""
    with db(request) as session:
        try:
            return checked_place(
                session,
                context_of(request).settings.config_dir,
                current_account(request).secteurs,
                commune,
                campagne,
                page,
            )
        except PlaceRefused as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None


def _back_to_list(request: Request, place: ListPlace, **notice: str | int) -> Response:
    """Back to my call list at `place` after an action, on its last page if the action emptied its own."""
    account = current_account(request)
    with db(request) as session:
        back = last_page(session, account.login, account.secteurs, place)
    return RedirectResponse(back.list_url(**notice), status_code=303)


@router.get("/liste")
def worklist_page(
    request: Request,
    fait: Annotated[str | None, Query(max_length=40)] = None,
    ligne: Annotated[int | None, Query(ge=1, le=RECORD_ID_MAX)] = None,
    page: PageShown = 1,
    commune: CommuneShown = "",
    campagne: CampaignShown = "",
) -> Response:
    """My claimed household first, then the free households of my sectors, most urgent first: a page
    of `WORKLIST_PAGE_SIZE`, of one commune of my sectors and one campaign if asked."""
    return _worklist(request, fait, ligne, place=_place(request, commune, campagne, page))


def _worklist(
    request: Request,
    fait: str | None = None,
    ligne: int | None = None,
    *,
    error: str | None = None,
    unsaved_note: str | None = None,
    typed_number: str | None = None,
    status_code: int = 200,
    place: ListPlace = ListPlace(),
) -> Response:
    """The worklist page at `place` (checked); `error` and the note that was not saved, after a result
    refused, or the number typed, after a caller not found."""
    account = current_account(request)
    context = context_of(request)
    now = context.now()
    shown = place.shown
    with db(request) as session:
        total = count_worklist(session, account.login, account.secteurs, shown)
        pages = page_count(total)
        page = min(place.page, pages)  # past the end (an old link, fewer households since): the last page
        first = (page - 1) * WORKLIST_PAGE_SIZE
        rows = my_worklist(session, account.login, account.secteurs, shown=shown, offset=first)
        campaigns = worklist_campaigns(session, account.login, account.secteurs)
        if shown.campagne is not None and shown.campagne not in campaigns:  # its last household handled
            campaigns.append(shown.campagne)
        mine = holds_one(session, account.login, account.secteurs)
        closed = closed_campaigns(session, account.secteurs, now, context.settings.config_dir)
        free = count_free(session, account.login, account.secteurs, now, closed)
        upcoming = None if free else next_callable(session, account.login, account.secteurs, now, closed)
        notice = NOTICES.get(fait or "")
        if fait == "vide" and upcoming is not None:
            notice = (
                "Aucun foyer de vos secteurs n'est à appeler maintenant : prochain appel possible le "
                f"{french.moment(upcoming)}."
            )
        if fait == "rappel" and ligne is not None:
            notice = _call_again_notice(called_back_at(session, ligne, account.secteurs))
    reference = load_reference()
    communes = {r.code_commune for r in rows} | set(account.secteurs)
    filters = urlencode(ListPlace(shown).fields())
    return render(
        request,
        "travail/worklist.html",
        {
            "title": "Ma liste d'appels",
            "rows": rows,
            "free": free,
            "upcoming": upcoming,
            "now": now,
            "closed": closed,
            "commune_names": {c: reference.get(c).nom for c in communes if c in reference},
            "notice": notice,
            "error": error,
            "unsaved_note": unsaved_note,
            "typed_number": typed_number,
            "mine": mine,
            "shown": shown,
            "campaigns": campaigns,
            "total": total,
            "first": first + 1,
            "last": first + len(rows),
            "page": page,
            "pages": pages,
            "query": f"{filters}&" if filters else "",
            # Sent back by the page's forms, and in the link to my household's card.
            "place": ListPlace(shown, page).fields(),
        },
        status_code=status_code,
    )


@router.post("/suivant")
async def next_household(
    request: Request, commune: CommuneSent = "", campagne: CampaignSent = "", page: PageSent = 1
) -> Response:
    """Claim the most urgent free household of my sectors (never one a colleague holds, nor one whose
    campaign's calling hours are closed now); its card keeps the list's place, to come back to it."""
    account = current_account(request)
    context = context_of(request)
    place = await run_in_threadpool(_place, request, commune, campagne, page)
    row_id = await run_in_threadpool(
        lambda: claim_next(
            context.engine,
            account.login,
            account.secteurs,
            now=context.now(),
            config_dir=context.settings.config_dir,
        )
    )
    if row_id is None:
        return RedirectResponse(place.list_url(fait="vide"), status_code=303)
    return RedirectResponse(f"/travail/foyers/{row_id}{place.query()}", status_code=303)


# No household of the worker's sectors has the number given (told without saying whose it might be).
CALLER_NOT_FOUND = (
    "Aucun foyer à appeler de vos secteurs n'a ce numéro dans l'annuaire (ou les coordonnées de sa "
    "campagne ne sont pas affichables). Vérifiez le numéro ; sinon, demandez au foyer la référence de son "
    "courrier et prévenez l'équipe données."
)


@router.post("/rappel")
def caller_calls_back(
    request: Request,
    telephone: Annotated[str, Form(max_length=40)] = "",
    commune: CommuneSent = "",
    campagne: CampaignSent = "",
    page: PageSent = 1,
) -> Response:
    """A household of my sectors calls back (after « message laissé », say): its card, found by the
    number it calls from and taken for me whatever its calling time."""
    account = current_account(request)
    context = context_of(request)
    now = context.now()
    place = _place(request, commune, campagne, page)
    try:
        with db(request) as session:  # committed even when nothing is found: the search is audited
            row_id = find_caller(
                session,
                keyring_of(request),
                account.login,
                account.secteurs,
                telephone,
                now=now,
                config_dir=context.settings.config_dir,
            )
        if row_id is None:
            return _worklist(
                request, error=CALLER_NOT_FOUND, typed_number=telephone, status_code=404, place=place
            )
        claim_caller(context.engine, row_id, account.login, account.secteurs, now=now)
    except WorklistError as exc:
        return _worklist(request, error=str(exc), typed_number=telephone, status_code=409, place=place)
    return RedirectResponse(f"/travail/foyers/{row_id}{place.query()}", status_code=303)


def _card_page(
    request: Request,
    row_id: int,
    *,
    refused: OutcomeInvalid | None = None,
    form: Mapping[str, str] | None = None,
    status_code: int = 200,
    place: ListPlace = ListPlace(),
) -> Response:
    """The card, its forms coming back to the list at `place`; after a refused outcome, the form as it
    was sent and the field at fault marked."""
    account = current_account(request)
    keyring = keyring_of(request)
    with db(request) as session:
        try:
            item = open_claimed(
                session, row_id, account.login, account.secteurs, now=context_of(request).now()
            )
        except WorklistError as exc:
            refusal: str | None = str(exc)
        else:
            refusal = None
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
    if refusal is not None:  # told once the transaction committed: a household given back stays so
        raise HTTPException(status_code=404, detail=refusal)
    return render(
        request,
        "travail/household.html",
        {
            # Not the pseudonym: a title stays in the browser's history.
            "title": "Fiche du foyer à appeler",
            "card": card,
            "outcomes": CALL_OUTCOMES,
            "note_max": NOTE_MAX,
            "error": f"Résultat non enregistré : {refused.problem}. {refused.fix}" if refused else None,
            "form": form or {},
            "error_field": refused.field if refused else None,
            "field_error": refused.sentences if refused else None,
            "place": place.fields(),
        },
        status_code=status_code,
    )


@router.get("/foyers/{row_id}")
def household_page(
    request: Request,
    row_id: RecordId,
    commune: CommuneShown = "",
    campagne: CampaignShown = "",
    page: PageShown = 1,
) -> Response:
    """The card of a household I hold (audited: who, when, which household, why)."""
    return _card_page(request, row_id, place=_place(request, commune, campagne, page))


def _amount(text: str) -> float | None:
    cleaned = "".join(text.replace("€", "").split())
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned):
        # « 1.200 » is a thousand two hundred euros written the French way, 1.2 for Python.
        raise OutcomeInvalid(
            f"montant ambigu « {text[:20]} »",
            "écrivez 1200 pour mille deux cents euros, ou 1,20 pour un euro vingt",
            field="montant",
        )
    cleaned = cleaned.replace(",", ".")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise OutcomeInvalid(
            f"montant illisible « {text[:20]} »", "écrivez un nombre, par exemple 182,50", field="montant"
        ) from None


@router.post("/foyers/{row_id}/resultat")
def record_result(
    request: Request,
    row_id: RecordId,
    resultat: Annotated[str, Form(max_length=40)],
    montant: Annotated[str, Form(max_length=20)] = "",
    # Longer than a note may be, so that a note too long is refused with the form kept (`check_note`).
    commentaire: Annotated[str, LINE_BREAKS, Form(max_length=20_000)] = "",
    commune: CommuneSent = "",
    campagne: CampaignSent = "",
    page: PageSent = 1,
) -> Response:
    """Record the outcome of the call from the call results (amount required for `droit_ouvert`), then
    back to the list at the place the card was opened from."""
    account = current_account(request)
    place = _place(request, commune, campagne, page)
    form = {"resultat": resultat, "montant": montant, "commentaire": commentaire}
    try:
        with db(request) as session:
            close_with_outcome(
                session,
                row_id,
                account.login,
                resultat=resultat,
                montant=_amount(montant),
                commentaire=commentaire.strip() or None,
                now=context_of(request).now(),
                config_dir=context_of(request).settings.config_dir,
            )
    except WorklistError as exc:
        with db(request) as session:
            recorded = recent_result(session, row_id, account.login, context_of(request).now())
            earlier = recorded.resultat if recorded is not None else None
            note = (recorded.commentaire or "") if recorded is not None else ""
            at = recorded.enregistre_le if recorded is not None else None
        if earlier is None or at is None:  # no longer mine (sectors changed, taken over): note given back
            return _worklist(
                request,
                error=f"Résultat non enregistré : {str(exc)[:1].lower()}{str(exc)[1:]}",
                unsaved_note=commentaire.strip() or None,
                status_code=409,
                place=place,
            )
        if earlier == resultat and note == commentaire.strip():  # the same form sent twice
            return _back_to_list(request, place, fait="deja")
        return _worklist(
            request,
            error=(
                f"Résultat non enregistré : un autre résultat (« {OUTCOMES.get(earlier, earlier)} ») a "
                f"déjà été enregistré par vous pour ce foyer le {french.moment(at)}, sans doute depuis un "
                f"autre onglet. Celui-ci (« {OUTCOMES.get(resultat, resultat)} ») ne l'a pas remplacé : "
                "un résultat ne se modifie pas ; s'il faut le corriger, prévenez l'équipe données."
            ),
            unsaved_note=commentaire.strip() or None,
            status_code=409,
            place=place,
        )
    except OutcomeInvalid as exc:
        return _card_page(request, row_id, refused=exc, form=form, status_code=400, place=place)
    if resultat in CALL_AGAIN:
        return _back_to_list(request, place, fait="rappel", ligne=row_id)
    return _back_to_list(request, place, fait="enregistre")


@router.post("/foyers/{row_id}/liberer")
def release_household(
    request: Request,
    row_id: RecordId,
    commentaire: Annotated[str, LINE_BREAKS, Form(max_length=20_000)] = "",
    commune: CommuneSent = "",
    campagne: CampaignSent = "",
    page: PageSent = 1,
) -> Response:
    """Give the household back to the list (for a colleague, or later), then back to the list at the
    place the card was opened from; a note typed on the card, which a release does not record, is
    given back to be copied."""
    login = current_account(request).login
    place = _place(request, commune, campagne, page)
    try:
        with db(request) as session:
            release(session, row_id, login)
            alone = colleagues_for(session, row_id, login) == 0
    except WorklistError as exc:
        with db(request) as session:
            sent_again = released_by(session, row_id, login)
        if sent_again:
            return _back_to_list(request, place, fait="deja_libere")
        raise HTTPException(status_code=404, detail=str(exc)) from None
    fait = "libere_seul" if alone else "libere"
    if commentaire.strip():
        return _worklist(request, fait, unsaved_note=commentaire.strip(), place=place)
    return _back_to_list(request, place, fait=fait)


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


LOOKUP_ERROR = "Impossible d'afficher ce questionnaire : voyez le message sous la référence."
SAVE_ERROR = "Questionnaire non enregistré : corrigez les champs signalés."


def _commune(code: str) -> str:
    """`04088` → `Forcalquier (04088)`."""
    communes = load_reference()
    return f"{communes.get(code).nom} ({code})" if code in communes else code


def _questionnaire_page(
    request: Request,
    *,
    reference: str = "",
    sent: SentQuestionnaire | None = None,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "travail/questionnaire.html",
        {
            "title": "Saisir un questionnaire retourné",
            "reference": sent.reference if sent else reference,
            "sent": sent,
            "commune": _commune(sent.code_commune) if sent else None,
            "values": values or {"date": caf_day(context_of(request).now()).isoformat()},
            "problems": problems or {},
            "notice": notice,
            "error": error,
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
    """Type in a returned pre-diagnostic questionnaire of my sectors: its reference first, then its
    answers."""
    notice = None
    if questionnaires.parse_reference(fait):
        notice = f"Questionnaire {fait} enregistré. {CALL_BACK_NOTICES.get(suite, '')}".strip()
    if not reference.strip():
        return _questionnaire_page(request, notice=notice)
    account = current_account(request)
    try:
        with db(request) as session:
            sent = questionnaire_sent(
                session,
                context_of(request).settings.config_dir,
                reference.strip(),
                communes=account.secteurs,
            )
    except OutcomeImportInvalid as exc:
        problems = {p.column: p.problem for p in exc.problems}
        return _questionnaire_page(
            request, reference=reference, problems=problems, error=LOOKUP_ERROR, status_code=400
        )
    return _questionnaire_page(request, sent=sent)


def _printed(typed: str) -> str:
    """A typed reference as printed (`q-2-50` → `Q-2-50`), or as typed when it is not one."""
    where = questionnaires.parse_reference(typed)
    return questionnaires.reference(*where) if where else typed


@router.post("/questionnaires")
async def record_questionnaire(request: Request) -> Response:
    """Record the answers of one returned questionnaire of my sectors (checked as an imported line is)."""
    form = await request.form()
    values = {key: str(value).strip()[:40] for key, value in form.items() if key != "csrf_token"}
    reference = values["reference"] = _printed(values.get("reference", ""))
    account = current_account(request)
    config_dir = context_of(request).settings.config_dir

    def record() -> tuple[QuestionnairesImported | None, SentQuestionnaire | None, dict[str, str]]:
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
                    communes=account.secteurs,
                )
            except OutcomeImportInvalid as exc:  # checked before anything is written
                try:
                    sent = questionnaire_sent(session, config_dir, reference, communes=account.secteurs)
                except OutcomeImportInvalid:
                    sent = None
                return None, sent, {p.column: p.problem for p in exc.problems}
            return done, None, {}

    done, sent, problems = await run_in_threadpool(record)
    if done is None:
        return _questionnaire_page(
            request,
            reference=reference,
            sent=sent,
            values=values,
            problems=problems,
            error=SAVE_ERROR,
            status_code=400,
        )
    outcomes = (("rappel", done.called_back), ("sans_ligne", done.no_call_line), ("opposition", done.opposed))
    suite = next((name for name, references in outcomes if references), "")
    return RedirectResponse(
        f"/travail/questionnaires?{urlencode({'fait': reference, 'suite': suite})}", status_code=303
    )
