"""The warning before a session ends for inactivity (RGAA 13.1): what the pages carry, the routes the
warning uses. The browser side is in test_session_warning_browser.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.web.conftest import csrf_of
from uptake.db import transaction
from uptake.models import WebSession
from uptake.web.sessions import IDLE_TIMEOUT, IDLE_WARNING

Client = Callable[[str | None], TestClient]


def _idle_since(engine: Engine, ago: timedelta) -> datetime:
    """Make every session's last request `ago` ago; that moment."""
    moment = datetime.now(UTC) - ago
    with transaction(engine) as session:
        for row in session.scalars(select(WebSession)):
            row.last_seen_at = moment
    return moment


def _last_seen(engine: Engine) -> datetime:
    with transaction(engine) as session:
        seen = session.scalars(select(WebSession.last_seen_at)).one()
    assert seen is not None
    return seen if seen.tzinfo else seen.replace(tzinfo=UTC)


def test_a_signed_in_page_carries_the_time_its_session_has_left_and_its_script_from_static(
    client_for: Client, engine: Engine
) -> None:
    client = client_for("dpo")
    _idle_since(engine, timedelta(seconds=30))  # too recent to be written again by the next request
    page = client.get("/dpo/echanges").text
    left = int(re.search(r'data-restant="(\d+)"', page).group(1))  # type: ignore[union-attr]
    # Counted from the session's last recorded request, not from the page's own loading.
    assert IDLE_TIMEOUT.total_seconds() - 35 <= left <= IDLE_TIMEOUT.total_seconds() - 29
    assert f'data-avertir="{int(IDLE_WARNING.total_seconds())}"' in page
    assert '<script src="/static/session.js" defer></script>' in page
    assert "<script>" not in page  # the CSP allows scripts from /static only
    assert "Rester connecté" in page and "recommande l'ANSSI" in page


def test_the_sign_in_page_has_no_session_warning(client_for: Client) -> None:
    page = client_for(None).get("/connexion").text
    assert "session.js" not in page and "Rester connecté" not in page


def test_asking_the_time_left_does_not_keep_the_session_alive(client_for: Client, engine: Engine) -> None:
    client = client_for("dpo")
    seen = _idle_since(engine, timedelta(minutes=20))
    answer = client.get("/session/restant")
    assert answer.status_code == 200
    assert abs(answer.json()["restant"] - (IDLE_TIMEOUT - timedelta(minutes=20)).total_seconds()) <= 5
    assert _last_seen(engine) == seen


def test_once_the_limit_passed_the_time_left_is_zero_and_the_session_is_gone(
    client_for: Client, engine: Engine
) -> None:
    client = client_for("dpo")
    _idle_since(engine, IDLE_TIMEOUT + timedelta(seconds=1))
    assert client.get("/session/restant").json() == {"restant": 0}
    assert client.get("/dpo/echanges").headers["location"] == "/connexion?session=terminee"
    assert client_for(None).get("/session/restant").json() == {"restant": 0}


def _clock_stopped_at(web_app: FastAPI, moment: datetime) -> None:
    """The application's clock (`AppContext.clock`) stopped at `moment`."""
    web_app.state.context.clock = lambda: moment


def test_staying_signed_in_starts_the_idle_limit_again_at_the_application_s_clock(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/echanges").text)
    _idle_since(engine, timedelta(minutes=28))
    pressed = datetime.now(UTC) - timedelta(minutes=1)
    _clock_stopped_at(web_app, pressed)
    answer = client.post("/session/prolonger", data={"csrf_token": token})
    assert answer.status_code == 200
    assert answer.json() == {"restant": int(IDLE_TIMEOUT.total_seconds())}
    assert _last_seen(engine) == pressed
    assert client.get("/dpo/echanges").status_code == 200


def test_staying_signed_in_needs_the_forms_csrf_token(client_for: Client) -> None:
    client = client_for("dpo")
    assert client.post("/session/prolonger", data={"csrf_token": "un-autre"}).status_code == 403
    assert client.post("/session/prolonger").status_code == 403


def test_a_session_already_ended_cannot_be_extended(client_for: Client, engine: Engine) -> None:
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/echanges").text)
    _idle_since(engine, IDLE_TIMEOUT + timedelta(seconds=1))
    answer = client.post("/session/prolonger", data={"csrf_token": token})
    assert answer.status_code == 401
    assert "Votre session a pris fin" in answer.text


def test_staying_signed_in_never_goes_past_the_sessions_end(
    client_for: Client, engine: Engine, web_app: FastAPI
) -> None:
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/echanges").text)
    pressed = datetime.now(UTC)
    _clock_stopped_at(web_app, pressed)
    with transaction(engine) as session:
        for row in session.scalars(select(WebSession)):
            row.expires_at = pressed + timedelta(minutes=5)  # 7 h 55 after signing in
    assert client.post("/session/prolonger", data={"csrf_token": token}).json() == {"restant": 300}
    page = client.get("/dpo/echanges").text
    assert 'data-restant="29' in page or 'data-restant="30' in page
    assert "Une session dure au plus 8 heures" in page
