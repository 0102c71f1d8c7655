"""« Mon compte »: everyone changes their own password with the current one; the other sessions end,
this one goes on; wrong current passwords count as failed sign-ins."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from privacy.models import AuditEntry
from tests.web.conftest import LOGINS, PASSWORD, csrf_of, sign_in
from uptake.db import transaction
from uptake.users import authenticate
from uptake.web.sessions import MAX_FAILURES_PER_LOGIN_AND_IP

Client = Callable[[str | None], TestClient]
NEW = "une-nouvelle-phrase-de-passe"


def _change(client: TestClient, current: str, new: str, confirmation: str | None = None) -> httpx.Response:
    page = client.get("/compte")
    assert page.status_code == 200
    return client.post(
        "/compte/mot-de-passe",
        data={
            "csrf_token": csrf_of(page.text),
            "actuel": current,
            "nouveau": new,
            "confirmation": new if confirmation is None else confirmation,
        },
    )


def test_a_social_worker_changes_their_password_and_stays_signed_in_while_other_sessions_end(
    client_for: Client, engine: Engine
) -> None:
    here = client_for("travailleur_social")
    elsewhere = client_for("travailleur_social")
    login = LOGINS["travailleur_social"]
    page = here.get("/compte").text
    assert login in page and "04088" in page and "Mot de passe changé le" in page
    response = _change(here, PASSWORD, NEW)
    assert response.status_code == 303
    after = here.get(response.headers["location"])
    assert after.status_code == 200 and "Mot de passe changé. Vos autres sessions ont pris fin." in after.text
    assert here.get("/travail/liste").status_code == 200
    assert elsewhere.get("/").headers["location"] == "/connexion?session=terminee"
    assert sign_in(client_for(None), login, PASSWORD).status_code == 401
    assert sign_in(client_for(None), login, NEW).status_code == 303
    with transaction(engine) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "compte.mot_de_passe"))
        assert entry.actor == login and json.loads(entry.details or "{}") == {"par": "titulaire"}
        assert NEW not in (entry.details or "") and PASSWORD not in (entry.details or "")


def test_a_wrong_current_password_or_a_mistyped_confirmation_changes_nothing(client_for: Client) -> None:
    client = client_for("dpo")
    wrong = _change(client, "pas-le-bon-mot-de-passe", NEW)
    assert wrong.status_code == 400 and "mot de passe actuel est incorrect" in wrong.text
    mistyped = _change(client, PASSWORD, NEW, confirmation=NEW + "x")
    assert mistyped.status_code == 400 and "diffèrent" in mistyped.text
    same = _change(client, PASSWORD, PASSWORD)
    assert same.status_code == 400 and "choisissez-en un autre" in same.text
    short = _change(client, PASSWORD, "court")
    assert short.status_code == 400 and "trop court" in short.text
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 303


def test_guessing_the_current_password_from_an_open_session_is_throttled(
    client_for: Client, engine: Engine
) -> None:
    client = client_for("equipe_donnees")
    for attempt in range(MAX_FAILURES_PER_LOGIN_AND_IP):
        assert _change(client, f"essai-{attempt}-incorrect", NEW).status_code == 400
    assert _change(client, PASSWORD, NEW).status_code == 429
    # The same count as sign-ins: the login is held for both, and its password has not changed.
    assert sign_in(client_for(None), LOGINS["equipe_donnees"], PASSWORD).status_code == 429
    with transaction(engine) as session:
        assert authenticate(session, LOGINS["equipe_donnees"], PASSWORD) is not None


def test_every_page_header_links_to_my_account(client_for: Client) -> None:
    page = client_for("admin").get("/admin/comptes").text
    assert 'href="/compte"' in page and "mon compte" in page


def test_a_password_set_by_the_admin_must_be_replaced_before_any_other_page(
    client_for: Client, engine: Engine
) -> None:
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin/comptes").text)
    created = admin.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "identifiant": "ts-arrivee",
            "role": "travailleur_social",
            "secteurs": "04088",
            "mot_de_passe": "choisie-par-l-admin",
        },
    )
    assert created.status_code == 303
    newcomer = client_for(None)
    assert sign_in(newcomer, "ts-arrivee", "choisie-par-l-admin").status_code == 303
    for path in ("/", "/travail/liste", "/travail/questionnaires"):
        assert newcomer.get(path).headers["location"] == "/compte?provisoire=1", path
    page = newcomer.get("/compte?provisoire=1")
    assert page.status_code == 200 and "remplacez-le par le vôtre" in page.text
    held = newcomer.post("/travail/suivant", data={"csrf_token": csrf_of(page.text)})
    assert held.headers["location"] == "/compte?provisoire=1"
    assert _change(newcomer, "choisie-par-l-admin", NEW).status_code == 303
    assert newcomer.get("/travail/liste").status_code == 200
    assert "remplacez-le" not in newcomer.get("/compte").text
    # Signing out is always possible, and a new password given by the admin is temporary again.
    token = csrf_of(admin.get("/admin/comptes/ts-arrivee").text)
    admin.post(
        "/admin/comptes/ts-arrivee/mot-de-passe",
        data={"csrf_token": token, "mot_de_passe": "encore-par-l-admin"},
    )
    again = client_for(None)
    sign_in(again, "ts-arrivee", "encore-par-l-admin")
    assert again.get("/travail/liste").headers["location"] == "/compte?provisoire=1"
    left = again.post("/deconnexion", data={"csrf_token": csrf_of(again.get("/compte").text)})
    assert left.headers["location"] == "/connexion"
    with transaction(engine) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.object_ref == "compte:ts-arrivee").order_by(AuditEntry.seq)
        ).all()
        said = [(e.action, json.loads(e.details or "{}").get("mot_de_passe_provisoire")) for e in entries]
    assert said == [
        ("compte.creation", True),
        ("compte.mot_de_passe", None),  # by its owner
        ("compte.mot_de_passe", True),
    ]
