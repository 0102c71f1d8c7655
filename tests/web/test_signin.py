"""Sign-in, sessions, CSRF, throttling, headers and error pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.web.conftest import LOGINS, PASSWORD, create_accounts, csrf_of, sign_in
from uptake.db import transaction
from uptake.models import WebSession
from uptake.users import reset_password, set_active
from uptake.web.sessions import MAX_FAILURES_PER_LOGIN_AND_IP

Client = Callable[[str | None], TestClient]


@pytest.fixture(autouse=True)
def _accounts(engine: Engine) -> None:
    create_accounts(engine, ("admin", "dpo"))


def test_anonymous_page_request_is_sent_to_the_sign_in_page(client_for: Client) -> None:
    response = client_for(None).get("/admin/comptes")
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"


def test_sign_in_sets_a_strict_httponly_cookie_and_sends_the_role_home(client_for: Client) -> None:
    client = client_for(None)
    response = sign_in(client, LOGINS["admin"], PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/comptes"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("uptake_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Max-Age=28800" in cookie
    assert client.get("/admin/comptes").status_code == 200


def test_only_the_hash_of_the_session_token_is_stored(client_for: Client, engine: Engine) -> None:
    client = client_for("admin")
    token = client.cookies["uptake_session"]
    with transaction(engine) as session:
        stored = session.scalars(select(WebSession.token_sha256)).all()
    assert token not in stored
    assert len(stored) == 1


def test_wrong_password_is_refused_in_french_without_saying_which_part_is_wrong(client_for: Client) -> None:
    response = sign_in(client_for(None), LOGINS["dpo"], "mauvais-mot-de-passe")
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert "uptake_session" not in response.headers.get("set-cookie", "")


def test_repeated_failures_throttle_the_login_even_with_the_right_password(client_for: Client) -> None:
    client = client_for(None)
    for _ in range(MAX_FAILURES_PER_LOGIN_AND_IP):
        assert sign_in(client, LOGINS["dpo"], "mauvais-mot-de-passe").status_code == 401
    response = sign_in(client, LOGINS["dpo"], PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text
    # Another login from a different account is not blocked by this one's failures.
    assert sign_in(client_for(None), LOGINS["admin"], PASSWORD).status_code == 303


def test_a_form_posted_without_its_csrf_token_is_refused(client_for: Client) -> None:
    client = client_for("admin")
    response = client.post("/deconnexion", data={})
    assert response.status_code == 403
    assert "formulaire a expiré" in response.text
    assert client.get("/admin/comptes").status_code == 200


def test_sign_in_without_the_csrf_cookie_is_refused(web_app: object) -> None:
    with TestClient(web_app, follow_redirects=False) as client:  # type: ignore[arg-type]
        token = csrf_of(client.get("/connexion").text)
        client.cookies.clear()
        response = client.post(
            "/connexion", data={"identifiant": LOGINS["dpo"], "mot_de_passe": PASSWORD, "csrf_token": token}
        )
    assert response.status_code == 403


def test_logout_ends_the_session_on_the_server(client_for: Client) -> None:
    client = client_for("admin")
    token = client.cookies["uptake_session"]
    page = client.get("/admin/comptes")
    assert client.post("/deconnexion", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    client.cookies.set("uptake_session", token)  # replaying the old cookie
    assert client.get("/admin/comptes").status_code == 303
    # A form sent on the ended session: told that the session ended and what was sent is not saved.
    client.cookies.set("uptake_session", token)
    sent = client.post("/admin/comptes/inconnu/desactiver", data={"csrf_token": csrf_of(page.text)})
    assert sent.status_code == 401
    assert "Votre session a pris fin" in sent.text and "n&#39;a pas été enregistré" in sent.text


def test_disabling_an_account_or_resetting_its_password_ends_its_sessions(
    client_for: Client, engine: Engine
) -> None:
    dpo, admin = client_for("dpo"), client_for("admin")
    with transaction(engine) as session:
        set_active(session, LOGINS["dpo"], False, actor="test")
        reset_password(session, LOGINS["admin"], "une-nouvelle-phrase-de-passe", actor="test")
    assert dpo.get("/").headers["location"] == "/connexion?session=terminee"
    assert admin.get("/").headers["location"] == "/connexion?session=terminee"


def test_a_session_ended_by_disabling_stays_ended_when_the_account_is_enabled_again(
    client_for: Client, engine: Engine
) -> None:
    dpo = client_for("dpo")  # a cookie on a laptop since stolen, say
    with transaction(engine) as session:
        set_active(session, LOGINS["dpo"], False, actor="test", reason="ordinateur volé")
    with transaction(engine) as session:
        set_active(session, LOGINS["dpo"], True, actor="test")
    assert dpo.get("/").headers["location"] == "/connexion?session=terminee"
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 303


def test_every_response_carries_the_security_headers(client_for: Client) -> None:
    client = client_for(None)
    for path in ("/connexion", "/page-inexistante", "/static/uptake.css"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"


def test_unknown_page_gives_a_french_404_page(client_for: Client) -> None:
    response = client_for("admin").get("/nulle-part")
    assert response.status_code == 404
    assert '<html lang="fr">' in response.text
    assert "Page introuvable" in response.text


def test_invalid_form_gives_a_french_page_naming_the_field_without_echoing_it(client_for: Client) -> None:
    client = client_for(None)
    token = csrf_of(client.get("/connexion").text)
    response = client.post(
        "/connexion", data={"identifiant": "x" * 65, "mot_de_passe": "p", "csrf_token": token}
    )
    assert response.status_code == 422
    assert "identifiant" in response.text
    assert "x" * 65 not in response.text
    assert "Traceback" not in response.text


def test_too_many_failures_from_one_address_throttle_every_login(client_for: Client, engine: Engine) -> None:
    from uptake.web.sessions import MAX_FAILURES_PER_IP, record_failure

    with transaction(engine) as session:
        for i in range(MAX_FAILURES_PER_IP):
            record_failure(session, f"essai-{i}", "testclient")
    assert sign_in(client_for(None), LOGINS["admin"], PASSWORD).status_code == 429


def test_an_expired_session_is_refused(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from uptake.users import list_accounts
    from uptake.web.sessions import SESSION_LIFETIME, open_session, resolve_session

    with transaction(engine) as session:
        account = next(a for a in list_accounts(session) if a.login == LOGINS["admin"])
        token, _ = open_session(session, account)
    with transaction(engine) as session:
        assert resolve_session(session, token) is not None
        later = datetime.now(UTC) + SESSION_LIFETIME + timedelta(minutes=1)
        assert resolve_session(session, token, now=later) is None


def test_failures_from_elsewhere_do_not_keep_the_owner_out_until_many_places_fail(
    client_for: Client, engine: Engine
) -> None:
    from uptake.web.sessions import MAX_FAILURES_PER_LOGIN, record_failure

    # Somebody types wrong passwords for the DPO's login from three other workstations.
    with transaction(engine) as session:
        for i in range(3 * MAX_FAILURES_PER_LOGIN_AND_IP):
            record_failure(session, LOGINS["dpo"], f"10.1.0.{i % 3}")
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 303
    # From enough places, the login itself is held, for its owner too.
    with transaction(engine) as session:
        for i in range(MAX_FAILURES_PER_LOGIN):
            record_failure(session, LOGINS["dpo"], f"10.2.0.{i}")
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 429


def test_failed_sign_ins_are_kept_no_longer_than_they_throttle(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from uptake.models import LoginAttempt
    from uptake.web.sessions import THROTTLE_WINDOW, record_failure

    long_ago = datetime.now(UTC) - THROTTLE_WINDOW - timedelta(days=400)
    with transaction(engine) as session:
        # What was typed as the identifier is sometimes the password.
        record_failure(session, "Soleil-2026-mot-de-passe", "10.0.0.1", now=long_ago)
    with transaction(engine) as session:
        record_failure(session, "ts-inconnu", "10.0.0.2")
    with transaction(engine) as session:
        assert session.scalars(select(LoginAttempt.login)).all() == ["ts-inconnu"]


def test_sessions_past_their_end_are_deleted_at_the_next_sign_in(client_for: Client, engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from uptake.users import list_accounts
    from uptake.web.sessions import SESSION_LIFETIME, open_session

    with transaction(engine) as session:
        account = next(a for a in list_accounts(session) if a.login == LOGINS["admin"])
        open_session(session, account, now=datetime.now(UTC) - SESSION_LIFETIME - timedelta(days=30))
    assert sign_in(client_for(None), LOGINS["dpo"], PASSWORD).status_code == 303
    with transaction(engine) as session:
        ends = session.scalars(select(WebSession.expires_at)).all()
    assert len(ends) == 1


def test_cookies_are_secure_when_configured_for_tls(
    web_app: object, engine: Engine, database_url: str, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.web.conftest import settings_for
    from uptake.web.app import create_app

    app = create_app(settings_for(database_url, Path(str(tmp_path)) / "home"), cookie_secure=True)
    # Behind the TLS proxy the browser speaks HTTPS; a Secure cookie is never sent over plain HTTP.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = sign_in(client, LOGINS["admin"], PASSWORD)
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("uptake_session="))
    assert "Secure" in cookie


def test_an_unexpected_error_gives_a_french_500_page_without_trace_or_data(
    client_for: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import uptake.web.routes.admin as admin_routes

    def broken(_session: object) -> list[object]:
        raise RuntimeError("Mme Fictif 06 12 34 56 78")

    monkeypatch.setattr(admin_routes, "review_accounts", broken)
    response = client_for("admin").get("/admin/comptes")
    assert response.status_code == 500
    assert "Erreur interne" in response.text
    assert "Fictif" not in response.text and "Traceback" not in response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert "RuntimeError" in caplog.text  # logged by type, for the team
    assert "Fictif" not in caplog.text and "06 12" not in caplog.text


def test_an_admin_cannot_disable_their_own_account(client_for: Client) -> None:
    client = client_for("admin")
    token = csrf_of(client.get("/admin/comptes").text)
    response = client.post(f"/admin/comptes/{LOGINS['admin']}/desactiver", data={"csrf_token": token})
    assert response.status_code == 400
    assert "propre compte" in response.text


def test_a_session_left_idle_ends_and_using_it_keeps_it_open(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    from uptake.users import list_accounts
    from uptake.web.sessions import IDLE_TIMEOUT, open_session, resolve_session

    start = datetime.now(UTC)
    with transaction(engine) as session:
        account = next(a for a in list_accounts(session) if a.login == LOGINS["admin"])
        busy, _ = open_session(session, account, now=start)
        idle, _ = open_session(session, account, now=start)
    # The busy session is used every 20 minutes for an hour: each request moves its idle window.
    for minutes in (20, 40, 60):
        with transaction(engine) as session:
            assert resolve_session(session, busy, now=start + timedelta(minutes=minutes)) is not None
    with transaction(engine) as session:
        assert resolve_session(session, idle, now=start + IDLE_TIMEOUT + timedelta(seconds=1)) is None
    # Once ended for inactivity, the session is gone: coming back sooner does not revive it.
    with transaction(engine) as session:
        assert resolve_session(session, idle, now=start + timedelta(minutes=1)) is None


def test_an_ended_session_sends_the_browser_to_sign_in_with_a_french_reason(
    client_for: Client, engine: Engine
) -> None:
    from datetime import UTC, datetime

    client = client_for("admin")
    with transaction(engine) as session:
        for row in session.scalars(select(WebSession)):
            row.last_seen_at = datetime(2000, 1, 1, tzinfo=UTC)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?session=terminee"
    page = client.get(response.headers["location"])
    assert "Votre session a pris fin (30 minutes sans activité" in page.text
