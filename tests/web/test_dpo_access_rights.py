"""The DPO's « Habilitations » page: every account, who may see which communes, and the active
accounts nobody has used for `DORMANT_AFTER`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.web.conftest import LOGINS, PASSWORD, age_account, sign_in
from uptake.db import transaction
from uptake.scheduler import add_schedule, pause_schedule
from uptake.users import DORMANT_AFTER, add_user, review_accounts, set_active

Client = Callable[[str | None], TestClient]


def _row(page: str, login: str) -> str:
    return page.split(f"<td>{login}</td>")[1].split("</tr>")[0]


def test_signing_in_is_remembered_as_the_accounts_last_sign_in(client_for: Client, engine: Engine) -> None:
    client_for("equipe_donnees")
    before = datetime.now(UTC)
    assert sign_in(client_for(None), LOGINS["equipe_donnees"], PASSWORD).status_code == 303
    with transaction(engine) as session:
        [review] = [r for r in review_accounts(session) if r.account.login == LOGINS["equipe_donnees"]]
    assert review.last_sign_in_at is not None and review.last_sign_in_at >= before - timedelta(seconds=1)


def test_the_dpo_sees_who_may_see_which_communes_and_the_accounts_left_unused(
    client_for: Client, engine: Engine
) -> None:
    dpo = client_for("dpo")
    client_for("travailleur_social")
    days = DORMANT_AFTER.days
    with transaction(engine) as session:
        for login in ("ts-parti", "ts-jamais", "ts-desactive"):
            add_user(
                session, login, role="travailleur_social", password=PASSWORD, actor="test", secteurs=["04104"]
            )
        set_active(session, "ts-desactive", False, actor="test")
    age_account(engine, "ts-parti", created=timedelta(days=400), signed_in=timedelta(days=days + 1))
    age_account(engine, "ts-jamais", created=timedelta(days=days + 1), signed_in=None)
    age_account(engine, "ts-desactive", created=timedelta(days=400), signed_in=timedelta(days=300))
    age_account(
        engine, LOGINS["travailleur_social"], created=timedelta(days=400), signed_in=timedelta(days=days - 1)
    )
    page = dpo.get("/dpo/habilitations").text
    assert "2 comptes actifs sans connexion depuis plus de 90 jours" in page
    assert "sans connexion depuis plus" in _row(page, "ts-parti")
    assert "sans connexion depuis plus" in _row(page, "ts-jamais") and "jamais" in _row(page, "ts-jamais")
    assert "sans connexion depuis plus" not in _row(page, "ts-desactive")
    worker = _row(page, LOGINS["travailleur_social"])
    assert "sans connexion depuis plus" not in worker
    assert "Forcalquier (04088)" in worker
    assert f'href="/dpo/consultations?acteur={LOGINS["travailleur_social"]}"' in worker
    assert "Délégué à la protection des données" in _row(page, LOGINS["dpo"])


def test_the_dpo_is_told_whether_a_schedule_disables_the_unused_accounts(
    client_for: Client, engine: Engine
) -> None:
    dpo = client_for("dpo")
    assert "Aucune tâche planifiée ne désactive les comptes inactifs" in dpo.get("/dpo/habilitations").text
    add_schedule(engine, "anciens", cron="0 7 * * *", job="comptes_inactifs", params={"days": "120"})
    add_schedule(engine, "comptes", cron="0 6 * * *", job="comptes_inactifs", params={"days": "60"})
    page = dpo.get("/dpo/habilitations").text
    assert "Aucune tâche planifiée" not in page
    assert (
        "Les comptes sans connexion depuis plus de 60 jours sont désactivés automatiquement par la tâche "
        "planifiée « comptes » (prochaine exécution : "
    ) in page
    # The accounts pointed out are those the first sweep will disable: unused for 60 days, not 90 or 120.
    with transaction(engine) as session:
        add_user(
            session,
            "ts-vacances",
            role="travailleur_social",
            password=PASSWORD,
            actor="test",
            secteurs=["04088"],
        )
    age_account(engine, "ts-vacances", created=timedelta(days=400), signed_in=timedelta(days=70))
    page = dpo.get("/dpo/habilitations").text
    assert (
        "Un compte actif sans connexion depuis plus de 60 jours : il sera désactivé à la prochaine "
        "exécution de la tâche planifiée (sauf le dernier administrateur actif)."
    ) in page
    assert "sans connexion depuis plus" in _row(page, "ts-vacances")
    pause_schedule(engine, "comptes")
    page = dpo.get("/dpo/habilitations").text
    assert "sans connexion depuis plus" not in _row(page, "ts-vacances")  # 120 days now
    assert "Aucune tâche planifiée" not in page
    pause_schedule(engine, "anciens")
    assert "Aucune tâche planifiée ne désactive les comptes inactifs" in dpo.get("/dpo/habilitations").text
