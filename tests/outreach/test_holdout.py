"""The holdout is random, stratified by rule and commune, and reproducible from its seed."""

from __future__ import annotations

import polars as pl

from outreach.holdout import assign_arms
from tests.outreach.factories import many_flags


def _households(n: int) -> pl.DataFrame:
    return many_flags(n).select("id_foyer", "regle", "code_commune")


def test_same_seed_gives_the_same_arms() -> None:
    households = _households(600)
    first = assign_arms(households, 0.10, seed=42)
    again = assign_arms(households.sample(fraction=1.0, shuffle=True, seed=3), 0.10, seed=42)
    joined = first.join(again, on="id_foyer", suffix="_again")
    assert (joined["bras"] == joined["bras_again"]).all()


def test_another_seed_gives_another_draw() -> None:
    households = _households(600)
    a = assign_arms(households, 0.10, seed=1).filter(pl.col("bras") == "temoin")["id_foyer"].to_list()
    b = assign_arms(households, 0.10, seed=2).filter(pl.col("bras") == "temoin")["id_foyer"].to_list()
    assert set(a) != set(b)


def test_holdout_share_is_kept_inside_every_stratum() -> None:
    households = _households(3000)
    arms = assign_arms(households, 0.20, seed=9)
    strata = arms.group_by("regle", "code_commune").agg(
        pl.len().alias("n"), (pl.col("bras") == "temoin").sum().alias("holdout")
    )
    for n, holdout in strata.select("n", "holdout").iter_rows():
        # randomised rounding: floor or ceil of the expected count, never further away
        assert int(0.2 * n) <= holdout <= int(0.2 * n) + 1


def test_holdout_is_not_the_first_or_last_households_of_a_stratum() -> None:
    households = _households(2000)
    draws = [
        set(assign_arms(households, 0.10, seed=s).filter(pl.col("bras") == "temoin")["id_foyer"])
        for s in range(5)
    ]
    # Five independent draws of ~10 % overlap little: a deterministic pick would overlap fully.
    assert len(draws[0] & draws[1] & draws[2] & draws[3] & draws[4]) < 10


def test_small_strata_still_feed_the_holdout_in_proportion() -> None:
    # 400 strata of one household each: rounding each to zero would leave no holdout at all.
    households = pl.DataFrame(
        {
            "id_foyer": [f"foyer-small-{i:06d}" for i in range(400)],
            "regle": ["ppa_non_recours"] * 400,
            "code_commune": [f"{i:05d}" for i in range(400)],
        }
    )
    holdout = assign_arms(households, 0.25, seed=5).filter(pl.col("bras") == "temoin").height
    assert 70 <= holdout <= 130


def test_zero_share_contacts_everybody() -> None:
    assert (assign_arms(_households(50), 0.0, seed=1)["bras"] == "contacte").all()
