"""A returned questionnaire typed in by a social worker: reference first, then its own questions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from outreach.launch import OutreachEnv
from outreach.models import Outcome, QuestionnaireAnswer, WorklistItem
from tests.outreach.conftest import OutreachWorld, approve_exchange, send_questionnaires
from tests.outreach.factories import geography, templates_dir
from tests.web.conftest import LOGINS, app_keyring, csrf_of, load_register
from uptake.db import transaction

Client = Callable[[str | None], TestClient]


def _questionnaires_sent(engine: Engine, home: Path, households: int = 2) -> dict[str, str]:
    """Action 7.1 launched and its questionnaires sent, in the web application's database and keys."""
    load_register(engine)
    keyring = app_keyring(home)
    approve_exchange(engine, keyring)
    env = OutreachEnv(engine, keyring, geography(), templates_dir(), actor="equipe-donnees")
    _, references = send_questionnaires(OutreachWorld(engine, keyring, env, home / "sorties", 0), households)
    return references


def test_a_reference_opens_the_form_of_the_questionnaire_it_was_sent_with(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home")
    client = client_for("travailleur_social")

    start = client.get("/travail/questionnaires")
    form = client.get("/travail/questionnaires", params={"reference": next(iter(references.values()))})
    unknown = client.get("/travail/questionnaires", params={"reference": "Q-999-1"})

    assert 'href="/travail/questionnaires"' in start.text and 'name="reference"' in start.text
    assert form.status_code == 200
    assert "Constatez-vous de l&#39;humidité ou des moisissures ?" in form.text
    assert 'name="travailleur_social" value="oui"' in form.text and 'name="anciennete"' in form.text
    assert (
        unknown.status_code == 400 and "Q-999-1 : aucun questionnaire n&#39;a cette référence" in unknown.text
    )


def test_typed_answers_are_recorded_and_a_request_for_a_social_worker_puts_the_household_back_on_the_list(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home")
    pseudonym, reference = sorted(references.items())[0]
    client = client_for("travailleur_social")
    page = client.get("/travail/questionnaires", params={"reference": reference})

    sent = client.post(
        "/travail/questionnaires",
        data={
            "csrf_token": csrf_of(page.text),
            "reference": reference,
            "date": "2026-03-28",
            "anciennete": "9",
            "humidite": "oui",
            "chauffage": "",
            "travailleur_social": "oui",
        },
        follow_redirects=False,
    )
    done = client.get(sent.headers["location"])

    assert sent.status_code == 303
    assert f"Questionnaire {reference} enregistré." in done.text
    assert "il est remis sur la liste d&#39;appels de sa campagne" in done.text
    with transaction(engine) as session:
        answers = {
            a.question: a.reponse
            for a in session.scalars(
                select(QuestionnaireAnswer).where(QuestionnaireAnswer.id_foyer == pseudonym)
            )
        }
        outcome = session.scalars(select(Outcome).where(Outcome.resultat == "questionnaire_retourne")).one()
        line = session.scalars(select(WorklistItem).where(WorklistItem.id_foyer == pseudonym)).one()
    assert answers == {"anciennete": "9", "humidite": "oui", "travailleur_social": "oui"}
    assert (outcome.id_foyer, outcome.source, outcome.acteur) == (
        pseudonym,
        "saisie",
        LOGINS["travailleur_social"],
    )
    assert line.statut == "a_appeler"


def test_a_wrong_answer_keeps_the_form_filled_and_says_what_to_fix(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home")
    reference = next(iter(references.values()))
    client = client_for("travailleur_social")
    page = client.get("/travail/questionnaires", params={"reference": reference})

    refused = client.post(
        "/travail/questionnaires",
        data={
            "csrf_token": csrf_of(page.text),
            "reference": reference,
            "date": "2099-01-01",
            "anciennete": "beaucoup",
            "humidite": "oui",
        },
    )

    assert refused.status_code == 400
    assert "date dans le futur" in refused.text and "« beaucoup » : écrivez un nombre entier" in refused.text
    assert 'value="beaucoup"' in refused.text and 'name="humidite" value="oui" checked' in refused.text
    with transaction(engine) as session:
        assert session.scalars(select(QuestionnaireAnswer)).first() is None


def _another_worker(client_for: Client, engine: Engine, login: str, sector: str) -> TestClient:
    """Another social worker, of `sector` only, signed in."""
    from tests.web.conftest import PASSWORD, create_accounts, sign_in
    from uptake.users import add_user

    create_accounts(engine, ("admin",))
    with transaction(engine) as session:
        add_user(
            session,
            login,
            role="travailleur_social",
            password=PASSWORD,
            actor="test",
            secteurs=[sector],
            temporary=False,
        )
    client = client_for(None)
    assert sign_in(client, login, PASSWORD).status_code == 303
    return client


def test_a_reference_typed_in_lower_case_with_spaces_opens_the_form_and_names_where_it_went(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home", households=1)
    [printed] = references.values()
    client = client_for("travailleur_social")

    form = client.get("/travail/questionnaires", params={"reference": f" {printed.lower()} "})

    assert form.status_code == 200
    assert f'name="reference" value="{printed}"' in form.text
    assert "Envoyé à un foyer de <strong>Forcalquier (04088)</strong>" in form.text
    assert "Action 7.1 : impayés locatifs et logement non décent (OPAH, PIG)" in form.text


def test_a_reference_that_opens_nothing_is_told_as_a_lookup_not_as_a_refused_save(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    _questionnaires_sent(engine, tmp_path / "home", households=1)
    client = client_for("travailleur_social")

    unknown = client.get("/travail/questionnaires", params={"reference": "Q-12"})

    assert unknown.status_code == 400
    assert "Impossible d&#39;afficher ce questionnaire : voyez le message sous la référence." in unknown.text
    assert "non enregistré" not in unknown.text
    assert 'aria-invalid="true" aria-describedby="erreur-reference"' in unknown.text


def test_a_social_worker_cannot_open_or_record_a_questionnaire_of_another_sector(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home", households=1)
    [printed] = references.values()
    client = _another_worker(client_for, engine, "ts-manosque", "04112")  # Manosque

    looked_up = client.get("/travail/questionnaires", params={"reference": printed})
    posted = client.post(
        "/travail/questionnaires",
        data={
            "csrf_token": csrf_of(client.get("/travail/questionnaires").text),
            "reference": printed,
            "date": "2026-03-28",
            "travailleur_social": "oui",
        },
    )

    for refused in (looked_up, posted):
        assert refused.status_code == 400
        assert f"{printed} : ce foyer n&#39;habite pas dans vos secteurs" in refused.text
        assert "Constatez-vous" not in refused.text  # the questions are not shown
    with transaction(engine) as session:
        assert session.scalars(select(QuestionnaireAnswer)).first() is None
        returned = select(Outcome).where(Outcome.resultat == "questionnaire_retourne")
        assert session.scalars(returned).first() is None


def test_a_questionnaire_entered_while_a_colleague_calls_the_household_leaves_them_the_call(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home", households=1)
    [(pseudonym, printed)] = references.items()
    caller = client_for("travailleur_social")
    card = caller.post("/travail/suivant", data={"csrf_token": csrf_of(caller.get("/travail/liste").text)})
    location = card.headers["location"]
    token = csrf_of(caller.get(location).text)
    colleague = _another_worker(client_for, engine, "ts-collegue", "04088")
    form = colleague.get("/travail/questionnaires", params={"reference": printed})

    entered = colleague.post(
        "/travail/questionnaires",
        data={
            "csrf_token": csrf_of(form.text),
            "reference": printed,
            "date": "2026-03-28",
            "travailleur_social": "oui",
        },
    )
    called = caller.post(f"{location}/resultat", data={"csrf_token": token, "resultat": "joint"})

    assert entered.status_code == 303 and called.status_code == 303
    with transaction(engine) as session:
        joint = session.scalars(select(Outcome).where(Outcome.resultat == "joint")).one()
    assert joint.id_foyer == pseudonym


def test_the_date_offered_for_a_returned_questionnaire_is_the_day_in_france(
    client_for: Client, web_app: FastAPI, engine: Engine, tmp_path: Path
) -> None:
    references = _questionnaires_sent(engine, tmp_path / "home", households=1)
    client = client_for("travailleur_social")
    # 11:30 pm UTC on 2 March: already 3 March in France.
    web_app.state.context.clock = lambda: datetime(2026, 3, 2, 23, 30, tzinfo=UTC)

    form = client.get("/travail/questionnaires", params={"reference": next(iter(references.values()))}).text

    assert 'value="2026-03-03"' in form and "2026-03-02" not in form


def test_a_questionnaire_returned_blank_is_recorded_once_audited_and_never_dated_before_it_was_sent(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from privacy.models import AuditEntry

    references = _questionnaires_sent(engine, tmp_path / "home")
    pseudonym, reference = sorted(references.items())[0]
    client = client_for("travailleur_social")

    def send(date: str) -> str:
        page = client.get("/travail/questionnaires", params={"reference": reference})
        data = {"csrf_token": csrf_of(page.text), "reference": reference, "date": date}
        return client.post("/travail/questionnaires", data=data, follow_redirects=True).text

    too_early = send("2002-12-01")
    first = send("2026-03-28")
    again = send("2026-03-29")

    assert "date antérieure à l&#39;envoi du questionnaire" in too_early
    assert f"Questionnaire {reference} enregistré." in first
    assert "ce questionnaire est déjà enregistré" in again
    with transaction(engine) as session:
        returned = session.scalars(select(Outcome).where(Outcome.resultat == "questionnaire_retourne")).all()
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "questionnaire.saisie")).all()
    assert len(returned) == 1
    assert [(e.actor, e.object_ref) for e in entries] == [(LOGINS["travailleur_social"], pseudonym)]
