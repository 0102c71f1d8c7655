"""Shared fixtures: an isolated data folder, real SQLite and PostgreSQL databases, the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from detection.verification import CACHE_ENV
from outreach.channels import SmtpSettings
from privacy import audit
from uptake.db import make_engine, upgrade

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "config"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def audit_clock(moment: dt.datetime) -> Iterator[None]:
    """The audit log's clock set to `moment` while it lasts: the log stamps each entry itself, never
    with a date its caller gives, so an entry of another day is written with its clock turned."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit, "utc_now", lambda: moment)
        yield


@pytest.fixture(scope="session", autouse=True)
def shared_case_verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The rules' own cases verified once for the whole test run, not once per data folder: their
    verdict depends only on the content its fingerprint covers (`UPTAKE_CACHE`, shared by the test
    workers). Tests of the verification itself unset it (`no_shared_verdicts`)."""
    base = tmp_path_factory.getbasetemp()
    run_folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(run_folder / "cache-partage")
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture
def no_shared_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each data folder verifies the rules' cases itself, as an installation without UPTAKE_CACHE."""
    monkeypatch.delenv(CACHE_ENV, raising=False)


@pytest.fixture
def uptake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder (SQLite database, keys, outputs) for one test."""
    home = tmp_path / "uptake-home"
    monkeypatch.setenv("UPTAKE_HOME", str(home))
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    monkeypatch.delenv("UPTAKE_CONFIG", raising=False)
    return home


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL injoignable sur 127.0.0.1:5432 ({type(exc).__name__})"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Skip, with the reason, when no PostgreSQL server answers."""
    reason = _postgres_reachable()
    if reason:
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database created for one test and dropped after it."""
    import psycopg

    name = f"uptake_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on an SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on `database_url`."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@dataclass
class CliResult:
    """What one `uptake` invocation did."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> CliResult:
    """Run the real `uptake` command in a subprocess (real exit codes, real output)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "uptake", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=600,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(uptake_home: Path) -> object:
    """`cli("validate", path)` runs uptake with the test's own data folder."""

    def _run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> CliResult:
        return run_cli(*args, env={"UPTAKE_HOME": str(uptake_home), **(env or {})}, stdin=stdin)

    return _run


# A schedule for tests whose daemons must run only what they are asked to: six months away, it never
# falls due while the tests run ("0 6 5 * *" did, on the 5th of a month at 6 am, Paris time).
QUIET_CRON = f"0 6 5 {(dt.datetime.now(dt.UTC).month + 5) % 12 + 1} *"


def free_port() -> int:
    """A TCP port nobody listens on, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpInbox:
    """What a real SMTP server on loopback received: (sender, recipients, raw message) each.

    Like a real relay, it can refuse the sender's address (`sender_refused`), some recipients for good
    (`refused`, a 5xx reply), every message for good (`reject_data`, a 5xx reply to DATA) and, once it
    holds `full_after` messages, the next ones for now (a 4xx reply); it can take `delay` seconds to
    answer each message.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sender_refused = False
        self.refused: set[str] = set()
        self.reject_data = False
        self.full_after: int | None = None
        self.delay = 0.0

    async def handle_MAIL(
        self, server: object, session: object, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.sender_refused:
            return "550 5.7.1 Sender address rejected: not owned by user"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        if self.reject_data:
            return "554 5.7.1 Message rejected as spam"
        if self.full_after is not None and len(self.messages) >= self.full_after:
            return "452 4.3.1 Insufficient system storage, try again later"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, SmtpSettings]]:
    """A real SMTP server (aiosmtpd) on loopback, and the settings to reach it."""
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, SmtpSettings(host="127.0.0.1", port=controller.port, timeout=10)
    finally:
        controller.stop()


def log_end_signed(engine: Engine) -> bool:
    """Whether the audit log's last entry is covered by a signed checkpoint (its tail protected)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from privacy.models import AuditCheckpoint, AuditEntry

    with Session(engine) as session:
        last = session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc())
        ).first()
        if last is None:
            return True
        signed = session.scalars(
            select(AuditCheckpoint.id).where(
                AuditCheckpoint.seq == last[0], AuditCheckpoint.entry_hash == last[1]
            )
        ).first()
    return signed is not None
