"""An objection recorded for a household already on lists produced before names those lists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from privacy import exchanges, retention
from privacy.keys import open_keyring
from tests.uptake.test_dpo_cli import _approved_exchange
from uptake.db import make_engine, transaction

LISTED, OTHER = "a" * 64, "c" * 64


def _sms_list(home: Path, out: Path) -> None:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    keyring = open_keyring(home / "keys", home / "master.key", environ={})
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, 1, ["nom"], now=dt.datetime.now(dt.UTC))
        frame = pl.DataFrame({"id_foyer": [LISTED], "nom": ["Fictif"]})
        retention.write_personal_output(
            session, keyring, grant, out, frame, actor="equipe", label="sms", households=[LISTED]
        )
    engine.dispose()


def test_an_objection_names_the_lists_already_produced_that_hold_the_household(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    _approved_exchange(cli)
    _sms_list(uptake_home, tmp_path / "liste-sms-t1.csv")

    listed = cli("subjects", "oppose", LISTED, "--source", "courrier")
    elsewhere = cli("subjects", "oppose", OTHER, "--source", "courrier")

    assert listed.code == 0, listed.output
    said = " ".join(listed.stdout.split())
    assert "figure déjà dans 1 fichier(s) produit(s) avant son opposition" in said
    assert "liste-sms-t1.csv (échange n°1" in said and "prévenez ceux à qui ils ont été remis" in said
    assert "figure déjà" not in elsewhere.stdout
