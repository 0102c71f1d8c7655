"""A national territory (`config/national.toml`): cheap geography lookups and a run over every commune."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from detection.geography import MAX_DISTANCE_BRANCHES, Geography
from detection.records import load_flags
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def national() -> Geography:
    return Geography.of(load_territory(CONFIG_DIR / "national.toml"))


def test_the_national_distance_lookup_gives_each_communes_distance(national: Geography) -> None:
    communes = national.communes
    assert communes.height == len(national.reference.codes) > 30_000
    assert communes["distance_services_km"].n_unique() > MAX_DISTANCE_BRANCHES
    looked_up = communes.select(
        "distance_services_km", national.distance_expr().alias("lookup"), national.remote_expr().alias("far")
    )
    assert looked_up["lookup"].equals(looked_up["distance_services_km"], check_names=False)
    assert looked_up["far"].equals(communes["commune_eloignee"], check_names=False)
    unknown = pl.DataFrame({"code_commune": ["99999", None]}).select(national.distance_expr())
    assert unknown.to_series().null_count() == 2


def test_a_service_commune_is_at_zero_km_and_a_commune_without_coordinates_has_no_distance(
    national: Geography,
) -> None:
    assert national.distance_km("13055") == 0.0  # Marseille hosts the service point of the Bouches-du-Rhône
    missing = national.reference.frame.filter(pl.col("latitude").is_null())["code_commune"].to_list()
    for code in missing:
        assert national.distance_km(code) is None


def test_a_national_run_keeps_every_household_and_carries_distances(
    engine: Engine, national: Geography, tmp_path: Path
) -> None:
    extract = tmp_path / "national.parquet"
    write_synthetic(SynthesisSpec(households=3_000, seed=2), commune_table(national.reference, None), extract)

    run = DetectionRunner(engine, national, tmp_path).run(RunRequest(extract)).run

    assert run.households_in_territory == 3_000 and run.households_out_of_territory == 0
    flags = load_flags(engine, run.id)
    assert flags.height == run.flags_count and len(run.counts_by_commune) > 100
    far = flags.filter(pl.col("regle") == "rdv_droits_eloignes")
    assert far.height > 0 and far["commune_eloignee"].all()
    assert (far["distance_services_km"] > 25.0).all()


def test_overseas_households_outside_a_rules_champ_are_not_flagged_and_the_run_says_so(
    engine: Engine, national: Geography, tmp_path: Path
) -> None:
    extract = tmp_path / "outre-mer.parquet"
    overseas = [code for code in national.reference.codes if code.startswith("97")]
    write_synthetic(
        SynthesisSpec(households=4_000, seed=5), commune_table(national.reference, overseas), extract
    )
    # The reference gives Mayotte no population, so no household is drawn there: a quarter are moved.
    households = pl.read_parquet(extract)
    moved = pl.int_range(pl.len()) % 4 == 0
    households = households.with_columns(
        pl.when(moved).then(pl.lit("97611")).otherwise(pl.col("code_commune")).alias("code_commune")
    )
    households.write_parquet(extract)

    run = DetectionRunner(engine, national, tmp_path).run(RunRequest(extract)).run

    flags = load_flags(engine, run.id)
    departments = flags.group_by("regle").agg(pl.col("code_commune").str.slice(0, 3).unique().sort())
    found = dict(zip(departments["regle"], departments["code_commune"].to_list(), strict=True))
    assert "al_non_recours" not in found  # no overseas scale for the housing benefit
    assert "976" not in found["rsa_non_recours"] and "976" not in found["ppa_non_recours"]
    assert {"971", "972", "973", "974"} <= set(found["rsa_non_recours"])
    assert "976" in found["impaye_locatif"]  # a rule without scales flags everywhere
    left_out = {item.rule_id: item for item in run.left_out}
    assert set(left_out) == {"al_non_recours", "ppa_non_recours", "rsa_non_recours"}
    assert left_out["al_non_recours"].communes == len(overseas)
    assert left_out["al_non_recours"].where == ("Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte")
    assert left_out["rsa_non_recours"].where == ("Mayotte",)
    assert left_out["rsa_non_recours"].communes == sum(code.startswith("976") for code in overseas)
