"""The administrator's accounts page: create (sectors checked against the territory), disable."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.web.conftest import csrf_of, sign_in
from uptake.db import transaction
from uptake.users import list_accounts

Client = Callable[[str | None], TestClient]


def test_admin_creates_a_social_worker_who_can_then_sign_in(client_for: Client, engine: Engine) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/admin/comptes").text)
    response = client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "identifiant": "ts-nouvelle",
            "role": "travailleur_social",
            "secteurs": "04088, 04178",
            "mot_de_passe": "une-phrase-de-passe-solide",
        },
    )
    assert response.status_code == 303
    with transaction(engine) as session:
        account = next(a for a in list_accounts(session) if a.login == "ts-nouvelle")
    assert account.secteurs == ("04088", "04178")
    assert (
        sign_in(client_for(None), "ts-nouvelle", "une-phrase-de-passe-solide").headers["location"]
        == "/travail/liste"
    )


def test_a_sector_outside_the_territory_is_refused_with_the_fix(client_for: Client) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/admin/comptes").text)
    response = client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "identifiant": "ts-paris",
            "role": "travailleur_social",
            "secteurs": "75056",
            "mot_de_passe": "une-phrase-de-passe-solide",
        },
    )
    assert response.status_code == 400
    assert "75056" in response.text and "territoire" in response.text


def test_a_disabled_account_can_no_longer_sign_in(client_for: Client) -> None:
    client_for("dpo")  # creates the DPO account
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin/comptes").text)
    from tests.web.conftest import LOGINS, PASSWORD

    assert (
        admin.post(f"/admin/comptes/{LOGINS['dpo']}/desactiver", data={"csrf_token": token}).status_code
        == 303
    )
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 401
