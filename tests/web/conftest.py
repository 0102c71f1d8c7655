"""Fixtures of the web tests: an app on a real migrated database, accounts of every role, clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from outreach.campaigns import WindowSection
from outreach.windows import next_allowed
from privacy import audit
from tests.conftest import CONFIG_DIR
from uptake.db import make_engine, transaction, upgrade
from uptake.models import User
from uptake.settings import Settings
from uptake.users import ROLES, add_user, list_accounts
from uptake.web.app import create_app

PASSWORD = "phrase-de-passe-de-test"
# One account per role; the social worker's sector is Forcalquier (04088).
LOGINS = {role: f"compte-{role.replace('_', '-')}" for role in ROLES}
SECTORS = {"travailleur_social": ("04088",)}


def settings_for(database_url: str, home: Path) -> Settings:
    """Settings of a test: its own database and data folder, the repository's configuration."""
    return Settings(home=home, database_url=database_url, config_dir=CONFIG_DIR)


def create_accounts(engine: Engine, roles: tuple[str, ...] = ROLES) -> None:
    """One account of each role named, all with `PASSWORD` (hashing is slow on purpose: only what is used)."""
    with transaction(engine) as session:
        existing = {account.login for account in list_accounts(session)}
        for role in roles:
            if LOGINS[role] in existing:
                continue
            add_user(
                session,
                LOGINS[role],
                role=role,
                password=PASSWORD,
                actor="test",
                secteurs=SECTORS.get(role, ()),
                temporary=False,
            )


def age_account(engine: Engine, login: str, *, created: timedelta, signed_in: timedelta | None) -> None:
    """Make an account as if handed over `created` ago (its password with it) and last signed in
    `signed_in` ago (None: never)."""
    now = datetime.now(UTC)
    with transaction(engine) as session:
        session.execute(
            update(User)
            .where(User.login == login)
            .values(
                created_at=now - created,
                password_changed_at=now - created,
                last_sign_in_at=None if signed_in is None else now - signed_in,
            )
        )


def office_hours_clock() -> Callable[[], datetime]:
    """A clock running from 10 am (Paris) on the next working day: within the shipped campaigns'
    calling hours whatever the day and hour the tests run, with hours to go before they close."""
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.astimezone(ZoneInfo("Europe/Paris")).date() + timedelta(days=1), time())
    opening = next_allowed(WindowSection(), "appel", tomorrow.replace(tzinfo=ZoneInfo("Europe/Paris")))
    offset = opening + timedelta(hours=1) - now
    return lambda: datetime.now(UTC) + offset


@pytest.fixture
def web_app(engine: Engine, database_url: str, tmp_path: Path) -> FastAPI:
    """The application on the test's migrated database (accounts are created by `client_for`); the
    call lists' clock is within calling hours (`office_hours_clock`)."""
    app = create_app(settings_for(database_url, tmp_path / "home"), clock=office_hours_clock())
    app.state.test_engine = engine
    # What the tests write beside the application signs its end too, as every front door does.
    audit.seal_commits(engine, lambda: app_keyring(tmp_path / "home"))
    return app


