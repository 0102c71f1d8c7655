"""What a person sees when an address or a form is wrong: a French page, never a failure."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from outreach.models import Outcome
from tests.web.conftest import csrf_of, seed_worklist
from uptake.db import transaction
from uptake.web.app import api_routes
from uptake.web.errors import FIELD_LABELS

Client = Callable[[str | None], TestClient]
HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("role", "method", "address"),
    [
        ("travailleur_social", "GET", f"/travail/foyers/{HUGE}"),
        ("travailleur_social", "GET", "/travail/foyers/xyz"),
        ("travailleur_social", "POST", f"/travail/foyers/{HUGE}/liberer"),
        ("dpo", "GET", f"/dpo/echanges/{HUGE}"),
        ("dpo", "POST", f"/dpo/echanges/{HUGE}/revoquer"),
        ("dpo", "GET", "/dpo/echanges/abc"),
        ("equipe_donnees", "GET", f"/donnees/executions/{HUGE}"),
        ("equipe_donnees", "GET", "/donnees/executions/-1"),
    ],
)
def test_an_address_with_a_number_no_record_can_have_is_a_page_that_does_not_exist(
    client_for: Client, role: str, method: str, address: str
) -> None:
    client = client_for(role)
    data = {"csrf_token": csrf_of(client.get("/compte").text), "motif": "x"} if method == "POST" else None
    response = client.request(method, address, data=data)
    assert response.status_code == 404
    assert "Page introuvable" in response.text


def test_days_at_the_ends_of_the_calendar_filter_the_access_log_instead_of_failing(
    client_for: Client,
) -> None:
    client = client_for("dpo")
    for query in ("du=0001-01-01", "au=9999-12-31", "du=0001-01-01&au=9999-12-31"):
        assert client.get(f"/dpo/consultations?{query}").status_code == 200
        assert client.get(f"/dpo/consultations.csv?{query}").status_code == 200


def test_a_period_that_ends_before_it_starts_is_told_rather_than_showing_no_view(client_for: Client) -> None:
    client = client_for("dpo")
    page = client.get("/dpo/consultations?du=2026-05-12&au=2026-05-01")
    assert page.status_code == 400
    assert "La période demandée finit (01/05/2026) avant de commencer (12/05/2026)" in page.text
    exported = client.get("/dpo/consultations.csv?du=2026-05-12&au=2026-05-01")
    assert exported.status_code == 400 and "inversez les deux dates" in exported.text
    assert client.get("/dpo/consultations?du=2026-05-01&au=2026-05-01").status_code == 200  # one day


def test_a_refused_field_is_named_as_the_page_names_it(client_for: Client) -> None:
    response = client_for("dpo").get("/dpo/journal?page=0")
    assert response.status_code == 422
    assert "À corriger : le numéro de page (1 ou plus)." in response.text


def test_every_field_a_page_or_form_takes_has_a_name_for_its_refusal(web_app: FastAPI) -> None:
    taken = {
        field.alias
        for route in api_routes(web_app)
        for field in (*route.dependant.query_params, *route.dependant.body_params)
    }
    assert {"page", "commentaire", "avis", "du"} <= taken
    assert sorted(taken - set(FIELD_LABELS)) == []


def _note_typed(lines: int) -> str:
    return "Rappeler mardi.\r\n" * lines  # as a browser sends it: each line break as CR LF


def test_a_note_typed_up_to_its_limit_with_line_breaks_is_recorded(
    client_for: Client, engine: Engine
) -> None:
    # 31 lines of 16 characters as typed (a line break counted as one, as the text box counts it) is
    # 496 characters, under the 500 allowed; sent with CR LF, 527.
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    page = client.get("/travail/liste")
    location = client.post("/travail/suivant", data={"csrf_token": csrf_of(page.text)}).headers["location"]
    response: httpx.Response = client.post(
        f"{location}/resultat",
        data={
            "csrf_token": csrf_of(client.get(location).text),
            "resultat": "refus",
            "commentaire": _note_typed(31),
        },
    )
    assert response.status_code == 303
    with transaction(engine) as session:
        outcome = session.scalars(select(Outcome)).one()
    assert outcome.commentaire == ("Rappeler mardi.\n" * 31).strip()
