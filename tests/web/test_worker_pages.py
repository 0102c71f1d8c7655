"""The social worker's pages: list, next household, card (audited), outcome, release."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from outreach.models import Outcome, WorklistItem
from privacy import exchanges
from privacy.models import AuditEntry
from tests.web.conftest import LOGINS, approve_exchange, csrf_of, seed_worklist, store_contacts
from uptake.db import transaction
from uptake.models import User
from uptake.users import set_sectors

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
    assert "dans vos secteurs (Forcalquier (04088))" in page
    assert all(p in page for p in mine)
    assert not any(p in page for p in other)
    response = _take_next(client)
    assert response.status_code == 303
    card = client.get(response.headers["location"])
    assert card.status_code == 200
    assert "Coordonnées non affichées" in card.text  # no approved exchange yet
    assert "activité modestes, pas de prime" in card.text
    # The card gives the pseudonym in full; not its title, kept in the browser's history.
    [shown] = [p for p in mine if p in card.text]
    assert "<title>Fiche du foyer à appeler" in card.text and "<h1>Fiche du foyer à appeler</h1>" in card.text
    assert f'<dd class="pseudonyme">{shown}</dd>' in card.text


def test_an_account_left_without_a_sector_is_told_so_and_given_no_household(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 3)
    client = client_for("travailleur_social")
    with transaction(engine) as session:  # an account created before sectors were required
        session.execute(update(User).where(User.login == LOGINS["travailleur_social"]).values(secteurs=[]))
    page = client.get("/travail/liste").text
    assert "Aucun secteur n'est rattaché à votre compte" in page
    assert "dans vos secteurs ()" not in page
    assert _take_next(client).headers["location"] == "/travail/liste?fait=vide"


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
    approve_exchange(engine, tmp_path / "home", fields=("nom", "prenom", "droits_presumes", "motifs"))
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "Fictif0" in card
    assert "612345600" not in card and "12 34 56 00" not in card


def test_card_names_nobody_when_the_exchange_does_not_cover_the_detection_reasons(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    pseudonyms = seed_worklist(engine, 1)
    store_contacts(engine, tmp_path / "home", pseudonyms)
    # The card shows why the household is called beside its name: contact fields alone are not enough.
    approve_exchange(engine, tmp_path / "home", fields=("civilite", "nom", "prenom", "telephone"))
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "Fictif0" not in card and "12 34 56 00" not in card
    assert "Coordonnées non affichées" in card and "droits_presumes, motifs" in card


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


def test_a_result_or_a_release_sent_twice_is_told_as_done_and_recorded_once(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 2)
    client = client_for("travailleur_social")
    location = _take_next(client).headers["location"]
    form = {"csrf_token": csrf_of(client.get(location).text), "resultat": "refus"}
    assert client.post(f"{location}/resultat", data=form).status_code == 303
    again = client.post(f"{location}/resultat", data=form)  # a double click
    assert again.headers["location"] == "/travail/liste?fait=deja"
    assert "déjà enregistré" in client.get(again.headers["location"]).text
    with transaction(engine) as session:
        assert len(session.scalars(select(Outcome)).all()) == 1
    other = _take_next(client).headers["location"]
    token = csrf_of(client.get(other).text)
    assert client.post(f"{other}/liberer", data={"csrf_token": token}).status_code == 303
    twice = client.post(f"{other}/liberer", data={"csrf_token": token})
    assert twice.headers["location"] == "/travail/liste?fait=deja_libere"


def _add_colleague(engine: Engine) -> None:
    """A second social worker, of the same sector: `ts-collegue`."""
    from tests.web.conftest import create_accounts
    from uptake.users import add_user

    create_accounts(engine, ("admin",))
    with transaction(engine) as session:
        add_user(
            session,
            "ts-collegue",
            role="travailleur_social",
            password="phrase-de-passe-de-test",
            actor="test",
            secteurs=["04088"],
            temporary=False,
        )


def test_a_household_held_by_a_colleague_cannot_be_opened_or_released(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    holder = client_for("travailleur_social")
    location = _take_next(holder).headers["location"]
    _add_colleague(engine)
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

    assert "Questionnaire retourné</h2>" in card and "reçu le 28/03/2026" in card
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


def _card(client: TestClient) -> tuple[str, str]:
    """Take the next household: its card's address and CSRF token."""
    location = _take_next(client).headers["location"]
    return location, csrf_of(client.get(location).text)


