"""Fixtures of the web tests: an app on a real migrated database, accounts of every role, clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import CONFIG_DIR
from uptake.db import transaction
from uptake.settings import Settings
from uptake.users import ROLES, add_user
from uptake.web.app import create_app

PASSWORD = "phrase-de-passe-de-test"
# One account per role; the social worker's sector is Forcalquier (04088).
LOGINS = {role: f"compte-{role.replace('_', '-')}" for role in ROLES}
SECTORS = {"travailleur_social": ("04088",)}


def settings_for(database_url: str, home: Path) -> Settings:
    """Settings of a test: its own database and data folder, the repository's configuration."""
    return Settings(home=home, database_url=database_url, config_dir=CONFIG_DIR)


def create_accounts(engine: Engine) -> None:
    """One account of each role, all with `PASSWORD`."""
    with transaction(engine) as session:
        for role, login in LOGINS.items():
            add_user(session, login, role=role, password=PASSWORD, secteurs=SECTORS.get(role, ()))


@pytest.fixture
def web_app(engine: Engine, database_url: str, tmp_path: Path) -> FastAPI:
    """The application on the test's migrated database, with one account of each role."""
    create_accounts(engine)
    return create_app(settings_for(database_url, tmp_path / "home"))


@pytest.fixture
def client_for(web_app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """`client_for(role)`: a client signed in with that role (`None`: anonymous)."""
    clients: list[TestClient] = []

    def _make(role: str | None) -> TestClient:
        client = TestClient(web_app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(client)
        if role is not None:
            response = sign_in(client, LOGINS[role], PASSWORD)
            assert response.status_code == 303, response.text
        return client

    yield _make
    for client in clients:
        client.close()


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, login: str, password: str) -> httpx.Response:
    """Fill the sign-in form like a browser would (CSRF cookie and hidden field)."""
    page = client.get("/connexion")
    response: httpx.Response = client.post(
        "/connexion", data={"identifiant": login, "mot_de_passe": password, "csrf_token": csrf_of(page.text)}
    )
    return response
