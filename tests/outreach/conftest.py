"""A real privacy set-up for outreach: keyring, register, an approved exchange, a vault, a stored run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from detection.records import SUCCEEDED, DetectionRun, insert_flags
from outreach.launch import OutreachEnv, launch_campaign, run_followups
from outreach.models import Assignment
from privacy import audit, exchanges, register, vault
from privacy.keys import Keyring, open_keyring
from tests.conftest import CONFIG_DIR
from tests.outreach.factories import campaign_71, flag, flags_frame, geography, pseudonym, templates_dir
from uptake.db import make_engine, upgrade

REGISTER_CODE = "CTG-FORCALQUIER-DROITS"
ALL_FIELDS = (
    *("civilite", "nom", "prenom", "telephone", "email", "adresse", "code_postal", "ville"),
    *("droits_presumes", "motifs"),
)
# A Tuesday in March, 10:00 in Paris: inside every sending window.
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@dataclass
class OutreachWorld:
    """Everything a launch needs, on a real database."""

    engine: Engine
    keyring: Keyring
    env: OutreachEnv
    out_dir: Path
    exchange_id: int

    def store_run(self, flags: pl.DataFrame) -> int:
        """A succeeded detection run holding `flags` (hand-built frames, typed like `load_flags`)."""
        full = flags.with_columns(
            pl.lit(False).alias("commune_eloignee"),
            pl.lit("").alias("conditions_remplies"),
            pl.lit("abc").alias("empreinte_parametres"),
            pl.lit(None, dtype=pl.String).alias("evenement_vie"),
        ).with_columns(pl.col("explication").fill_null(""))
        with Session(self.engine) as session, session.begin():
            run = DetectionRun(
                status=SUCCEEDED,
                trigger="test",
                extract_name="extrait-test.parquet",
                mois_reference=dt.date(2026, 3, 1),
                started_at=NOW - dt.timedelta(hours=1),
                finished_at=NOW - dt.timedelta(minutes=50),
            )
            session.add(run)
            session.flush()
            insert_flags(session, run.id, full)
            return run.id

    def store_contacts(self, ids: list[str], **overrides: object) -> None:
        """Synthetic contacts for `ids` (every channel valid unless overridden)."""
        rows = []
        for n, pseudo in enumerate(ids):
            row = {
                "id_foyer": pseudo,
                "civilite": "Mme" if n % 2 else "M.",
                "nom": f"Testnom{n}",
                "prenom": f"Prenom{n}",
                "telephone": f"06 12 {n // 10000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d}",
                "email": f"foyer{n}@example.org",
                "adresse": f"{n + 1} rue des Essais",
                "code_postal": "04300",
                "ville": "Forcalquier",
            }
            row.update(overrides)
            rows.append(row)
        with Session(self.engine) as session, session.begin():
            vault.import_contacts(
                session, self.keyring, pl.DataFrame(rows), territory="test", actor="test", now=NOW
            )


def world_in_home(uptake_home: Path, tmp_path: Path, *, now: dt.datetime = NOW) -> OutreachWorld:
    """The database and keys of `uptake_home` (what the CLI and the jobs open), migrated, with the
    register loaded and an exchange approved."""
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    upgrade(engine)
    keyring = open_keyring(uptake_home / "keys", uptake_home / "master.key", environ={})
    audit.seal_commits(engine, lambda: keyring)  # what the test writes signs its end, as the CLI does
    with Session(engine) as session, session.begin():
        register.save(session, register.load_dir(CONFIG_DIR / "registre"), actor="test", source="test")
    approve_exchange(engine, keyring, now=now)
    env = OutreachEnv(engine, keyring, geography(), templates_dir(), actor="test")
    return OutreachWorld(engine, keyring, env, tmp_path / "sorties", 0)


def send_questionnaires(world: OutreachWorld, households: int) -> tuple[int, dict[str, str]]:
    """Action 7.1 launched on `households` households (no holdout), its questionnaire letters sent
    three days later; the launch and each household's questionnaire reference."""
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, households + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    letters = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    assert [a.canal for a in letters] == ["courrier"]
    with Session(world.engine) as session:
        ranks = session.execute(
            select(Assignment.id_foyer, Assignment.rang).where(Assignment.launch_id == report.launch_id)
        ).all()
    return report.launch_id, {p: f"Q-{report.launch_id}-{r}" for p, r in ranks}


def approve_exchange(
    engine: Engine,
    keyring: Keyring,
    fields: tuple[str, ...] = ALL_FIELDS,
    now: dt.datetime = NOW,
    *,
    recipient: str = "Caf 04, service accès aux droits",
    purpose: str = "listes de contact des campagnes 2.2 et 7.1",
) -> int:
    """Request and approve an exchange for the outreach lists (by default, for the Caf's own service)."""
    with Session(engine) as session, session.begin():
        exchange = exchanges.request(
            session,
            exchanges.ExchangeRequest(
                requester="equipe-donnees",
                recipient=recipient,
                purpose=purpose,
                register_code=REGISTER_CODE,
                fields=fields,
                legal_basis="RGPD 6-1-e ; CRPA L.114-8 II",
                retention_days=90,
                expires_on=(now + dt.timedelta(days=360)).date(),
            ),
            now=now - dt.timedelta(days=2),
        )
        exchanges.approve(
            session, keyring, exchange.id, dpo="dpo", avis="favorable", now=now - dt.timedelta(days=1)
        )
        return exchange.id


@pytest.fixture
def make_world(engine: Engine, tmp_path: Path) -> Callable[..., OutreachWorld]:
    """Build the world; `approved=False` leaves the exchange requested only."""

    def _make(*, approved: bool = True, fields: tuple[str, ...] = ALL_FIELDS) -> OutreachWorld:
        keyring = open_keyring(tmp_path / "keys", tmp_path / "master.key", environ={})
        audit.seal_commits(engine, lambda: keyring)  # as every front door: each transaction signs its end
        with Session(engine) as session, session.begin():
            register.save(
                session, register.load_dir(CONFIG_DIR / "registre"), actor="test", source="test", now=NOW
            )
        if approved:
            exchange_id = approve_exchange(engine, keyring, fields)
        else:
            with Session(engine) as session, session.begin():
                exchange_id = exchanges.request(
                    session,
                    exchanges.ExchangeRequest(
                        requester="equipe-donnees",
                        recipient="Caf 04",
                        purpose="listes",
                        register_code=REGISTER_CODE,
                        fields=fields,
                        legal_basis="RGPD 6-1-e",
                        retention_days=90,
                        expires_on=(NOW + dt.timedelta(days=360)).date(),
                    ),
                    now=NOW - dt.timedelta(days=2),
                ).id
        env = OutreachEnv(engine, keyring, geography(), templates_dir(), actor="test")
        return OutreachWorld(engine, keyring, env, tmp_path / "sorties", exchange_id)

    return _make


__all__ = ["NOW", "OutreachWorld", "make_world", "pseudonym"]
