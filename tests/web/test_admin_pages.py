"""The administrator's accounts pages: create (sectors checked against the territory), change a social
worker's sectors, give a new password, disable and enable again; each change in the audit log."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from detection.territory import load_territory
from privacy.models import AuditEntry
from tests.conftest import CONFIG_DIR
from tests.web.conftest import LOGINS, PASSWORD, age_account, csrf_of, sign_in
from uptake.db import transaction
from uptake.models import User
from uptake.users import disable_dormant, list_accounts, review_account

Client = Callable[[str | None], TestClient]


def test_admin_creates_a_social_worker_who_can_then_sign_in(client_for: Client, engine: Engine) -> None:
    client = client_for("admin")
    page = client.get("/admin/comptes").text
    # The sectors' example names communes of the installation's territory.
    territory = load_territory(CONFIG_DIR / "territoire.toml")
    assert f"par exemple : {' '.join(territory.communes[:2])}</p>" in page
    token = csrf_of(page)
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


@pytest.mark.parametrize(
    ("secteurs", "said"),
    [("", ("Aucun secteur donné", "codes INSEE")), ("75056", ("75056", "territoire"))],
    ids=["aucun secteur", "hors du territoire"],
)
def test_a_social_worker_without_a_sector_of_the_territory_is_refused_with_the_fix(
    client_for: Client, engine: Engine, secteurs: str, said: tuple[str, str]
) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/admin/comptes").text)
    response = client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "identifiant": "ts-nouveau",
            "role": "travailleur_social",
            "secteurs": secteurs,
            "mot_de_passe": "une-phrase-de-passe-solide",
        },
    )
    assert response.status_code == 400
    assert all(words in response.text for words in said)
    with transaction(engine) as session:
        assert session.scalars(select(User).where(User.login == "ts-nouveau")).first() is None


def test_a_disabled_account_can_no_longer_sign_in(client_for: Client) -> None:
    client_for("dpo")  # creates the DPO account
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin/comptes").text)
    assert (
        admin.post(f"/admin/comptes/{LOGINS['dpo']}/desactiver", data={"csrf_token": token}).status_code
        == 303
    )
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 401


def _entries(engine: Engine, action: str) -> list[AuditEntry]:
    with transaction(engine) as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
    return entries


def test_admin_moves_a_social_worker_to_other_sectors_and_the_log_says_who_and_from_where(
    client_for: Client, engine: Engine
) -> None:
    worker = client_for("travailleur_social")
    admin = client_for("admin")
    login = LOGINS["travailleur_social"]
    page = admin.get(f"/admin/comptes/{login}")
    assert page.status_code == 200 and 'value="04088"' in page.text
    last = page.text.split("<dt>Dernière connexion</dt><dd>")[1].split("</dd>")[0]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", last), last  # the worker signed in above
    # Separated by a semicolon, as a spreadsheet column copies them.
    response = admin.post(
        f"/admin/comptes/{login}/secteurs",
        data={"csrf_token": csrf_of(page.text), "secteurs": "04104;04178"},
    )
    assert response.status_code == 303
    assert "Secteurs enregistrés" in admin.get(response.headers["location"]).text
    # The worker's open session sees the new sectors at once.
    assert "Limans (04104), Saint-Étienne-les-Orgues (04178)" in worker.get("/compte").text
    [entry] = _entries(engine, "compte.secteurs")
    assert entry.actor == LOGINS["admin"] and entry.object_ref == f"compte:{login}"
    assert json.loads(entry.details or "{}") == {"avant": ["04088"], "apres": ["04104", "04178"]}


def test_sectors_outside_the_territory_or_none_change_nothing(client_for: Client, engine: Engine) -> None:
    client_for("travailleur_social")
    admin = client_for("admin")
    login = LOGINS["travailleur_social"]
    token = csrf_of(admin.get(f"/admin/comptes/{login}").text)
    typed = "04088 75056"
    outside = admin.post(f"/admin/comptes/{login}/secteurs", data={"csrf_token": token, "secteurs": typed})
    assert outside.status_code == 400 and "75056" in outside.text and "territoire" in outside.text
    assert f'name="secteurs" maxlength="2000" value="{typed}"' in outside.text  # given back as typed
    empty = admin.post(f"/admin/comptes/{login}/secteurs", data={"csrf_token": token, "secteurs": " "})
    assert empty.status_code == 400 and "désactivez le compte" in empty.text
    with transaction(engine) as session:
        review = review_account(session, login)
    assert review is not None and review.account.secteurs == ("04088",)
    assert _entries(engine, "compte.secteurs") == []


def test_a_disabled_account_enabled_again_signs_in_with_its_old_password(
    client_for: Client, engine: Engine
) -> None:
    client_for("dpo")
    admin = client_for("admin")
    token = csrf_of(admin.get("/admin/comptes").text)
    admin.post(f"/admin/comptes/{LOGINS['dpo']}/desactiver", data={"csrf_token": token})
    listing = admin.get("/admin/comptes").text
    assert f'Réactiver<span class="sr-only"> {LOGINS["dpo"]}' in listing
    response = admin.post(f"/admin/comptes/{LOGINS['dpo']}/reactiver", data={"csrf_token": token})
    assert response.status_code == 303
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 303
    actions = [
        e.action for e in _entries(engine, "compte.desactivation") + _entries(engine, "compte.reactivation")
    ]
    assert actions == ["compte.desactivation", "compte.reactivation"]
    assert {e.actor for e in _entries(engine, "compte.reactivation")} == {LOGINS["admin"]}


def test_a_new_password_given_by_the_admin_replaces_the_old_one_but_never_their_own(
    client_for: Client, engine: Engine
) -> None:
    client_for("equipe_donnees")
    admin = client_for("admin")
    login = LOGINS["equipe_donnees"]
    token = csrf_of(admin.get(f"/admin/comptes/{login}").text)
    response = admin.post(
        f"/admin/comptes/{login}/mot-de-passe",
        data={"csrf_token": token, "mot_de_passe": "une-autre-phrase-de-passe"},
    )
    assert response.status_code == 303
    assert sign_in(client_for(None), login, PASSWORD).status_code == 401
    assert sign_in(client_for(None), login, "une-autre-phrase-de-passe").status_code == 303
    [entry] = _entries(engine, "compte.mot_de_passe")
    assert entry.actor == LOGINS["admin"] and json.loads(entry.details or "{}") == {
        "par": "administrateur",
        "mot_de_passe_provisoire": True,
    }
    assert "une-autre-phrase-de-passe" not in (entry.details or "")
    own = admin.post(
        f"/admin/comptes/{LOGINS['admin']}/mot-de-passe",
        data={"csrf_token": token, "mot_de_passe": "une-autre-phrase-de-passe"},
    )
    assert own.status_code == 400 and "Mon compte" in own.text
    assert sign_in(client_for(None), LOGINS["admin"], PASSWORD).status_code == 303


def test_an_unknown_account_page_is_a_clean_404(client_for: Client) -> None:
    admin = client_for("admin")
    assert admin.get("/admin/comptes/personne").status_code == 404
    token = csrf_of(admin.get("/admin/comptes").text)
    assert admin.post("/admin/comptes/personne/reactiver", data={"csrf_token": token}).status_code == 404


def test_an_accounts_page_gives_its_history_with_who_and_why(client_for: Client, engine: Engine) -> None:
    client_for("travailleur_social")
    admin = client_for("admin")
    worker = LOGINS["travailleur_social"]
    token = csrf_of(admin.get("/admin/comptes").text)
    admin.post(f"/admin/comptes/{worker}/secteurs", data={"csrf_token": token, "secteurs": "04088 04104"})
    age_account(engine, worker, created=timedelta(days=400), signed_in=timedelta(days=120))
    with transaction(engine) as session:
        assert disable_dormant(session, actor="planificateur:comptes").disabled == (worker,)
    page = admin.get(f"/admin/comptes/{worker}").text
    history = page.split("<h2>Historique du compte</h2>")[1]
    rows = [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in history.split("<tr>")[2:]
    ]
    # Newest first: the automatic disabling and its reason, the sectors moved by the administrator,
    # the creation.
    assert rows[0].endswith(
        "Compte de l'application désactivé planificateur:comptes "
        "motif : sans connexion depuis plus de 90 jours"
    )
    assert rows[1].endswith(
        f"Secteurs d'un travailleur social modifiés {LOGINS['admin']} avant : 04088 après : 04088, 04104"
    )
    assert "Création d'un compte de l'application web" in rows[2] and "rôle : Travailleur social" in rows[2]
    assert len(rows) == 3


def test_an_unknown_account_is_named_on_its_page_not_found(client_for: Client) -> None:
    response = client_for("admin").get("/admin/comptes/inconnu")
    assert response.status_code == 404
    assert "Aucun compte « inconnu »" in response.text
