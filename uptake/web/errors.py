"""Clean French error pages: no stack trace, no submitted value echoed back."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from detection.errors import ConfigInvalid
from outreach.errors import CampaignInvalid
from rules.errors import CatalogueInvalid, ParametersInvalid
from uptake.web.access import SAFE_METHODS, SESSION_COOKIE, NotSignedIn, PasswordToReplace, identify
from uptake.web.rendering import render

logger = logging.getLogger("uptake.web")

MESSAGES = {
    400: (
        "Demande invalide",
        "La demande n'a pas pu être comprise. Revenez à la page précédente et réessayez.",
    ),
    401: ("Connexion requise", "Connectez-vous pour accéder à cette page."),
    403: (
        "Accès refusé",
        "Votre rôle ne permet pas d'ouvrir cette page. Si vous pensez que c'est une erreur, "
        "adressez-vous à l'administrateur.",
    ),
    404: ("Page introuvable", "Cette page n'existe pas ou plus. Vérifiez l'adresse ou revenez à l'accueil."),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    409: ("Conflit", "L'élément a été modifié entre-temps. Rechargez la page."),
    422: ("Saisie invalide", "Certains champs du formulaire sont manquants ou invalides."),
    429: (
        "Trop de tentatives",
        "Trop de mots de passe erronés récemment pour ce compte ou depuis ce poste. Patientez "
        "quinze minutes avant de réessayer, ou adressez-vous à l'administrateur.",
    ),
    503: (
        "Configuration invalide",
        "Un fichier de configuration est invalide : signalez-le à l'équipe données.",
    ),
    500: (
        "Erreur interne",
        "Une erreur inattendue est survenue. Réessayez ; si elle persiste, signalez-la à "
        "l'équipe données en indiquant l'heure.",
    ),
}
SESSION_ENDED_MESSAGE = (
    "Votre session a pris fin (inactivité, déconnexion, ou compte désactivé) : ce que vous veniez "
    "d'envoyer n'a pas été enregistré. Connectez-vous de nouveau, puis refaites la saisie."
)
# The text boxes whose content is given back when a session ended under them (a note typed during a
# long call, an opinion): copied, it is not to be typed again. Shown only in the answer to the very
# request that carried it, to the browser that just sent it.
TYPED_TEXT_FIELDS = {
    "commentaire": "Votre note",
    "avis": "Votre avis",
    "motif": "Votre motif",
    "recommandations": "Vos recommandations",
}
CSRF_MESSAGE = (
    "Le formulaire a expiré (vous vous êtes reconnecté depuis, dans un autre onglet par exemple) ou ne "
    "vient pas de cette application : rien n'a été enregistré. Rouvrez la page par son lien, sans la "
    "recharger, et envoyez de nouveau le formulaire."
)


def error_page(
    request: Request, status: int, detail: str | None = None, typed: list[tuple[str, str]] | None = None
) -> Response:
    """The French page for an HTTP status; `detail` is a safe French sentence, if any; `typed`, the
    texts the person had typed and that were not saved (label, text), given back to be copied."""
    title, message = MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": detail or message, "typed": typed or []},
        status_code=status,
    )


async def _typed_texts(request: Request) -> list[tuple[str, str]]:
    """The texts typed in the form just sent, for the page that tells they were not saved."""
    try:
        form = await request.form()
    except Exception:  # not a form (or not readable): nothing to give back
        return []
    return [
        (label, text.strip())
        for name, label in TYPED_TEXT_FIELDS.items()
        if isinstance(text := form.get(name), str) and text.strip()
    ]


def install_error_pages(app: FastAPI) -> None:
    """Register the handlers that turn every error into a French page."""

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.method in SAFE_METHODS:
            # A cookie that no longer opens a session: it expired or was left idle; say so.
            if request.cookies.get(SESSION_COOKIE):
                response = RedirectResponse("/connexion?session=terminee", status_code=303)
                response.delete_cookie(SESSION_COOKIE)
                return response
            return RedirectResponse("/connexion", status_code=303)
        if request.cookies.get(SESSION_COOKIE):
            return error_page(request, 401, SESSION_ENDED_MESSAGE, await _typed_texts(request))
        return error_page(request, 401)

    @app.exception_handler(PasswordToReplace)
    async def _password_to_replace(_request: Request, _exc: PasswordToReplace) -> Response:
        return RedirectResponse("/compte?provisoire=1", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not hasattr(request.state, "signed_in"):  # no route matched: keep the header of a signed-in person
            await identify(request)
        detail = CSRF_MESSAGE if exc.detail == "csrf" else None
        # What was typed in a form refused is given back to be copied, as after a session ended.
        typed = await _typed_texts(request) if request.method not in SAFE_METHODS else []
        if (
            exc.status_code in (400, 404, 409, 422)
            and isinstance(exc.detail, str)
            and exc.detail.endswith(".")
        ):
            detail = exc.detail  # a French sentence written by a route, never user input
        return error_page(request, exc.status_code, detail, typed)

    async def _configuration(request: Request, exc: Exception) -> Response:
        # A mistake in config/ or in the rules: the page names the file, the key and the fix (these
        # messages never quote household data), so that whoever sees it can pass it on.
        logger.error(
            "configuration invalid on %s %s: %s", request.method, request.url.path, type(exc).__name__
        )
        if not hasattr(request.state, "signed_in"):
            await identify(request)
        return error_page(request, 503, f"{MESSAGES[503][1]}\n{exc}")

    for configuration_error in (ConfigInvalid, CampaignInvalid, CatalogueInvalid, ParametersInvalid):
        app.add_exception_handler(configuration_error, _configuration)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [err for err in exc.errors() if err.get("loc")]
        if any(err["loc"][0] == "path" for err in errors):
            # `/travail/foyers/abc`, a number no record can have: an address that does not exist.
            return error_page(request, 404)
        fields = sorted({field_label(str(err["loc"][-1])) for err in errors})
        detail = f"{MESSAGES[422][1]} À corriger : {', '.join(fields)}." if fields else None
        return error_page(request, 422, detail)


# The fields of the forms and addresses, as a page names them when one is refused.
FIELD_LABELS = {
    "acteur": "l'agent",
    "actuel": "le mot de passe actuel",
    "atteste": "l'adresse de la page",
    "au": "la date de fin",
    "avis": "l'avis ou le motif du refus (obligatoire, 4 000 caractères au plus)",
    "campagne": "la campagne",
    "commentaire": "la note (500 caractères au plus)",
    "commune": "la commune",
    "confirmation": "la confirmation du mot de passe",
    "derniere": "la dernière entrée affichée (vérifiez de nouveau le journal)",
    "du": "la date de début",
    "empreinte": "l'empreinte de la dernière entrée affichée (vérifiez de nouveau le journal)",
    "fait": "l'adresse de la page",
    "foyer": "le foyer (pseudonyme)",
    "identifiant": "l'identifiant",
    "jusqu_a": "le numéro de la dernière entrée à attester",
    "ligne": "l'adresse de la page",
    "matricule": "le matricule",
    "mois": "la durée en mois",
    "montant": "le montant",
    "mot_de_passe": "le mot de passe",
    "motif": "le motif (obligatoire, 4 000 caractères au plus)",
    "nouveau": "le nouveau mot de passe",
    "operation": "l'opération",
    "page": "le numéro de page (1 ou plus)",
    "planification": "l'adresse de la page",
    "premiere": "la première entrée affichée (vérifiez de nouveau le journal)",
    "pseudonyme": "le pseudonyme",
    "purger": "la case de destruction des fichiers",
    "recommandations": "les recommandations (8 000 caractères au plus)",
    "reference": "la référence du questionnaire",
    "repere": "le repère noté (90 caractères au plus)",
    "resultat": "le résultat de l'appel",
    "role": "le rôle",
    "secteurs": "les secteurs",
    "source": "l'origine de la demande (obligatoire)",
    "suite": "l'adresse de la page",
    "telephone": "le numéro du foyer qui rappelle (40 caractères au plus)",
}


def field_label(name: str) -> str:
    """How a refused field is named to the person who filled it in."""
    return FIELD_LABELS.get(name, name.replace("_", " "))


class ContainErrors:
    """ASGI middleware: an unexpected error becomes the French 500 page, and is logged by its type only.

    Starlette's own last-resort handler re-raises the exception after answering, so that the server
    logs its traceback and message; a message can quote a data value (a database error quotes its
    parameters), so the exception stops here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            logger.error(
                "unexpected error on %s %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__
            )
            if not started:
                await error_page(Request(scope), 500)(scope, receive, send)