@pytest.fixture
def client_for(web_app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """`client_for(role)`: a client signed in with that role (`None`: anonymous); creates the account."""
    clients: list[TestClient] = []
    created: set[str] = set()

    def _make(role: str | None) -> TestClient:
        client = TestClient(web_app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(client)
        if role is not None:
            if role not in created:
                create_accounts(web_app.state.test_engine, (role,))
                created.add(role)
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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (skipped without it, outside CI)."""
    from playwright.sync_api import sync_playwright

    from tests.web.live import CHROMIUM_ARGS, chromium_or_skip

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database for browser journeys (one backend is enough for the UI)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@dataclass(frozen=True)
class Site:
    """The application served on loopback for a browser journey."""

    url: str
    engine: Engine
    home: Path


@pytest.fixture
def site(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Site]:
    """The application served on loopback, with one account of each role, its call lists' clock within
    calling hours.

    Small counts are shown (threshold 1) so that a journey can see its one outcome counted.
    """
    from tests.web.live import live_server

    home = tmp_path / "home"
    # What the tests write beside the application signs its end too, as every front door does.
    audit.seal_commits(sqlite_engine, lambda: app_keyring(home))
    create_accounts(sqlite_engine)
    app = create_app(
        settings_for(sqlite_engine.url.render_as_string(hide_password=False), home),
        disclosure_threshold=1,
        clock=office_hours_clock(),
    )
    with live_server(app) as url:
        yield Site(url, sqlite_engine, home)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, in French."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768})
    new_page = context.new_page()
    yield new_page
    context.close()


def load_register(engine: Engine) -> str:
    """Load the example processing-register entry of `config/registre`; returns its code."""
    from privacy import register

    entries = register.load_dir(CONFIG_DIR / "registre")
    with transaction(engine) as session:
        register.save(session, entries, actor="equipe-donnees", source="config/registre")
    return entries[0].code


def request_exchange(
    engine: Engine,
    register_code: str,
    fields: tuple[str, ...] = ("nom", "prenom", "telephone"),
    requester: str = "equipe-donnees",
) -> int:
    """A pending exchange request for an SMS campaign; returns its id."""
    from privacy import exchanges

    wanted = exchanges.ExchangeRequest(
        requester=requester,
        recipient="Prestataire SMS (sous-traitant)",
        purpose="Informer les foyers de leur droit probable à la prime d'activité",
        register_code=register_code,
        fields=fields,
        legal_basis="Art. L.114-8 II CRPA",
        retention_days=90,
        expires_on=date.today() + timedelta(days=120),
    )
    with transaction(engine) as session:
        return exchanges.request(session, wanted).id


def seed_worklist(
    engine: Engine,
    count: int,
    *,
    commune: str = "04088",
    campagne: str = "action-2-2-non-recours",
    launch_id: int = 1,
    start: int = 0,
    since: datetime | None = None,
) -> list[str]:
    """Put `count` synthetic households on a call list (callable `since`, by default since yesterday);
    their pseudonyms."""
    from outreach.models import WorklistItem

    now = since + timedelta(days=1) if since is not None else datetime.now(UTC)
    pseudonyms = [f"foyer{start + i:012d}abcdef" for i in range(count)]
    with transaction(engine) as session:
        session.add_all(
            WorklistItem(
                launch_id=launch_id,
                campagne=campagne,
                id_foyer=pseudonym,
                regle="prime_activite",
                tentative=3,  # the call attempt of the 2.2 campaign
                rang=i + 1,
                priorite=1 + i % 3,
                montant_estime=100.0 + i,
                code_commune=commune,
                distance_services_km=5.0,
                motifs="Revenus d'activité modestes, pas de prime d'activité versée.",
                statut="a_appeler",
                appel_a_partir_de=now - timedelta(days=1),
                cree_le=now - timedelta(days=1),
            )
            for i, pseudonym in enumerate(pseudonyms)
        )
    return pseudonyms


def app_keyring(home: Path) -> Any:
    """The keyring the web application opens for the data folder `home`."""
    from privacy.keys import open_keyring

    return open_keyring(home / "keys", home / "master.key", environ={})


def approve_exchange(
    engine: Engine,
    home: Path,
    fields: tuple[str, ...] = ("civilite", "nom", "prenom", "telephone", "droits_presumes", "motifs"),
) -> int:
    """Load the register, request an exchange for `fields` and approve it with the app's key."""
    from privacy import exchanges

    exchange_id = request_exchange(engine, load_register(engine), fields)
    with transaction(engine) as session:
        exchanges.approve(session, app_keyring(home), exchange_id, dpo="dpo", avis="Favorable")
    return exchange_id


def store_contacts(engine: Engine, home: Path, pseudonyms: list[str]) -> None:
    """Synthetic contact details for `pseudonyms` in the encrypted vault (territory of the default config)."""
    import polars as pl

    from privacy import vault

    frame = pl.DataFrame(
        {
            "id_foyer": pseudonyms,
            "civilite": ["Mme"] * len(pseudonyms),
            "nom": [f"Fictif{i}" for i in range(len(pseudonyms))],
            "prenom": ["Camille"] * len(pseudonyms),
            "telephone": [f"06{12345600 + i:08d}" for i in range(len(pseudonyms))],
        }
    )
    with transaction(engine) as session:
        vault.import_contacts(session, app_keyring(home), frame, territory="240400440", actor="test")


def cut_audit_tail(engine: Engine, first_cut: int) -> None:
    """What an attacker with administrator rights on the database does to hide the newest entries:
    drop the append-only triggers, then cut the log back to its last signed checkpoint before
    `first_cut`, deleting the entries and checkpoints after it (an unsigned tail would give them away)."""
    from sqlalchemy import delete, func, select, text

    from privacy.models import AuditCheckpoint, AuditEntry

    with engine.begin() as connection:
        for table in ("privacy_audit", "privacy_audit_checkpoint"):
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
            else:
                connection.execute(text(f"DROP TRIGGER {table}_no_delete"))
        signed = select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.seq < first_cut)
        keep = connection.scalar(signed) or 0
        connection.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq > keep))
        connection.execute(delete(AuditEntry).where(AuditEntry.seq > keep))


def tamper_audit_entry(engine: Engine, seq: int, actor: str = "quelqu-un-d-autre") -> None:
    """What an attacker with administrator rights on the database does: drop the append-only
    triggers, then rewrite the actor of entry `seq`."""
    from sqlalchemy import text

    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER privacy_audit_append_only ON privacy_audit"))
        else:
            connection.execute(text("DROP TRIGGER privacy_audit_no_update"))
        connection.execute(
            text("UPDATE privacy_audit SET actor = :actor WHERE seq = :seq"), {"actor": actor, "seq": seq}
        )