def _outcomes(engine: Engine) -> list[Outcome]:
    with transaction(engine) as session:
        return list(session.scalars(select(Outcome)))


def test_a_refused_outcome_keeps_what_was_typed_and_points_at_the_amount(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)

    refused = client.post(
        f"{location}/resultat",
        data={
            "csrf_token": token,
            "resultat": "droit_ouvert",
            "montant": "-5",
            "commentaire": "Pièces à fournir",
        },
    )

    assert refused.status_code == 400
    assert (
        "Résultat non enregistré : le montant est négatif. Donnez le montant mensuel en euros, par exemple "
        "182,50." in refused.text
    )
    assert '<option value="droit_ouvert" selected>' in refused.text
    assert '<option value="" disabled>' in refused.text
    assert 'value="-5"' in refused.text and ">Pièces à fournir</textarea>" in refused.text
    assert 'aria-describedby="aide-montant erreur-montant" aria-invalid="true"' in refused.text
    assert '<p id="erreur-montant" class="message-erreur">Le montant est négatif.' in refused.text
    assert _outcomes(engine) == []


def test_an_amount_given_with_another_result_is_refused_in_words(client_for: Client, engine: Engine) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)

    refused = client.post(
        f"{location}/resultat", data={"csrf_token": token, "resultat": "joint", "montant": "12"}
    ).text

    assert (
        "Résultat non enregistré : un montant ne se donne que pour « droit ouvert », pas pour « joint ». "
        "Retirez le montant, ou choisissez « droit ouvert »." in refused.replace("&#34;", '"')
    )
    assert "`" not in refused
    assert '<option value="joint" selected>' in refused


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("nan", "le montant est illisible"),
        ("1e400", "le montant est illisible"),
        ("-inf", "le montant est illisible"),
        ("25 000", "dépasse le plafond de 10\u202f000,00 €"),
        ("beaucoup", "montant illisible « beaucoup »"),
    ],
)
def test_an_opened_right_with_an_amount_one_cannot_believe_is_not_recorded(
    client_for: Client, engine: Engine, typed: str, said: str
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)

    refused = client.post(
        f"{location}/resultat", data={"csrf_token": token, "resultat": "droit_ouvert", "montant": typed}
    )

    assert refused.status_code == 400 and said in refused.text
    assert _outcomes(engine) == []


@pytest.mark.parametrize(
    "code",
    [
        "a_contacter",
        "pli_non_distribue",
        "courriel_non_distribue",
        "questionnaire_envoye",
        "questionnaire_retourne",
    ],
)
def test_only_a_result_a_call_can_have_is_recorded_from_the_card(
    client_for: Client, engine: Engine, code: str
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)

    refused = client.post(f"{location}/resultat", data={"csrf_token": token, "resultat": code})

    assert refused.status_code == 400
    assert "n&#39;est pas un résultat d&#39;appel" in refused.text
    assert 'aria-invalid="true" aria-describedby="erreur-resultat"' in refused.text
    assert f'value="{code}"' not in refused.text  # nor offered
    assert _outcomes(engine) == []


def test_after_no_answer_the_notice_says_when_the_household_will_be_called_again(
    client_for: Client, engine: Engine
) -> None:
    from outreach.models import WorklistItem
    from uptake import french

    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)

    sent = client.post(f"{location}/resultat", data={"csrf_token": token, "resultat": "injoignable"})
    page = client.get(sent.headers["location"]).text

    with transaction(engine) as session:
        again = french.moment(session.get_one(WorklistItem, 1).appel_a_partir_de)
    assert f"Le foyer reste dans la liste : il sera rappelé à partir du {again}" in page
    assert "retiré de votre liste" not in page


