"""Reconciliation with the next extract (both arms) and the uplift with its 95 % interval."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from outreach.indicators import Uplift, indicators_22, load_tables
from outreach.launch import launch_campaign
from outreach.models import Assignment, Launch, Outcome
from outreach.reconcile import reconcile_extract
from outreach.simulation import simulate_next_month
from privacy.canonical import caf_day
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, extract_frame, flag, flags_frame, pseudonym


def test_uplift_and_interval_on_known_counts() -> None:
    # 30 % of 400 contacted vs 10 % of 400 in the holdout: difference 0.20,
    # standard error sqrt(.3*.7/400 + .1*.9/400) = 0.0273861, margin 1.959964 * SE = 0.0536757.
    result = Uplift(400, 120, 400, 40)
    assert result.difference == pytest.approx(0.20)
    assert result.standard_error == pytest.approx(0.0273861, abs=1e-7)
    low, high = result.interval
    assert low == pytest.approx(0.1463243, abs=1e-6)
    assert high == pytest.approx(0.2536757, abs=1e-6)


def _store_experiment(engine, contacted: int, opened_c: int, holdout: int, opened_t: int) -> None:
    with Session(engine) as session, session.begin():
        launch = Launch(
            campagne="test",
            action="2.2",
            run_id=1,
            graine=1,
            part_temoin=0.5,
            config_sha256="x",
            acteur="t",
            lance_le=NOW,
            nb_signales=contacted + holdout,
            nb_contactes=contacted,
            nb_temoins=holdout,
            nb_exclus=0,
        )
        session.add(launch)
        session.flush()
        rows, outcomes = [], []
        for i in range(contacted + holdout):
            arm = "contacte" if i < contacted else "temoin"
            rows.append(
                {
                    "launch_id": launch.id,
                    "id_foyer": pseudonym(i),
                    "regle": "ppa_non_recours",
                    "regles": "ppa_non_recours",
                    "code_commune": "04088",
                    "canaux": "sms",
                    "bras": arm,
                    "rang": i + 1,
                }
            )
            opened = i < opened_c if arm == "contacte" else i - contacted < opened_t
            if opened:
                outcomes.append(
                    {
                        "id_foyer": pseudonym(i),
                        "launch_id": launch.id,
                        "regle": "ppa_non_recours",
                        "resultat": "droit_ouvert",
                        "montant": 200.0,
                        "acteur": "t",
                        "source": "rapprochement",
                        "survenu_le": NOW + dt.timedelta(days=30),
                        "enregistre_le": NOW + dt.timedelta(days=30),
                    }
                )
        session.execute(insert(Assignment), rows)
        session.execute(insert(Outcome), outcomes)


def test_report_uplift_is_right_on_a_dataset_built_with_a_known_effect(engine) -> None:
    _store_experiment(engine, contacted=400, opened_c=120, holdout=400, opened_t=40)
    indicators = indicators_22(load_tables(engine))
    assert indicators.uplift_published
    raw = indicators.raw_uplift
    assert (raw.n_contacted, raw.opened_contacted, raw.n_holdout, raw.opened_holdout) == (400, 120, 400, 40)
    row = indicators.uplift.row(2, named=True)
    assert row["taux_ouverture"] == pytest.approx(0.20)
    assert row["ic95_bas"] == pytest.approx(0.1463243, abs=1e-6)
    assert row["ic95_haut"] == pytest.approx(0.2536757, abs=1e-6)


def test_uplift_is_hidden_when_a_count_is_below_the_disclosure_threshold(engine) -> None:
    _store_experiment(engine, contacted=200, opened_c=40, holdout=30, opened_t=4)
    indicators = indicators_22(load_tables(engine))
    assert not indicators.uplift_published
    contacted, holdout, difference = indicators.uplift.iter_rows(named=True)
    assert contacted["taux_ouverture"] == pytest.approx(0.20)  # 40 of 200, both in the summary table
    assert contacted["ic95_bas"] is not None and contacted["ic95_haut"] is not None
    assert holdout["taux_ouverture"] is None and holdout["ic95_bas"] is None
    assert difference["taux_ouverture"] is None and difference["ic95_haut"] is None


def test_no_rate_is_published_when_the_contacted_arm_is_itself_too_small(engine) -> None:
    _store_experiment(engine, contacted=200, opened_c=6, holdout=30, opened_t=4)
    indicators = indicators_22(load_tables(engine))
    assert indicators.uplift["taux_ouverture"].null_count() == 3


def test_reconciliation_finds_rights_opened_in_the_next_extract_for_both_arms(
    make_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", "America/Martinique")  # UTC-4: midnight UTC is the day before
    world = make_world()
    flags = flags_frame([flag(i, montant_estime=150.0) for i in range(40)] + [flag(100, "al_non_recours")])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.25}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session:
        arms = dict(session.execute(select(Assignment.id_foyer, Assignment.bras)).all())
    contacted = sorted(f for f, a in arms.items() if a == "contacte")
    holdout = sorted(f for f, a in arms.items() if a == "temoin")
    assert report.temoins == len(holdout) >= 2
    paid = {contacted[0], contacted[1], holdout[0]}
    ids = sorted(arms)
    extract = extract_frame(
        ids,
        percoit_ppa=[f in paid for f in ids],
        montant_ppa=[212.34 if f in paid else 0.0 for f in ids],
    )
    path = tmp_path / "extrait-2026-04.parquet"
    extract.write_parquet(path)

    result = reconcile_extract(world.engine, path, actor="rapprochement", now=NOW + dt.timedelta(days=30))
    assert result.rights_opened == {"contacte": 2, "temoin": 1}
    assert result.amount_opened["contacte"] == pytest.approx(424.68)
    with Session(world.engine) as session:
        opened = session.execute(
            select(Outcome.id_foyer, Outcome.montant, Outcome.source, Outcome.survenu_le).where(
                Outcome.resultat == "droit_ouvert"
            )
        ).all()
    assert {f for f, _, _, _ in opened} == paid
    assert all(m == pytest.approx(212.34) and s == "rapprochement" for _, m, s, _ in opened)
    month = extract["mois_reference"][0]
    assert {caf_day(at) for _, _, _, at in opened} == {month}  # opened on the month's first day there
    again = reconcile_extract(world.engine, path, actor="rapprochement", now=NOW + dt.timedelta(days=31))
    assert again.rights_opened == {}


def test_simulated_month_then_reconciliation_recovers_the_effect_of_contact(
    make_world, tmp_path: Path
) -> None:
    world = make_world()
    n = 500
    flags = flags_frame([flag(i, code_commune=("04088", "04178")[i % 2]) for i in range(n)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.5}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    extract = extract_frame(flags["id_foyer"].to_list(), month="2026-03-01")
    simulated = simulate_next_month(
        world.engine, extract, report.launch_id, seed=11, base_rate=0.10, contact_effect=0.20, now=NOW
    )
    again = simulate_next_month(
        world.engine, extract, report.launch_id, seed=11, base_rate=0.10, contact_effect=0.20, now=NOW
    )
    assert simulated.next_extract.equals(again.next_extract)  # deterministic from the seed
    path = tmp_path / "extrait-suivant.parquet"
    simulated.next_extract.write_parquet(path)
    reconcile_extract(world.engine, path, actor="rapprochement", now=NOW + dt.timedelta(days=30))
    raw = indicators_22(load_tables(world.engine)).raw_uplift
    assert raw.opened_contacted == simulated.opening_contacted
    assert raw.opened_holdout == simulated.opening_holdout
    low, high = raw.interval
    assert low < 0.20 < high or math.isclose(raw.difference, 0.20, abs_tol=3 * raw.standard_error)
    assert low > 0  # the effect is detected
    frame = simulated.next_extract
    assert frame["mois_reference"].unique().to_list() == [dt.date(2026, 4, 1)]
    assert frame.filter(pl.col("percoit_ppa"))["montant_ppa"].min() > 0
