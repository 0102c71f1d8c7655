"""Indicators on distinct households (a household in two launches counts once) and the disclosure
control of the real action 2.2 tables (no hidden count worked out, no large count hidden)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from outreach.indicators import indicators_22, load_tables
from outreach.models import Assignment, Contact, Outcome
from tests.outreach.conftest import NOW
from tests.outreach.factories import launch_row, pseudonym


@dataclass
class _Launch:
    """One stored launch: households by arm (None: set aside), commune, rights opened, contacts."""

    arms: dict[int, str | None]
    commune: dict[int, str] = field(default_factory=dict)
    opened: set[int] = field(default_factory=set)
    channels: dict[int, str] = field(default_factory=dict)
    day: int = 0


def _store(engine: Engine, *launches: _Launch) -> list[int]:
    ids = []
    with Session(engine) as session, session.begin():
        for launch in launches:
            moment = NOW + dt.timedelta(days=launch.day)
            row = launch_row(
                lance_le=moment,
                nb_signales=len(launch.arms),
                nb_contactes=sum(a == "contacte" for a in launch.arms.values()),
                nb_temoins=sum(a == "temoin" for a in launch.arms.values()),
            )
            session.add(row)
            session.flush()
            ids.append(row.id)
            session.execute(
                insert(Assignment),
                [
                    {
                        "launch_id": row.id,
                        "id_foyer": pseudonym(i),
                        "regle": "ppa_non_recours",
                        "regles": "ppa_non_recours",
                        "code_commune": launch.commune.get(i, "04088"),
                        "canaux": "sms",
                        "bras": arm,
                        "motif_exclusion": None if arm else "contact_recent_meme_droit",
                        "rang": i + 1 if arm else None,
                    }
                    for i, arm in launch.arms.items()
                ],
            )
            contacts = [
                {
                    "launch_id": row.id,
                    "campagne": row.campagne,
                    "id_foyer": pseudonym(i),
                    "regle": "ppa_non_recours",
                    "canal": launch.channels.get(i, "sms"),
                    "tentative": 1,
                    "prevu_le": moment,
                    "produit_le": moment,
                }
                for i, arm in launch.arms.items()
                if arm == "contacte"
            ]
            if contacts:
                session.execute(insert(Contact), contacts)
            outcomes = [
                {
                    "id_foyer": pseudonym(i),
                    "launch_id": row.id,
                    "regle": "ppa_non_recours",
                    "resultat": "droit_ouvert",
                    "montant": 200.0,
                    "acteur": "t",
                    "source": "rapprochement",
                    "survenu_le": moment + dt.timedelta(days=30),
                    "enregistre_le": moment + dt.timedelta(days=30),
                }
                for i in sorted(launch.opened)
            ]
            if outcomes:
                session.execute(insert(Outcome), outcomes)
    return ids


def _summary(engine: Engine) -> dict[str, int | None]:
    return dict(indicators_22(load_tables(engine), threshold=1).summary.iter_rows())


def _first_launch() -> _Launch:
    # 300 contacted (90 opened), 100 in the holdout (10 opened), 20 set aside.
    arms: dict[int, str | None] = {i: "contacte" for i in range(300)}
    arms |= {i: "temoin" for i in range(300, 400)}
    arms |= {i: None for i in range(400, 420)}
    return _Launch(arms, opened=set(range(90)) | set(range(300, 310)))


def test_a_second_launch_of_the_same_campaign_does_not_double_flagged_and_control_households(
    engine: Engine,
) -> None:
    _store(engine, _first_launch())
    before = _summary(engine)
    before_uplift = indicators_22(load_tables(engine)).raw_uplift
    # Launched again on the same run: everyone recently contacted is set aside, the holdout stays.
    second: dict[int, str | None] = {i: None for i in range(300)}
    second |= {i: "temoin" for i in range(300, 400)} | {i: None for i in range(400, 420)}
    _store(engine, _Launch(second, day=1))
    after = _summary(engine)
    assert before["Foyers signalés"] == after["Foyers signalés"] == 420
    assert before["Foyers du groupe témoin"] == after["Foyers du groupe témoin"] == 100
    assert indicators_22(load_tables(engine)).raw_uplift == before_uplift


def test_a_household_in_two_contacting_launches_counts_once_in_the_arm_of_its_earliest_draw(
    engine: Engine,
) -> None:
    _store(engine, _first_launch())
    # A later launch contacts 50 new households, and 20 of the first holdout (drawn again, contacted).
    later: dict[int, str | None] = {i: "contacte" for i in range(1000, 1050)}
    later |= {i: "contacte" for i in range(300, 320)}
    _store(engine, _Launch(later, opened={300, 301}, day=40))
    raw = indicators_22(load_tables(engine)).raw_uplift
    assert (raw.n_contacted, raw.n_holdout) == (350, 100)  # the 20 stay in the holdout, once
    assert (raw.opened_contacted, raw.opened_holdout) == (90, 10)  # 300 and 301 opened once, as témoins
    summary = _summary(engine)
    assert summary["Foyers signalés"] == 470
    assert summary["Droits ouverts (foyers contactés)"] == 90


def test_rights_opened_recorded_under_two_launches_count_once(engine: Engine) -> None:
    first = _first_launch()
    second: dict[int, str | None] = {i: None for i in range(300)} | {i: "temoin" for i in range(300, 400)}
    # The reconciliation records the rights of the repeated holdout under both launches.
    _store(engine, first, _Launch(second, opened=set(range(300, 310)), day=1))
    ind = indicators_22(load_tables(engine), threshold=1)
    assert ind.raw_uplift.opened_holdout == 10
    assert dict(ind.summary.iter_rows())["Foyers témoins dont un droit a été ouvert"] == 10


# The demo's shape: Fontienne (04087) has 14 flagged households, 13 contacted and 1 in the holdout,
# who did not open a right; Forcalquier (04088) has a holdout of 54; channels reach hundreds of
# households each but open few rights after a call or an e-mail.
def _demo_like(engine: Engine) -> None:
    arms: dict[int, str | None] = {}
    commune: dict[int, str] = {}
    channels: dict[int, str] = {}
    opened: set[int] = set()
    n = 0

    def add(count: int, arm: str | None, code: str, *, opening: int = 0, channel: str = "sms") -> None:
        nonlocal n
        for k in range(count):
            arms[n], commune[n], channels[n] = arm, code, channel
            if k < opening:
                opened.add(n)
            n += 1

    add(13, "contacte", "04087", opening=4)
    add(1, "temoin", "04087")
    add(12, "contacte", "04164", opening=3)
    add(1, "temoin", "04164", opening=1)
    add(300, "contacte", "04088", opening=60)
    add(150, "contacte", "04088", opening=6, channel="appel")
    add(130, "contacte", "04088", opening=4, channel="email")
    add(54, "temoin", "04088", opening=9)
    add(40, None, "04088")
    add(110, "contacte", "04178", opening=30)
    add(14, "temoin", "04178", opening=2)
    add(6, None, "04178")
    _store(engine, _Launch(arms, commune, opened, channels))


def test_the_real_commune_table_hides_no_count_that_can_be_worked_out_and_keeps_large_ones(
    engine: Engine,
) -> None:
    _demo_like(engine)
    ind = indicators_22(load_tables(engine), threshold=11)
    communes = {row["code_commune"]: row for row in ind.by_commune.iter_rows(named=True)}
    for code in ("04087", "04164"):
        row = communes[code]
        assert row["foyers_temoins"] is None
        # témoins ≤ signalés − contactés must not pin the hidden count down.
        if row["foyers_signales"] is not None and row["foyers_contactes"] is not None:
            assert row["foyers_signales"] - row["foyers_contactes"] >= 6
        # The outcome of the hidden small holdout is hidden, even a 0.
        assert row["droits_ouverts_temoins"] is None
    assert communes["04088"]["foyers_temoins"] == 54
    assert communes["04088"]["foyers_signales"] == 674
    # Households reached per channel are large: published, whatever the rights opened after them.
    channels = dict(ind.by_channel.select("canal", "foyers_contactes").iter_rows())
    assert channels == {"appel": 150, "email": 130, "sms": 435}
    rights = dict(ind.by_channel.select("canal", "droits_ouverts").iter_rows())
    assert rights["appel"] is None and rights["email"] is None
    total = dict(ind.summary.iter_rows())["Droits ouverts (foyers contactés)"]
    assert total == 107
    # What the published total says of each hidden small count: a range, not a value.
    residual = total - sum(v for v in rights.values() if v is not None)
    hidden = sum(v is None for v in rights.values())
    low, high = max(1, residual - 10 * (hidden - 1)), min(10, residual - (hidden - 1))
    assert high - low >= 5


def test_the_report_csv_tables_keep_the_channel_counts_and_hide_the_recoverable_control_count(
    engine: Engine, tmp_path
) -> None:
    from outreach.report import write_report

    _demo_like(engine)
    write_report(engine, tmp_path, communes={}, territory="Territoire fictif", actor="test", threshold=11)
    by_commune = pl.read_csv(
        tmp_path / "action-2-2-par-commune.csv", separator=";", schema_overrides={"code_commune": pl.String}
    )
    fontienne = by_commune.filter(pl.col("code_commune") == "04087").row(0, named=True)
    assert fontienne["droits_ouverts_temoins"] is None
    assert fontienne["foyers_signales"] is None or fontienne["foyers_contactes"] is None
    by_channel = pl.read_csv(tmp_path / "action-2-2-par-canal.csv", separator=";")
    assert by_channel["foyers_contactes"].null_count() == 0