def test_the_history_is_one_list_in_date_order_with_notes_planned_attempts_and_campaign_titles(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from outreach.models import Contact

    [pseudonym] = seed_worklist(engine, 1)
    now = dt.datetime.now(dt.UTC)

    def attempt(number: int, canal: str, days: int) -> Contact:
        moment = now + dt.timedelta(days=days)
        return Contact(
            launch_id=1,
            campagne="action-2-2-non-recours",
            id_foyer=pseudonym,
            regle="prime_activite",
            canal=canal,
            tentative=number,
            prevu_le=moment,
            produit_le=moment,
        )

    with transaction(engine) as session:
        session.add_all([attempt(2, "sms", 5), attempt(1, "courrier", -10)])
        session.add(
            Outcome(
                id_foyer=pseudonym,
                launch_id=1,
                resultat="message_laisse",
                canal="appel",
                acteur="ts-collegue",
                source="saisie",
                survenu_le=now - dt.timedelta(days=2),
                enregistre_le=now - dt.timedelta(days=2),
                commentaire="Rappeler en fin de journée",
            )
        )
    client = client_for("travailleur_social")

    card = client.get(_take_next(client).headers["location"]).text
    history = card[card.index("Historique</h2>") :]

    title = "Action 2.2 : droits non réclamés (prime d&#39;activité, RSA, aide au logement)"
    letter = history.index(f"<td>Tentative n°1 ({title})</td><td>courrier</td>")
    message = history.index(
        "<td>message laissé</td><td>appel</td><td>ts-collegue</td>"
        '<td class="note">Rappeler en fin de journée</td>'
    )
    planned = history.index(f"<td>Tentative n°2 prévue ({title})</td><td>SMS</td>")
    assert letter < message < planned
    assert "action-2-2-non-recours" not in history


def test_a_household_given_back_is_not_handed_again_to_the_worker_who_gave_it_back(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    _add_colleague(engine)
    client = client_for("travailleur_social")
    location, token = _card(client)

    released = client.post(f"{location}/liberer", data={"csrf_token": token})
    page = client.get(released.headers["location"]).text

    assert "Foyer remis dans la liste pour un collègue : il ne vous sera plus proposé." in page
    assert "remis dans la liste par vous : pour un collègue" in page
    assert "0 foyer(s) à appeler maintenant" in page
    assert _take_next(client).headers["location"] == "/travail/liste?fait=vide"


def test_opening_the_card_renews_the_claim(client_for: Client, engine: Engine, web_app: FastAPI) -> None:
    import datetime as dt

    from outreach.models import WorklistItem
    from uptake import french

    clock = web_app.state.context.clock
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location = _take_next(client).headers["location"]
    with transaction(engine) as session:
        session.get_one(WorklistItem, 1).attribue_le = clock() - dt.timedelta(hours=3)

    assert client.get(location).status_code == 200

    with transaction(engine) as session:
        claimed_at = session.get_one(WorklistItem, 1).attribue_le
    assert claimed_at is not None
    assert clock() - french.utc(claimed_at) < dt.timedelta(minutes=1)


def _clock_at(web_app: FastAPI, local: str) -> None:
    """Set the call lists' clock to a fixed Paris time, e.g. `2026-12-06 20:00` (a Sunday evening)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    moment = dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Paris"))
    web_app.state.context.clock = lambda: moment


def _seed(engine: Engine, count: int, **options: Any) -> list[str]:
    """Households callable since long before the fixed clocks of these tests."""
    import datetime as dt

    return seed_worklist(engine, count, since=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), **options)


def _config_copy(web_app: FastAPI, tmp_path: Path) -> Path:
    """The application reads a copy of the configuration, to be changed by the test."""
    import shutil
    from dataclasses import replace

    from tests.conftest import CONFIG_DIR

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    web_app.state.context.settings = replace(web_app.state.context.settings, config_dir=config)
    return config


CLOSED_22 = (
    "« Action 2.2 : droits non réclamés (prime d&#39;activité, RSA, aide au logement) » : appels fermés "
    "en ce moment (appels du lundi au vendredi, de 09:00 à 18:00, hors jours fériés)."
)


@pytest.mark.parametrize(
    ("local", "reopens"),
    [
        ("2026-12-06 20:00", "07/12/2026 09:00"),  # Sunday evening
        ("2026-12-08 18:00", "09/12/2026 09:00"),  # Tuesday, the hour it closes
        ("2026-12-25 10:00", "28/12/2026 09:00"),  # Christmas, a Friday
    ],
)
def test_no_household_is_handed_out_outside_its_campaigns_calling_hours(
    client_for: Client, engine: Engine, web_app: FastAPI, local: str, reopens: str
) -> None:
    _seed(engine, 2)
    client = client_for("travailleur_social")
    _clock_at(web_app, local)

    page = client.get("/travail/liste").text
    assert "0 foyer(s) à appeler maintenant" in page
    assert f"Prochain appel possible le {reopens}." in page
    assert CLOSED_22 in page
    assert f"à appeler à partir du {reopens}" in page
    empty = client.get(_take_next(client).headers["location"]).text
    assert (
        f"Aucun foyer de vos secteurs n&#39;est à appeler maintenant : prochain appel possible le {reopens}."
        in empty
    )

    _clock_at(web_app, "2026-12-07 09:00")  # Monday morning: the calls open
    assert _take_next(client).headers["location"].startswith("/travail/foyers/")


def test_a_campaign_calling_on_saturdays_is_handed_out_on_saturday_and_the_others_wait(
    client_for: Client, engine: Engine, web_app: FastAPI, tmp_path: Path
) -> None:
    config = _config_copy(web_app, tmp_path)
    shipped = config / "campaigns" / "action-2-2-non-recours.toml"
    saturday = shipped.read_text(encoding="utf-8").replace(
        'jours = ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]', 'jours = ["samedi"]'
    )
    (config / "campaigns" / "samedi.toml").write_text(saturday, encoding="utf-8")
    _seed(engine, 1)
    [on_saturday] = _seed(engine, 1, campagne="samedi", start=10)
    client = client_for("travailleur_social")
    _clock_at(web_app, "2026-12-05 10:00")

    page = client.get("/travail/liste").text
    assert "1 foyer(s) à appeler maintenant" in page and CLOSED_22 in page
    card = client.get(_take_next(client).headers["location"]).text
    assert on_saturday in card
    assert "Hors des plages d'appel" not in card
    _clock_at(web_app, "2026-12-07 10:00")  # Monday: the Saturday campaign is closed
    assert "(appels le samedi, de 09:00 à 18:00, hors jours fériés)" in client.get("/travail/liste").text


def test_the_card_of_a_household_held_when_the_hours_close_says_not_to_call_before_they_reopen(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    _seed(engine, 1)
    client = client_for("travailleur_social")
    _clock_at(web_app, "2026-12-04 17:50")  # a Friday, ten minutes before the calls close
    location = _take_next(client).headers["location"]
    assert "Hors des plages" not in client.get(location).text

    _clock_at(web_app, "2026-12-04 18:05")
    card = client.get(location).text
    assert (
        "Hors des plages d'appel de cette campagne : n'appelez pas ce foyer avant le "
        "07/12/2026 09:00." in card
    )


def test_a_household_a_colleague_left_is_not_taken_over_while_its_campaigns_hours_are_closed(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    from uptake.web.worklist import claim_next

    _seed(engine, 1)
    _clock_at(web_app, "2026-12-04 14:00")  # a Friday
    assert _take_next(client_for("travailleur_social")).headers["location"].startswith("/travail/foyers/")
    context = web_app.state.context

    def colleague_claims() -> int | None:
        return claim_next(
            context.engine,
            "ts-collegue",
            ["04088"],
            now=context.now(),
            config_dir=context.settings.config_dir,
        )

    # At 18:30 the claim is stale (more than 2 hours), but the calls closed at 18:00.
    _clock_at(web_app, "2026-12-04 18:30")
    assert colleague_claims() is None
    _clock_at(web_app, "2026-12-07 09:30")
    assert colleague_claims() is not None


def test_households_i_gave_back_do_not_set_when_my_next_call_is(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    _seed(engine, 1)
    client = client_for("travailleur_social")
    _clock_at(web_app, "2026-12-04 10:00")
    location, token = _card(client)
    client.post(f"{location}/liberer", data={"csrf_token": token})
    _clock_at(web_app, "2026-12-05 10:00")  # Saturday

    page = client.get("/travail/liste").text
    assert "0 foyer(s) à appeler maintenant" in page
    assert "Prochain appel possible" not in page  # only a colleague will be given it


def test_households_of_an_unreadable_campaign_file_are_not_handed_out_and_the_list_says_why(
    client_for: Client, engine: Engine, web_app: FastAPI, tmp_path: Path
) -> None:
    config = _config_copy(web_app, tmp_path)
    (config / "campaigns" / "action-2-2-non-recours.toml").unlink()
    _seed(engine, 1)
    client = client_for("travailleur_social")
    _clock_at(web_app, "2026-12-08 10:00")

    page = client.get("/travail/liste").text
    assert (
        "Campagne action-2-2-non-recours : fichier de campagne introuvable ou invalide. Ses foyers ne sont "
        "pas proposés : prévenez l'équipe données." in page
    )
    assert "en attente : fichier de campagne à corriger" in page
    assert "0 foyer(s) à appeler maintenant" in page
    assert _take_next(client).headers["location"] == "/travail/liste?fait=vide"


def test_a_no_answer_recorded_after_closing_is_called_back_the_next_calling_morning(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    _seed(engine, 1)
    client = client_for("travailleur_social")
    _clock_at(web_app, "2026-12-08 17:55")  # a Tuesday
    location, token = _card(client)
    _clock_at(web_app, "2026-12-08 18:05")
    sent = client.post(f"{location}/resultat", data={"csrf_token": token, "resultat": "injoignable"})

    page = client.get(sent.headers["location"]).text
    assert "il sera rappelé à partir du 09/12/2026 09:00" in page


def test_a_household_left_outside_my_sectors_when_they_change_is_not_shown_and_goes_back_to_the_list(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    [held] = seed_worklist(engine, 1)
    [other] = seed_worklist(engine, 1, commune="04178", start=100)
    store_contacts(engine, tmp_path / "home", [held])
    approve_exchange(engine, tmp_path / "home")
    client = client_for("travailleur_social")
    location = _take_next(client).headers["location"]
    assert "Fictif0" in client.get(location).text
    with transaction(engine) as session:  # the administrator moves the worker to another commune
        session.execute(
            update(User).where(User.login == LOGINS["travailleur_social"]).values(secteurs=["04178"])
        )

    card = client.get(location)

    assert card.status_code == 404 and "Fictif0" not in card.text
    assert "n'est plus dans vos secteurs" in html.unescape(card.text) and "remis dans la liste" in card.text
    with transaction(engine) as session:
        item = session.scalars(select(WorklistItem).where(WorklistItem.id_foyer == held)).one()
        assert (item.statut, item.attribue_a, item.remis_par) == ("a_appeler", None, None)
    following = client.get(_take_next(client).headers["location"]).text
    assert other in following and held not in following


def test_a_second_tab_sending_another_result_is_told_and_its_note_shown_not_lost(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    first = {"csrf_token": token, "resultat": "joint", "commentaire": "Dossier en cours"}
    assert client.post(f"{location}/resultat", data=first).status_code == 303

    second = client.post(
        f"{location}/resultat", data={"csrf_token": token, "resultat": "refus", "commentaire": "Ne veut pas"}
    )

    assert second.status_code == 409
    text = html.unescape(second.text)
    assert "Résultat non enregistré : un autre résultat (« joint ») a déjà été enregistré par vous" in text
    assert "Celui-ci (« refus ») ne l'a pas remplacé" in text
    assert ">Ne veut pas</textarea>" in text and "readonly" in text
    assert [o.resultat for o in _outcomes(engine)] == ["joint"]


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("Rappeler sur le portable de sa fille 07 98 76 54 32", "la note contient un numéro de téléphone"),
        ("Écrire à camille.fictif@example.org", "la note contient une adresse électronique"),
        ("x" * 501, "la note fait 501 caractères, pour 500 au plus"),
    ],
)
def test_a_note_with_contact_details_or_too_long_is_refused_and_kept_to_be_mended(
    client_for: Client, engine: Engine, note: str, said: str
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    refused = client.post(
        f"{location}/resultat", data={"csrf_token": token, "resultat": "joint", "commentaire": note}
    )
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert f"Résultat non enregistré : {said}" in text
    assert f">{note}</textarea>" in text and 'id="erreur-commentaire"' in text
    assert _outcomes(engine) == []


def test_an_amount_written_with_a_thousands_point_is_refused_rather_than_read_as_cents(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    form = {"csrf_token": token, "resultat": "droit_ouvert", "montant": "1.200"}
    refused = client.post(f"{location}/resultat", data=form)
    assert refused.status_code == 400
    assert "montant ambigu « 1.200 »" in html.unescape(refused.text) and _outcomes(engine) == []
    assert client.post(f"{location}/resultat", data=form | {"montant": "1 200"}).status_code == 303
    assert [o.montant for o in _outcomes(engine)] == [1200.0]


def test_giving_back_a_household_nobody_else_can_call_says_to_warn_the_team_leader(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    released = client.post(f"{location}/liberer", data={"csrf_token": token})
    assert released.headers["location"] == "/travail/liste?fait=libere_seul"
    assert "Aucun autre travailleur social n'a sa commune" in html.unescape(
        client.get(released.headers["location"]).text
    )


def test_a_line_number_no_record_can_have_in_the_list_address_is_refused_not_an_error(
    client_for: Client,
) -> None:
    client = client_for("travailleur_social")
    assert client.get("/travail/liste?fait=rappel&ligne=99999999999999999999").status_code == 422


def test_a_note_sent_on_an_ended_session_is_given_back_to_be_copied(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    cookie = client.cookies["uptake_session"]
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 303
    client.cookies.set("uptake_session", cookie)  # the card was still open in the browser

    sent = client.post(
        f"{location}/resultat",
        data={"csrf_token": token, "resultat": "joint", "commentaire": "Pièces à fournir\nRappeler jeudi"},
    )

    assert sent.status_code == 401
    text = html.unescape(sent.text)
    assert "Votre session a pris fin" in text and "Votre note, non enregistrée" in text
    assert ">Pièces à fournir\nRappeler jeudi</textarea>" in text
    assert _outcomes(engine) == []


def test_a_household_held_by_a_worker_whose_account_is_disabled_goes_back_to_the_list_at_once(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    worker = client_for("travailleur_social")
    location = _take_next(worker).headers["location"]
    _add_colleague(engine)
    admin = client_for("admin")
    page = admin.get(f"/admin/comptes/{LOGINS['travailleur_social']}")
    assert "les foyers qu'il avait pris reviennent aussitôt dans la liste" in html.unescape(page.text)
    assert f'href="/admin/comptes/{LOGINS["travailleur_social"]}#acces"' in admin.get("/admin/comptes").text

    disabled = admin.post(
        f"/admin/comptes/{LOGINS['travailleur_social']}/desactiver", data={"csrf_token": csrf_of(page.text)}
    )

    assert disabled.status_code == 303
    from tests.web.conftest import sign_in

    colleague = client_for(None)
    assert sign_in(colleague, "ts-collegue", "phrase-de-passe-de-test").status_code == 303
    assert _take_next(colleague).headers["location"] == location  # not two hours later


def test_a_note_sent_for_a_household_no_longer_mine_is_given_back_to_be_copied(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    with transaction(engine) as session:  # the administrator moves the worker meanwhile
        set_sectors(session, LOGINS["travailleur_social"], ["04178"], actor="admin")

    sent = client.post(
        f"{location}/resultat",
        data={"csrf_token": token, "resultat": "joint", "commentaire": "Rappeler lundi"},
    )

    assert sent.status_code == 409
    text = html.unescape(sent.text)
    assert "Résultat non enregistré : la ligne n°" in text and "n'est pas attribuée à votre nom" in text
    assert ">Rappeler lundi</textarea>" in text and _outcomes(engine) == []


def test_a_note_typed_before_giving_the_household_back_is_given_back_to_be_copied(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, token = _card(client)
    # The button is in the result form: the note goes with it.
    assert f'formaction="{location}/liberer"' in client.get(location).text

    released = client.post(
        f"{location}/liberer", data={"csrf_token": token, "commentaire": "Occupé, rappeler"}
    )

    assert released.status_code == 200
    text = html.unescape(released.text)
    assert "Votre note, qui n'a pas été enregistrée" in text and ">Occupé, rappeler</textarea>" in text


def test_a_form_refused_as_expired_gives_the_note_back_and_says_how_to_send_it_again(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    client = client_for("travailleur_social")
    location, _token = _card(client)

    sent = client.post(
        f"{location}/resultat",
        data={
            "csrf_token": "jeton-d-une-session-precedente",
            "resultat": "joint",
            "commentaire": "À rappeler",
        },
    )

    assert sent.status_code == 403
    text = html.unescape(sent.text)
    assert "rien n'a été enregistré" in text and "sans la recharger" in text
    assert ">À rappeler</textarea>" in text and _outcomes(engine) == []


def test_the_card_keeps_each_amount_of_the_reasons_on_one_line_and_the_stored_text_unchanged(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 1)
    written = "Revenus d'activité de 1 048 € par mois, loyer de 12 500 € par an."
    with transaction(engine) as session:
        session.execute(update(WorklistItem).values(motifs=written, montant_estime=1234.5))
    client = client_for("travailleur_social")
    card = client.get(_take_next(client).headers["location"]).text
    assert "de 1\u202f048\u00a0€ par mois, loyer de 12\u202f500\u00a0€ par an." in card
    assert "<dd>1\u202f234,50\u00a0€ par mois</dd>" in card
    assert "1 048 €" not in card and "12 500 €" not in card  # nor in the call script that quotes them
    with transaction(engine) as session:
        assert session.scalars(select(WorklistItem.motifs)).one() == written  # the SMS and letters' text
