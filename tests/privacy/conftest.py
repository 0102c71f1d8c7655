"""Fixtures of the privacy tests: a keyring in a temporary folder, sessions, a register entry, exchanges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from faker import Faker
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from privacy import audit, exchanges, register
from privacy.keys import Keyring, open_keyring
from uptake.db import transaction

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REGISTER_CODE = "CTG-FORCALQUIER-DROITS"
TERRITORY = "240400440"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    """A keyring whose master secret is a file created at first use."""
    home = tmp_path / "home"
    return open_keyring(home / "keys", home / "master.key", environ={})


@pytest.fixture
def sealed(engine: Engine, keyring: Keyring) -> None:
    """Every transaction of the test's engine that appends to the audit log signs its end, as every
    front door does (list it before the fixtures that write)."""
    audit.seal_commits(engine, lambda: keyring)


@pytest.fixture
def other_keyring(tmp_path: Path) -> Keyring:
    """Another, independent keyring (an attacker's, or another partner's)."""
    home = tmp_path / "other"
    return open_keyring(home / "keys", home / "master.key", environ={})


@pytest.fixture
def registered(engine: Engine) -> str:
    """The example register entry of `config/registre`, loaded."""
    entries = register.load_dir(REPO / "config" / "registre")
    with transaction(engine) as session:
        register.save(session, entries, actor="equipe-donnees", source="config/registre", now=NOW)
    return REGISTER_CODE


def request_exchange(
    session: Session, fields: tuple[str, ...] = ("nom", "prenom", "telephone"), days: int = 90
) -> int:
    """Record an exchange request for an SMS campaign."""
    wanted = exchanges.ExchangeRequest(
        requester="equipe-donnees",
        recipient="Prestataire SMS (sous-traitant)",
        purpose="Informer les foyers de leur droit probable à la prime d'activité",
        register_code=REGISTER_CODE,
        fields=fields,
        legal_basis="Art. L.114-8 II CRPA",
        retention_days=days,
        expires_on=date(2026, 6, 30),
    )
    return exchanges.request(session, wanted, now=NOW).id


@pytest.fixture
def approved(engine: Engine, keyring: Keyring, registered: str) -> int:
    """An exchange for nom, prenom, telephone approved by the DPO."""
    with transaction(engine) as session:
        exchange_id = request_exchange(session)
        exchanges.approve(
            session, keyring, exchange_id, dpo="dpo", avis="Favorable", recommandations=["SMS sobre"], now=NOW
        )
    return exchange_id


@pytest.fixture
def people() -> list[dict[str, str]]:
    """Synthetic households with valid French contacts (Faker, fixed seed)."""
    fake = Faker("fr_FR")
    fake.seed_instance(42)
    rows = []
    for i in range(6):
        rows.append(
            {
                "matricule": f"{7000000 + i}",
                "civilite": "Mme" if i % 2 else "M.",
                "nom": fake.last_name(),
                "prenom": fake.first_name(),
                "telephone": f"06 {12 + i} 34 56 7{i}",
                "email": f"{fake.user_name()}{i}@example.org",
                "adresse": fake.street_address(),
                "code_postal": "04300",
                "ville": "Forcalquier",
            }
        )
    return rows


def later(days: int) -> datetime:
    """`NOW` plus some days."""
    return NOW + timedelta(days=days)


def drop_audit_guards(engine: Engine) -> None:
    """An attacker with administrator rights on the database first removes the append-only triggers."""
    with engine.begin() as connection:
        for table in ("privacy_audit", "privacy_audit_checkpoint"):
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
            else:
                connection.execute(text(f"DROP TRIGGER {table}_no_update"))
                connection.execute(text(f"DROP TRIGGER {table}_no_delete"))
