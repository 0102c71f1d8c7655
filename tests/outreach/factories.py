"""Hand-built flags and campaigns for the outreach tests (synthetic pseudonyms only)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from detection.geography import Geography
from detection.territory import load_territory
from outreach.campaigns import Campaign, find_campaign
from outreach.models import Contact, Launch
from tests.conftest import CONFIG_DIR

TERRITORY_COMMUNES = ("04088", "04178", "04104", "04206", "04065", "04087", "04101")

FLAG_SCHEMA: dict[str, Any] = {
    "id_foyer": pl.String,
    "regle": pl.String,
    "version_regle": pl.String,
    "montant_estime": pl.Float64,
    "priorite": pl.Int32,
    "code_commune": pl.String,
    "distance_services_km": pl.Float64,
    "explication": pl.String,
    "canal_sms": pl.Boolean,
    "canal_email": pl.Boolean,
    "canal_telephone": pl.Boolean,
    "canal_courrier": pl.Boolean,
    "opposition_contact": pl.Boolean,
    "accompagnement_social": pl.Boolean,
}


def pseudonym(i: int) -> str:
    """A synthetic household pseudonym (the contract's shape: 16+ characters)."""
    return f"foyer-test-{i:08d}"


def flag(i: int, regle: str = "ppa_non_recours", **values: Any) -> dict[str, Any]:
    """One flag row with every channel usable and no opposition, unless overridden."""
    row: dict[str, Any] = {
        "id_foyer": pseudonym(i),
        "regle": regle,
        "version_regle": "1",
        "montant_estime": 150.0,
        "priorite": 1,
        "code_commune": "04088",
        "distance_services_km": 0.0,
        "explication": "revenus d'activité sans prime d'activité versée",
        "canal_sms": True,
        "canal_email": True,
        "canal_telephone": True,
        "canal_courrier": True,
        "opposition_contact": False,
        "accompagnement_social": False,
    }
    row.update(values)
    return row


def flags_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A flags frame typed like `detection.records.load_flags`."""
    return pl.DataFrame(rows, schema=FLAG_SCHEMA)


def many_flags(
    n: int, seed: int = 7, rules: tuple[str, ...] = ("ppa_non_recours", "al_non_recours")
) -> pl.DataFrame:
    """`n` households spread over rules and communes."""
    rng = random.Random(seed)
    return flags_frame(
        [
            flag(
                i,
                regle=rng.choice(rules),
                code_commune=rng.choice(TERRITORY_COMMUNES),
                montant_estime=float(rng.randint(20, 400)),
            )
            for i in range(n)
        ]
    )


def launch_row(**values: Any) -> Launch:
    """A launch of the 2.2 campaign as stored, with made-up counts (`values` override them)."""
    fields: dict[str, Any] = {
        "campagne": "action-2-2-non-recours",
        "action": "2.2",
        "run_id": 1,
        "graine": 1,
        "part_temoin": 0.1,
        "config_sha256": "0" * 64,
        "acteur": "equipe",
        "lance_le": dt.datetime(2026, 3, 2, 23, 15, tzinfo=dt.UTC),
        "nb_signales": 12,
        "nb_contactes": 10,
        "nb_temoins": 2,
        "nb_exclus": 0,
    }
    return Launch(**(fields | values))


def email_contact(number: int, envoi: str | None, produced: dt.datetime, launch_id: int = 1) -> Contact:
    """An e-mail of the 2.2 campaign's second attempt as the contact history stores it."""
    return Contact(
        launch_id=launch_id,
        campagne="action-2-2-non-recours",
        id_foyer=f"foyer{number:012d}abcdef",
        regle="ppa_non_recours",
        canal="email",
        tentative=2,
        prevu_le=produced,
        produit_le=produced,
        envoi=envoi,
    )


def campaign_22(**changes: Any) -> Campaign:
    """The shipped action 2.2 campaign, optionally with some sections replaced."""
    campaign = find_campaign(CONFIG_DIR, "action-2-2-non-recours")
    return replace(campaign, **changes) if changes else campaign


def campaign_71() -> Campaign:
    """The shipped action 7.1 campaign."""
    return find_campaign(CONFIG_DIR, "action-7-1-logement")


_GEOGRAPHY: list[Geography] = []


def geography() -> Geography:
    """The geography of the shipped territory (computed once per test session)."""
    if not _GEOGRAPHY:
        _GEOGRAPHY.append(Geography.of(load_territory(CONFIG_DIR / "territoire.toml")))
    return _GEOGRAPHY[0]


def templates_dir() -> Path:
    """The shipped templates."""
    return CONFIG_DIR / "templates"


def extract_frame(ids: list[str], month: str = "2026-04-01", **columns: list[Any]) -> pl.DataFrame:
    """A contract-v1 household extract for `ids` (single tenants in Forcalquier, no benefit paid)."""
    from datetime import date

    from detection.contract import HOUSEHOLD_SCHEMA

    n = len(ids)
    base: dict[str, list[Any]] = {
        "id_foyer": ids,
        "mois_reference": [date.fromisoformat(month)] * n,
        "code_commune": ["04088"] * n,
        "age_allocataire": [35] * n,
        "en_couple": [False] * n,
        "nb_enfants": [0] * n,
        "nb_enfants_moins_3_ans": [0] * n,
        "revenus_activite_allocataire": [900.0] * n,
        "revenus_activite_conjoint": [0.0] * n,
        "autres_ressources": [0.0] * n,
        "statut_logement": ["locataire"] * n,
        "loyer": [400.0] * n,
        "zone_logement": [3] * n,
        "logement_non_decent": [False] * n,
        "impaye_loyer_mois": [0] * n,
        "dette_locative": [0.0] * n,
        "percoit_ppa": [False] * n,
        "percoit_rsa": [False] * n,
        "percoit_al": [False] * n,
        "montant_ppa": [0.0] * n,
        "montant_rsa": [0.0] * n,
        "montant_al": [0.0] * n,
        "montant_prestations_familiales": [0.0] * n,
        "accompagnement_social": [False] * n,
        "evenement_vie": [None] * n,
        "date_evenement": [None] * n,
        "canal_sms": [True] * n,
        "canal_email": [True] * n,
        "canal_telephone": [True] * n,
        "canal_courrier": [True] * n,
        "opposition_contact": [False] * n,
    }
    base.update(columns)
    return pl.DataFrame(base, schema=HOUSEHOLD_SCHEMA)


def automatic_reply() -> bytes:
    """An out-of-office reply: a message that is not a delivery report."""
    return (
        "From: foyer9@example.org\nTo: noreply@caf.example\nSubject: Absent\n"
        "Date: Tue, 10 Mar 2026 10:00:00 +0100\n\nJe suis absent jusqu'au 20 mars.\n"
    ).encode("ascii")
