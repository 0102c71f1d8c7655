"""Server-side pages: one jinja2 environment (autoescaped) and the navigation of each role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from detection.reference import load_reference
from privacy.canonical import caf_stamp_text
from privacy.phones import displayed
from rules.french import unbreakable_numbers
from uptake import french
from uptake.audit_labels import entry_pairs
from uptake.web.access import idle_timeout_of
from uptake.web.sessions import SESSION_LIFETIME, SignedIn, warning_lead

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def sectors_text(codes: Sequence[str]) -> str:
    """Commune codes with their names, as a social worker knows their sectors:
    "Forcalquier (04088), Limans (04104)"; an unknown code alone."""
    reference = load_reference()
    return ", ".join(f"{reference.get(c).nom} ({c})" if c in reference else c for c in codes)


TEMPLATES.env.filters.update(
    secteurs=sectors_text,
    nombre=french.count,
    duree=french.duration,
    mois=french.month,
    moment=french.moment,
    jour=french.day,
    horodatage=caf_stamp_text,
    details_journal=entry_pairs,
    parametres_gardes=french.kept_parameters,
    reglages_gardes=french.kept_settings,
    phone=displayed,
    insecables=unbreakable_numbers,
)

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "travailleur_social": [
        ("/travail/liste", "Ma liste d'appels"),
        ("/travail/questionnaires", "Saisir un questionnaire retourné"),
    ],
    "dpo": [
        ("/dpo/echanges", "Échanges à décider"),
        ("/dpo/registre", "Registre des traitements"),
        ("/dpo/journal", "Journal d'audit"),
        ("/dpo/consultations", "Consultations de foyers"),
        ("/dpo/purges", "Purges"),
        ("/dpo/demandes", "Demandes des personnes"),
        ("/dpo/habilitations", "Habilitations"),
    ],
    "equipe_donnees": [
        ("/donnees/executions", "Exécutions"),
        ("/donnees/campagnes", "Campagnes"),
        ("/donnees/indicateurs", "Indicateurs"),
        ("/donnees/etat", "État de l'installation"),
    ],
    "admin": [("/admin/comptes", "Comptes")],
}


def home_of(role: str) -> str:
    """The first page of a role."""
    return NAVIGATION[role][0][0]


def idle_limit_text(limit: timedelta) -> str:
    """A session's idle limit in French: `30 minutes` (a limit of seconds, in tests: `12 secondes`)."""
    seconds = int(limit.total_seconds())
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} secondes"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the signed-in account, its navigation and the CSRF token."""
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    idle_timeout = idle_timeout_of(request)
    base = {
        "account": signed_in.account if signed_in else None,
        "navigation": NAVIGATION[signed_in.account.role] if signed_in else [],
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "current_path": request.url.path,
        # The idle limit, for the warning of `static/session.js` (seconds left from the server's view).
        "session_left": signed_in.seconds_left() if signed_in else None,
        "session_warning": int(warning_lead(idle_timeout).total_seconds()),
        "session_limit": idle_limit_text(idle_timeout),
        "session_hours": int(SESSION_LIFETIME.total_seconds() // 3600),
    }
    return TEMPLATES.TemplateResponse(request, template, {**base, **(context or {})}, status_code=status_code)
