"""The control group (holdout): random, stratified by rule and commune, reproducible from its seed.

Inside each stratum the households are sorted by pseudonym and shuffled by a generator seeded with
the campaign seed and the stratum, so the draw of one stratum never depends on another. The number
drawn is `share × n` with randomised rounding (floor plus one with probability equal to the
fractional part), so that small strata still contribute to the holdout in the right proportion on
average instead of being rounded to zero.
"""

from __future__ import annotations

import math
import random

import polars as pl

CONTACTED = "contacte"
HOLDOUT = "temoin"


def assign_arms(
    households: pl.DataFrame, share: float, seed: int, strata: tuple[str, ...] = ("regle", "code_commune")
) -> pl.DataFrame:
    """`households` (unique `id_foyer`) with a `bras` column: `contacte` or `temoin`."""
    holdout: set[str] = set()
    if share > 0 and households.height:
        groups = households.group_by(list(strata)).agg(pl.col("id_foyer").sort())
        for row in groups.sort(list(strata)).iter_rows(named=True):
            key = "|".join(str(row[s]) for s in strata)
            rng = random.Random(f"{seed}|{key}")
            members: list[str] = list(row["id_foyer"])
            expected = share * len(members)
            count = math.floor(expected) + (1 if rng.random() < expected - math.floor(expected) else 0)
            rng.shuffle(members)
            holdout.update(members[:count])
    return households.with_columns(
        pl.when(pl.col("id_foyer").is_in(sorted(holdout)))
        .then(pl.lit(HOLDOUT))
        .otherwise(pl.lit(CONTACTED))
        .alias("bras")
    )
