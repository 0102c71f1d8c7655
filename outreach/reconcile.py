"""Reconciliation: households flagged earlier who now receive the benefit get `droit_ouvert`.

Done for BOTH arms (contacted and holdout), so that the holdout measures what would have happened
anyway. The amount recorded is the amount paid in the new extract's month. Re-running with the same
extract adds nothing: a right already recorded as opened for a household, launch and rule is not
recorded again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from detection.records import DetectionRun
from detection.validation import validate_extract
from outreach.errors import ReconciliationInvalid
from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import Assignment, Launch, Outcome
from outreach.outcomes import record_outcome
from privacy.canonical import caf_midnight

# Which benefit of the extract each rule is about: (paid flag, amount paid).
RULE_BENEFITS: dict[str, tuple[str, str]] = {
    "ppa_non_recours": ("percoit_ppa", "montant_ppa"),
    "rsa_non_recours": ("percoit_rsa", "montant_rsa"),
    "al_non_recours": ("percoit_al", "montant_al"),
}
EXTRACT_COLUMNS = ("id_foyer", *(c for pair in RULE_BENEFITS.values() for c in pair))


@dataclass(frozen=True)
class ReconciliationReport:
    """What the reconciliation found, by arm (counts of households and rights; no personal data)."""

    mois_reference: dt.date
    launches: int
    rights_opened: dict[str, int] = field(default_factory=dict)
    amount_opened: dict[str, float] = field(default_factory=dict)


def reconcile(
    session: Session, benefits: pl.DataFrame, mois_reference: dt.date, *, actor: str, now: dt.datetime
) -> ReconciliationReport:
    """Record `droit_ouvert` for households of earlier launches now paid (`benefits`: the extract's rows)."""
    launches = session.execute(
        select(Launch.id, DetectionRun.mois_reference).join(DetectionRun, DetectionRun.id == Launch.run_id)
    ).all()
    earlier = [launch_id for launch_id, month in launches if month is not None and month < mois_reference]
    opened_at = caf_midnight(mois_reference)  # the first day of the month at the Caf
    counts: Counter[str] = Counter()
    amounts: dict[str, float] = {}
    if not earlier:
        return ReconciliationReport(mois_reference, 0)
    assignments = pl.DataFrame(
        session.execute(
            select(Assignment.launch_id, Assignment.id_foyer, Assignment.regles, Assignment.bras).where(
                Assignment.launch_id.in_(earlier), Assignment.bras.in_([CONTACTED, HOLDOUT])
            )
        ).all(),
        schema={"launch_id": pl.Int64, "id_foyer": pl.String, "regles": pl.String, "bras": pl.String},
        orient="row",
    )
    already = {
        (launch_id, pseudonym, rule)
        for launch_id, pseudonym, rule in session.execute(
            select(Outcome.launch_id, Outcome.id_foyer, Outcome.regle).where(
                Outcome.resultat == "droit_ouvert", Outcome.launch_id.in_(earlier)
            )
        )
    }
    pairs = (
        assignments.with_columns(pl.col("regles").str.split(",").alias("regle"))
        .explode("regle")
        .filter(pl.col("regle").is_in(list(RULE_BENEFITS)))
        .join(benefits, on="id_foyer", how="inner")
    )
    for row in pairs.iter_rows(named=True):
        paid_flag, paid_amount = RULE_BENEFITS[row["regle"]]
        if not row[paid_flag] or (row["launch_id"], row["id_foyer"], row["regle"]) in already:
            continue
        amount = float(row[paid_amount] or 0.0)
        record_outcome(
            session,
            id_foyer=row["id_foyer"],
            resultat="droit_ouvert",
            acteur=actor,
            survenu_le=opened_at,
            montant=amount,
            launch_id=row["launch_id"],
            regle=row["regle"],
            source="rapprochement",
            now=now,
        )
        counts[row["bras"]] += 1
        amounts[row["bras"]] = amounts.get(row["bras"], 0.0) + amount
    return ReconciliationReport(mois_reference, len(earlier), dict(counts), amounts)


def reconcile_extract(
    engine: Engine, path: Path, *, actor: str, now: dt.datetime | None = None
) -> ReconciliationReport:
    """Validate the next month's extract (contract v1) and reconcile every earlier launch with it."""
    if path.is_dir():
        raise ReconciliationInvalid(
            f"{path} est un dossier",
            "donnez le chemin du fichier de l'extrait du mois suivant (.parquet ou .csv)",
        )
    if not path.is_file():
        raise ReconciliationInvalid(
            f"extrait introuvable : {path}", "donnez le chemin de l'extrait du mois suivant"
        )
    extract = validate_extract(path)
    benefits = extract.scan(list(EXTRACT_COLUMNS)).collect()
    with Session(engine) as session, session.begin():
        return reconcile(
            session, benefits, extract.mois_reference, actor=actor, now=now or dt.datetime.now(dt.UTC)
        )
