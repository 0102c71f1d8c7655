"""`/sante`: the supervision probe answers without signing in, and tells a database that is down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import free_port
from tests.web.conftest import settings_for
from uptake.web.app import create_app

Client = Callable[[str | None], TestClient]


def test_the_probe_answers_ok_to_anyone_and_opens_no_session(client_for: Client) -> None:
    response = client_for(None).get("/sante")
    assert response.status_code == 200
    assert response.json() == {"etat": "ok"}
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_the_probe_says_when_the_database_does_not_answer(tmp_path: Path) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/uptake?connect_timeout=2"
    client = TestClient(create_app(settings_for(down, tmp_path / "home")), raise_server_exceptions=False)
    response = client.get("/sante")
    assert response.status_code == 503
    assert response.json() == {"etat": "base injoignable"}
