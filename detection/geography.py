"""Geography of a territory: membership, distance to services, perimeters, remote communes.

Distances are great-circle (haversine) distances in km from each commune's point (its town
hall) to the nearest configured service point. Everything is exposed both as a small table and
as polars expressions over `code_commune`, so that rules and campaign filters use the same facts.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from detection.reference import EARTH_RADIUS_KM, CommuneReference, load_reference
from detection.territory import PERIMETER_TYPES, Territory

# Beyond this many distinct distances, `distance_expr` looks distances up instead of chaining tests.
MAX_DISTANCE_BRANCHES = 64


def _nearest_km(
    latitudes: np.ndarray, longitudes: np.ndarray, services: list[tuple[float, float]]
) -> np.ndarray:
    """Haversine distance (km) from each point to the nearest service, vectorised over both."""
    lat1, lon1 = np.radians(latitudes)[:, None], np.radians(longitudes)[:, None]
    points = np.radians(np.asarray(services, dtype=np.float64).reshape(-1, 2))
    lat2, lon2 = points[:, 0][None, :], points[:, 1][None, :]
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    nearest: np.ndarray = (2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))).min(axis=1)
    return nearest


@dataclass(frozen=True)
class Geography:
    """The geography of one territory, computed once from the reference and the configuration."""

    territory: Territory
    reference: CommuneReference

    @classmethod
    def of(cls, territory: Territory, reference: CommuneReference | None = None) -> Geography:
        """The geography of `territory` against the shipped reference."""
        return cls(territory, reference or load_reference())

    @cached_property
    def service_coordinates(self) -> list[tuple[float, float]]:
        """Coordinates of every service point (its own, or its commune's town hall)."""
        points = []
        for point in self.territory.service_points:
            if point.latitude is not None and point.longitude is not None:
                points.append((point.latitude, point.longitude))
            else:
                commune = self.reference.get(point.commune)
                points.append((commune.latitude, commune.longitude))
        return points

    @cached_property
    def communes(self) -> pl.DataFrame:
        """One row per commune of the territory: code, name, population, distance, remoteness."""
        frame = self.reference.frame.filter(pl.col("code_commune").is_in(list(self.territory.communes)))
        distances = _nearest_km(
            frame["latitude"].to_numpy(), frame["longitude"].to_numpy(), self.service_coordinates
        )
        frame = frame.with_columns(
            # A commune without coordinates in the reference has an unknown (null) distance.
            pl.Series("distance_services_km", distances, dtype=pl.Float64).fill_nan(None).round(2)
        ).select("code_commune", "nom", "population_municipale", "distance_services_km")
        return frame.with_columns(
            pl.col("code_commune").is_in(list(self._remote_codes(frame))).alias("commune_eloignee")
        ).sort("code_commune")

    def _remote_codes(self, frame: pl.DataFrame) -> set[str]:
        remoteness = self.territory.remoteness
        if remoteness.seuil_km is not None:
            chosen = frame.filter(pl.col("distance_services_km") > remoteness.seuil_km)
        else:
            assert remoteness.part_communes is not None
            count = max(1, math.ceil(frame.height * remoteness.part_communes))
            # A commune of unknown distance is not taken for one of the farthest (nor, above, for
            # one beyond the threshold).
            chosen = frame.sort("distance_services_km", descending=True, nulls_last=True).head(count)
        return set(chosen["code_commune"].to_list())

    @cached_property
    def remote_communes(self) -> frozenset[str]:
        """The communes farthest from services, by the configured threshold or share."""
        return frozenset(self.communes.filter("commune_eloignee")["code_commune"].to_list())

    def distance_km(self, code: str) -> float | None:
        """Distance from one commune of the territory to the nearest service point."""
        row = self.communes.filter(pl.col("code_commune") == code)
        distance = None if row.is_empty() else row["distance_services_km"][0]
        return None if distance is None else float(distance)  # unknown without coordinates

    # Polars expressions over the `code_commune` column, for rules and campaign filters.

    def in_territory_expr(self, column: str = "code_commune") -> pl.Expr:
        """True for households living in the territory."""
        return pl.col(column).is_in(list(self.territory.communes))

    def distance_expr(self, column: str = "code_commune") -> pl.Expr:
        """Distance to services (km) of the household's commune; null outside the territory.

        Communes sharing a distance are grouped into one `is_in` test, which stays cheap in the
        streaming engine where a join to the commune table would not.
        """
        grouped = self.communes.group_by("distance_services_km").agg("code_commune")
        if grouped.height > MAX_DISTANCE_BRANCHES:
            # Many communes (a national territory): look the distance up by the commune's position
            # in an Enum of the codes, which costs a cast and a gather per row.
            codes = pl.Enum(self.communes["code_commune"].to_list())
            position = pl.col(column).cast(codes, strict=False).to_physical()
            return pl.lit(self.communes["distance_services_km"]).gather(position)
        chain: Any = pl
        for distance, codes in grouped.sort("distance_services_km").iter_rows():
            chain = chain.when(pl.col(column).is_in(codes)).then(pl.lit(distance, dtype=pl.Float64))
        if chain is pl:
            return pl.lit(None, dtype=pl.Float64)
        result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.Float64))
        return result

    def remote_expr(self, column: str = "code_commune") -> pl.Expr:
        """True for households of the communes farthest from services."""
        return pl.col(column).is_in(sorted(self.remote_communes))

    def perimeter_expr(self, kind: str, column: str = "code_commune") -> pl.Expr:
        """True for households inside a housing-programme perimeter (`OPAH`, `PIG`, or a name)."""
        return pl.col(column).is_in(sorted(self.territory.perimeter_communes(kind)))

    def perimeter_names(self) -> frozenset[str]:
        """Every name a rule may pass to `perimeter_expr`: the types, configured or not (a territory
        without a PIG has no commune in one: the shipped rules must still run there), and the
        perimeters' names."""
        return frozenset(PERIMETER_TYPES) | frozenset(p.nom for p in self.territory.perimeters)


def territory_fingerprint(geography: Geography) -> str:
    """A hash of everything in the territory that changes flags: communes, services, perimeters."""
    territory = geography.territory
    facts = {
        "national": territory.national,
        "communes": sorted(territory.communes),
        "services": sorted(geography.service_coordinates),
        "remoteness": territory.remoteness.model_dump(),
        "perimeters": sorted((p.nom, p.type, sorted(p.communes)) for p in territory.perimeters),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
