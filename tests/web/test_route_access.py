"""The role × route matrix: every route of the app, with every role and anonymously.

The expected matrix is written here, independently of the app's own rules: a route added to the
app without a line below fails `test_every_route_has_an_expected_rule`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of
from uptake.users import ROLES
from uptake.web.app import api_routes

Client = Callable[[str | None], TestClient]

TS, DATA, DPO, ADMIN = "travailleur_social", "equipe_donnees", "dpo", "admin"
PUBLIC = "public"

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/connexion"): frozenset({PUBLIC}),
    ("POST", "/connexion"): frozenset({PUBLIC}),
    ("GET", "/sante"): frozenset({PUBLIC}),
    ("GET", "/accessibilite"): frozenset({PUBLIC}),
    ("GET", "/"): frozenset(ROLES),
    ("POST", "/deconnexion"): frozenset(ROLES),
    ("GET", "/session/restant"): frozenset({PUBLIC}),
    ("POST", "/session/prolonger"): frozenset(ROLES),
    ("GET", "/admin/comptes"): frozenset({ADMIN}),
    ("POST", "/admin/comptes"): frozenset({ADMIN}),
    ("GET", "/admin/comptes/{login}"): frozenset({ADMIN}),
    ("POST", "/admin/comptes/{login}/desactiver"): frozenset({ADMIN}),
    ("POST", "/admin/comptes/{login}/reactiver"): frozenset({ADMIN}),
    ("POST", "/admin/comptes/{login}/secteurs"): frozenset({ADMIN}),
    ("POST", "/admin/comptes/{login}/mot-de-passe"): frozenset({ADMIN}),
    ("GET", "/compte"): frozenset(ROLES),
    ("POST", "/compte/mot-de-passe"): frozenset(ROLES),
    ("GET", "/dpo/echanges"): frozenset({DPO}),
    ("GET", "/dpo/echanges/{exchange_id}"): frozenset({DPO}),
    ("POST", "/dpo/echanges/{exchange_id}/approuver"): frozenset({DPO}),
    ("POST", "/dpo/echanges/{exchange_id}/refuser"): frozenset({DPO}),
    ("POST", "/dpo/echanges/{exchange_id}/revoquer"): frozenset({DPO}),
    ("GET", "/dpo/registre"): frozenset({DPO}),
    ("GET", "/dpo/registre.csv"): frozenset({DPO}),
    ("GET", "/dpo/journal"): frozenset({DPO}),
    ("GET", "/dpo/journal.csv"): frozenset({DPO}),
    ("POST", "/dpo/journal/verifier"): frozenset({DPO}),
    ("POST", "/dpo/journal/attester"): frozenset({DPO}),
    ("GET", "/dpo/consultations"): frozenset({DPO}),
    ("GET", "/dpo/consultations.csv"): frozenset({DPO}),
    ("GET", "/dpo/purges"): frozenset({DPO}),
    ("POST", "/dpo/purges/lancer"): frozenset({DPO}),
    ("GET", "/dpo/demandes"): frozenset({DPO}),
    ("GET", "/dpo/habilitations"): frozenset({DPO}),
    ("POST", "/dpo/demandes/opposition"): frozenset({DPO}),
    ("POST", "/dpo/demandes/acces"): frozenset({DPO}),
    ("GET", "/donnees/executions"): frozenset({DATA}),
    ("GET", "/donnees/executions/{run_id}"): frozenset({DATA}),
    ("GET", "/donnees/campagnes"): frozenset({DATA}),
    ("GET", "/donnees/indicateurs"): frozenset({DATA}),
    ("GET", "/donnees/indicateurs/rapport.zip"): frozenset({DATA}),
    ("GET", "/donnees/etat"): frozenset({DATA}),
    ("POST", "/donnees/planifications/{name}/{action}"): frozenset({DATA}),
    ("GET", "/travail/liste"): frozenset({TS}),
    ("POST", "/travail/suivant"): frozenset({TS}),
    ("POST", "/travail/rappel"): frozenset({TS}),
    ("GET", "/travail/foyers/{row_id}"): frozenset({TS}),
    ("POST", "/travail/foyers/{row_id}/resultat"): frozenset({TS}),
    ("POST", "/travail/foyers/{row_id}/liberer"): frozenset({TS}),
    ("GET", "/travail/questionnaires"): frozenset({TS}),
    ("POST", "/travail/questionnaires"): frozenset({TS}),
}


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    return sorted((method, str(route.path)) for route in api_routes(app) for method in route.methods or ())


def _concrete(path: str) -> str:
    # Values that exist nowhere: an allowed role gets past the access check, then a 404 or a 422.
    return re.sub(r"\{[^}]+\}", "inexistant-0", path)


def test_every_route_has_an_expected_rule(web_app: FastAPI) -> None:
    missing = [route for route in _routes(web_app) if route not in EXPECTED]
    assert not missing, f"routes without an expected access rule in this test: {missing}"
    stale = [route for route in EXPECTED if route not in _routes(web_app)]
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", [None, *ROLES])
def test_each_role_reaches_exactly_its_routes(client_for: Client, web_app: FastAPI, role: str | None) -> None:
    client = client_for(role)
    wrong: list[str] = []
    for method, path in _routes(web_app):
        allowed = PUBLIC in EXPECTED[(method, path)] or (
            role is not None and role in EXPECTED[(method, path)]
        )
        data = {}
        if method == "POST":
            data["csrf_token"] = csrf_of(client.get("/connexion" if role is None else _home(client)).text)
        response = client.request(method, _concrete(path), data=data or None)
        sent_to_sign_in = method == "GET" and response.headers.get("location") == "/connexion"
        denied = response.status_code in (401, 403) or sent_to_sign_in
        if denied == allowed:
            expected = "allowed" if allowed else "denied"
            wrong.append(f"{method} {path}: {response.status_code} (expected {expected})")
        if path == "/deconnexion" and allowed:
            client = client_for(role)  # the check signed this client out
    assert not wrong, "\n".join(wrong)


def _home(client: TestClient) -> str:
    return str(client.get("/").headers["location"])
