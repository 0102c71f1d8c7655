"""The indicators report: French HTML with inline SVG, CSV tables, small counts hidden, audited."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.report import write_report
from privacy.models import AuditEntry
from tests.outreach.test_reconcile_and_uplift import _store_experiment


def test_report_writes_html_with_charts_and_csv_tables(engine, tmp_path: Path) -> None:
    _store_experiment(engine, contacted=400, opened_c=120, holdout=400, opened_t=40)
    files = write_report(
        engine,
        tmp_path / "rapport",
        communes={"04088": "Forcalquier"},
        territory="Territoire fictif",
        actor="test",
    )
    html = files.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="fr"' in html
    assert html.count("<svg") >= 3 and "<script" not in html
    assert "Écart de taux d'ouverture : 20,0\u202f%" in html
    assert "14,6\u202f% à 25,4\u202f%" in html
    assert "statistiquement significatif" in html
    assert "Forcalquier (04088)" in html
    # The territory configured, never the shipped one's convention.
    assert "Convention territoriale globale — Territoire fictif." in html and "Montagne de Lure" not in html
    names = {p.name for p in files.csv}
    assert {"action-2-2-synthese.csv", "action-2-2-effet-temoin.csv", "action-7-1-synthese.csv"} <= names
    summary = pl.read_csv(tmp_path / "rapport" / "action-2-2-synthese.csv", separator=";")
    assert dict(summary.iter_rows())["Foyers du groupe témoin"] == 400
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "rapport.indicateurs")).one()
    assert entry.output_sha256


def test_small_counts_never_appear_in_the_report(engine, tmp_path: Path) -> None:
    _store_experiment(engine, contacted=300, opened_c=7, holdout=40, opened_t=3)
    files = write_report(
        engine, tmp_path / "rapport", communes={}, territory="Territoire fictif", actor="test"
    )
    summary = pl.read_csv(tmp_path / "rapport" / "action-2-2-synthese.csv", separator=";")
    values = dict(summary.iter_rows())
    assert values["Foyers contactés dont un droit a été ouvert"] is None
    assert values["Foyers témoins dont un droit a été ouvert"] is None
    effect = pl.read_csv(tmp_path / "rapport" / "action-2-2-effet-temoin.csv", separator=";")
    # Rates and intervals would give the small counts away: all of them are hidden.
    for column in ("taux_ouverture", "ic95_bas", "ic95_haut"):
        assert effect[column].null_count() == effect.height
    html = files.html.read_text(encoding="utf-8")
    assert "secret statistique" in html
    assert "L'effet n'est pas publié : un des deux groupes compte moins de 11" in html
