"""The social worker's pages: list, next household, card (audited), outcome, release."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from outreach.models import Outcome
from privacy import exchanges
from privacy.models import AuditEntry
from tests.web.conftest import LOGINS, approve_exchange, csrf_of, seed_worklist, store_contacts
from uptake.db import transaction

Client = Callable[[str | None], TestClient]


def _take_next(client: TestClient) -> httpx.Response:
    page = client.get("/travail/liste")
    response: httpx.Response = client.post("/travail/suivant", data={"csrf_token": csrf_of(page.text)})
    return response


def test_worklist_shows_my_sectors_only_and_next_household_opens_its_card(
    client_for: Client, engine: Engine
) -> None:
    mine = seed_worklist(engine, 3)
    other = seed_worklist(engine, 2, commune="04178", start=100)
    client = client_for("travailleur_social")
    page = client.get("/travail/liste").text
    assert all(p in page for p in mine)
    assert not any(p in page for p in other)
    response = _take_next(client)
    assert response.status_code == 303
    card = client.get(response.headers["location"])
    assert card.status_code == 200
    assert "Coordonnées non affichées" in card.text  # no approved exchange yet
    assert "activité modestes, pas de prime" in card.text


def test_outside_call_hours_the_list_says_when_each_household_and_the_next_call_may_be_called(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from outreach.models import WorklistItem

    [pseudonym] = seed_worklist(engine, 1)
    monday_9am = dt.datetime(2099, 3, 2, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris
    with transaction(engine) as session:
        session.get_one(WorklistItem, 1).appel_a_partir_de = monday_9am

    page = client_for("travailleur_social").get("/travail/liste").text

    assert "0 foyer(s) à appeler maintenant" in page
    assert "Prochain appel possible le 02/03/2099 09:00" in page
    assert "à appeler à partir du 02/03/2099 09:00" in page
    assert f'title="{pseudonym}"' in page and "Forcalquier (04088)" in page


def test_card_names_the_right_in_words_and_asks_for_an_outcome_of_the_call(
    client_for: Client, engine: Engine
) -> None:
    from outreach.models import WorklistItem

    seed_worklist(engine, 1)
    with transaction(engine) as session:
        session.get_one(WorklistItem, 1).regle = "ppa_non_recours"
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "<dd>Prime d&#39;activité probablement non réclamée</dd>" in card
    assert '<option value="" selected disabled>— choisissez —</option>' in card
    assert 'value="a_contacter"' not in card and 'value="droit_ouvert"' in card
    assert 'value="pli_non_distribue"' not in card  # recorded by the mail room, not after a call


def test_every_card_view_is_audited_with_the_pseudonym_and_no_value(
    client_for: Client, engine: Engine
) -> None:
    pseudonyms = seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location = _take_next(client).headers["location"]
    client.get(location)
    client.get(location)
    with transaction(engine) as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "foyer.consultation")).all()
    assert len(views) == 2
    assert {v.object_ref for v in views} == {pseudonyms[0]}
    assert {v.actor for v in views} == {LOGINS["travailleur_social"]}
    assert json.loads(views[0].details or "{}")["motif"].startswith("appel")


def test_card_shows_name_and_phone_when_an_approved_exchange_allows_them(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = seed_worklist(engine, 1)
    store_contacts(engine, tmp_path / "home", pseudonyms)
    approve_exchange(engine, tmp_path / "home")
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "Fictif0" in card
    assert "06 12 34 56 00" in card or "+33612345600" in card
    assert "Je souhaite parler à Mme Camille Fictif0" in card  # the call script, filled in


def test_card_hides_the_phone_when_the_exchange_does_not_cover_it(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = seed_worklist(engine, 1)
    store_contacts(engine, tmp_path / "home", pseudonyms)
    approve_exchange(engine, tmp_path / "home", fields=("nom", "prenom"))
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "Fictif0" in card
    assert "612345600" not in card and "12 34 56 00" not in card


def test_droit_ouvert_needs_an_amount_and_is_recorded_with_it(client_for: Client, engine: Engine) -> None:
    pseudonyms = seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location = _take_next(client).headers["location"]
    token = csrf_of(client.get(location).text)
    missing = client.post(f"{location}/resultat", data={"csrf_token": token, "resultat": "droit_ouvert"})
    assert missing.status_code == 400
    assert "montant" in missing.text
    unknown = client.post(f"{location}/resultat", data={"csrf_token": token, "resultat": "parti_en_vacances"})
    assert unknown.status_code == 400
    done = client.post(
        f"{location}/resultat", data={"csrf_token": token, "resultat": "droit_ouvert", "montant": "182,50"}
    )
    assert done.status_code == 303
    with transaction(engine) as session:
        outcome = session.scalars(select(Outcome)).one()
    assert (outcome.id_foyer, outcome.resultat, outcome.montant) == (pseudonyms[0], "droit_ouvert", 182.5)
    assert outcome.acteur == LOGINS["travailleur_social"]
    assert client.get(location).status_code == 404  # closed: no longer on my card


def test_a_household_held_by_a_colleague_cannot_be_opened_or_released(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    holder = client_for("travailleur_social")
    location = _take_next(holder).headers["location"]
    from tests.web.conftest import create_accounts  # a second social worker, same sector
    from uptake.users import add_user

    create_accounts(engine, ("admin",))
    with transaction(engine) as session:
        add_user(
            session,
            "ts-collegue",
            role="travailleur_social",
            password="phrase-de-passe-de-test",
            secteurs=["04088"],
        )
    from tests.web.conftest import sign_in

    colleague = client_for(None)
    assert sign_in(colleague, "ts-collegue", "phrase-de-passe-de-test").status_code == 303
    assert colleague.get(location).status_code == 404
    token = csrf_of(colleague.get("/travail/liste").text)
    assert colleague.post(f"{location}/liberer", data={"csrf_token": token}).status_code == 404
    assert _take_next(colleague).headers["location"] == "/travail/liste?fait=vide"
    release = holder.post(f"{location}/liberer", data={"csrf_token": csrf_of(holder.get(location).text)})
    assert release.status_code == 303
    assert _take_next(colleague).headers["location"] == location


def test_card_hides_the_contact_details_once_the_dpo_revokes_the_exchange(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = seed_worklist(engine, 2)
    store_contacts(engine, tmp_path / "home", pseudonyms)
    exchange_id = approve_exchange(engine, tmp_path / "home")
    with transaction(engine) as session:
        exchanges.revoke(session, exchange_id, dpo="dpo", motif="Fin de la convention")
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "Coordonnées non affichées" in card, card
    assert "Fictif" not in card and "12 34 56" not in card


def test_card_shows_the_answers_of_the_households_returned_questionnaire(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from outreach.models import QuestionnaireAnswer, WorklistItem

    [pseudonym] = seed_worklist(engine, 1)
    received = dt.datetime(2026, 3, 28, 9, 0, tzinfo=dt.UTC)
    with transaction(engine) as session:
        item = session.get_one(WorklistItem, 1)
        for order, (question, label, answer) in enumerate(
            [("humidite", "Humidité ou moisissures", "oui"), ("anciennete", "Années dans le logement", "12")]
        ):
            session.add(
                QuestionnaireAnswer(
                    launch_id=item.launch_id,
                    id_foyer=pseudonym,
                    questionnaire="pre-diagnostic-logement",
                    question=question,
                    libelle=label,
                    ordre=order,
                    reponse=answer,
                    recu_le=received,
                    acteur="secretariat",
                    enregistre_le=received,
                )
            )
    client = client_for("travailleur_social")

    card = client.get(_take_next(client).headers["location"]).text

    assert "<h2>Questionnaire retourné</h2>" in card and "reçu le 28/03/2026" in card
    assert "<td>Humidité ou moisissures</td><td>oui</td>" in card
    assert card.index("Humidité ou moisissures") < card.index("Années dans le logement")


def test_a_line_whose_attempt_is_no_longer_in_the_campaign_gets_the_campaigns_call_script(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from outreach.models import WorklistItem

    pseudonyms = seed_worklist(engine, 1)
    store_contacts(engine, tmp_path / "home", pseudonyms)
    approve_exchange(engine, tmp_path / "home")
    with transaction(engine) as session:
        session.get_one(WorklistItem, 1).tentative = 9  # the campaign's file was shortened since

    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"])

    assert card.status_code == 200
    assert "Je souhaite parler à Mme Camille Fictif0" in card.text
