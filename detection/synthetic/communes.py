"""Where synthetic households live: communes, their weights, housing-benefit zones and postal codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from detection.reference import CommuneReference
from detection.synthetic.entitlement import FloatArray, IntArray
from detection.synthetic.errors import SynthesisError

# Zone 1 is the Paris agglomeration, zone 2 the large agglomerations and Corsica, zone 3 the rest. The
# reference has no zoning, so it is approximated: Paris and the petite couronne, plus the grande
# couronne's communes of 20,000 inhabitants or more, are zone 1; other communes of 50,000 or more and
# Corsica are zone 2.
_PETITE_COURONNE = ("75", "92", "93", "94")
_GRANDE_COURONNE = ("77", "78", "91", "95")


@dataclass(frozen=True)
class CommuneTable:
    """The communes households are drawn from, with normalised weights (population)."""

    codes: pl.Series
    names: pl.Series
    postal_codes: pl.Series
    departments: pl.Series
    zones: IntArray
    weights: FloatArray

    def __len__(self) -> int:
        return len(self.codes)


def _zone_expr() -> pl.Expr:
    dep, pop = pl.col("code_departement"), pl.col("population_municipale").fill_null(0)
    return (
        pl.when(dep.is_in(_PETITE_COURONNE) | (dep.is_in(_GRANDE_COURONNE) & (pop >= 20_000)))
        .then(1)
        .when((pop >= 50_000) | dep.is_in(("2A", "2B")))
        .then(2)
        .otherwise(3)
    )


def commune_table(reference: CommuneReference, codes: Sequence[str] | None = None) -> CommuneTable:
    """The communes to draw from: `codes` (a territory) or, when None, the whole reference.

    Weights are the legal populations (a null population weighs 0, unless no chosen commune has a
    known one: then the communes of unknown population weigh the same).
    """
    frame = reference.frame
    if codes is not None:
        unknown = sorted(set(codes) - reference.codes)
        if unknown:
            raise SynthesisError(
                f"code commune inconnu `{unknown[0]}`", "utilisez un code INSEE du référentiel des communes"
            )
        frame = frame.filter(pl.col("code_commune").is_in(list(codes)))
    frame = frame.sort("code_commune").with_columns(
        _zone_expr().alias("zone"),
        # A plausible postal code: department then the commune's last three digits (Corsica: 20).
        pl.concat_str(
            pl.col("code_commune").str.slice(0, 2).replace({"2A": "20", "2B": "20"}),
            pl.col("code_commune").str.slice(2, 3),
        ).alias("code_postal"),
    )
    population = frame["population_municipale"].fill_null(0).cast(pl.Float64).to_numpy()
    if population.sum() <= 0:
        # The reference gives no legal population for Mayotte's communes: without any other, those
        # weigh the same, so that a territory there can be synthesised.
        population = frame["population_municipale"].is_null().cast(pl.Float64).to_numpy()
    if population.sum() <= 0:
        raise SynthesisError(
            "les communes choisies n'ont aucune population connue",
            "choisissez des communes peuplées du référentiel",
        )
    return CommuneTable(
        codes=frame["code_commune"],
        names=frame["nom"],
        postal_codes=frame["code_postal"],
        departments=frame["code_departement"],
        zones=frame["zone"].cast(pl.Int64).to_numpy(),
        weights=np.asarray(population / population.sum(), dtype=np.float64),
    )
