"""A household calls back (after « message laissé »): the worker finds its card by the number it calls
from, whatever its calling time, never a household outside their sectors or on a colleague's screen."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from outreach.models import WorklistItem
from outreach.outcomes import IN_PROGRESS, TO_CALL
from privacy.models import AuditEntry
from tests.web.conftest import (
    LOGINS,
    approve_exchange,
    csrf_of,
    office_hours_clock,
    seed_worklist,
    store_contacts,
)
from uptake.db import transaction
from uptake.web.worklist import CALLER_PURPOSE

Client = Callable[[str | None], TestClient]
WORKER = LOGINS["travailleur_social"]


def _calls_back(client: TestClient, number: str) -> httpx.Response:
    page = client.get("/travail/liste")
    response: httpx.Response = client.post(
        "/travail/rappel", data={"csrf_token": csrf_of(page.text), "telephone": number}
    )
    return response


def _world(engine: Engine, home: Path, *, fields: tuple[str, ...] | None = None) -> list[str]:
    """Three households of Forcalquier on the list, the second waiting for the next calling day after
    a message left (by the application's clock, within calling hours)."""
    pseudonyms = seed_worklist(engine, 3)
    store_contacts(engine, home, pseudonyms)  # 06 12 34 56 00, …01, …02
    approve_exchange(engine, home) if fields is None else approve_exchange(engine, home, fields=fields)
    with transaction(engine) as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.id_foyer == pseudonyms[1])
            .values(appel_a_partir_de=office_hours_clock()() + dt.timedelta(days=1))
        )
    return pseudonyms


def _row(engine: Engine, pseudonym: str) -> WorklistItem:
    with transaction(engine) as session:
        item = session.scalars(select(WorklistItem).where(WorklistItem.id_foyer == pseudonym)).one()
        session.expunge(item)
        return item


def _searches(engine: Engine) -> list[AuditEntry]:
    with transaction(engine) as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action == "annuaire.rapprochement"))
        )
        session.expunge_all()
        return entries


def test_a_household_waiting_for_tomorrow_that_calls_back_is_opened_by_its_number(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = _world(engine, tmp_path / "home")
    client = client_for("travailleur_social")

    response = _calls_back(client, "06 12 34 56 01")
    assert response.status_code == 303
    card = client.get(response.headers["location"])
    assert card.status_code == 200 and "Fictif1" in card.text
    held = _row(engine, pseudonyms[1])
    assert (held.statut, held.attribue_a) == (IN_PROGRESS, WORKER)
    # The search is audited with its purpose and counts, never the number.
    [search] = _searches(engine)
    assert search.actor == WORKER and json.loads(search.details or "{}")["finalite"] == CALLER_PURPOSE
    assert "612345601" not in (search.details or "") + (search.counts or "")

    # The household is recorded as usual; « Foyer suivant » did not hand out the others meanwhile.
    assert _row(engine, pseudonyms[0]).statut == TO_CALL


def test_a_number_no_household_of_my_sectors_has_is_told_and_kept_in_the_field(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = _world(engine, tmp_path / "home")
    with transaction(engine) as session:  # the third household moves to a commune outside my sectors
        session.execute(
            update(WorklistItem).where(WorklistItem.id_foyer == pseudonyms[2]).values(code_commune="04178")
        )
    client = client_for("travailleur_social")

    for number in ("06 99 99 99 99", "06 12 34 56 02"):
        response = _calls_back(client, number)
        page = html.unescape(response.text)
        assert response.status_code == 404
        assert "Aucun foyer à appeler de vos secteurs n'a ce numéro" in page
        assert f'value="{number}"' in page and 'aria-invalid="true"' in page
    assert _row(engine, pseudonyms[2]).statut == TO_CALL
    # Searched, found nothing: still in the audit log (the transaction was not rolled back).
    assert len(_searches(engine)) == 2

    unreadable = _calls_back(client, "06 12")
    assert unreadable.status_code == 409 and "Numéro illisible" in html.unescape(unreadable.text)


def test_a_household_on_a_colleagues_screen_stays_theirs(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = _world(engine, tmp_path / "home")
    with transaction(engine) as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.id_foyer == pseudonyms[0])
            .values(statut=IN_PROGRESS, attribue_a="collegue", attribue_le=office_hours_clock()())
        )
    response = _calls_back(client_for("travailleur_social"), "+33612345600")
    assert response.status_code == 409
    assert "en cours chez votre collègue collegue" in html.unescape(response.text)
    assert _row(engine, pseudonyms[0]).attribue_a == "collegue"


def test_no_household_is_found_by_a_number_the_card_would_not_show(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    _world(engine, tmp_path / "home", fields=("nom", "prenom", "droits_presumes", "motifs"))
    response = _calls_back(client_for("travailleur_social"), "06 12 34 56 01")
    assert response.status_code == 404
    # Nothing was decrypted to compare: no household's campaign lets the card show the phone.
    assert [json.loads(s.counts or "{}")["foyers_examines"] for s in _searches(engine)] == [0]
