"""The commune reference shipped with the project (see `data/PROVENANCE.md`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from detection.errors import UnknownCommune

EARTH_RADIUS_KM = 6371.0088

REFERENCE_FILE = Path(str(resources.files("detection"))) / "data" / "communes.csv.gz"
# Coordinates the shipped reference gets wrong (a longitude equal to the latitude) or lacks; each
# row says where its values come from (see `data/PROVENANCE.md`). The reference file itself stays
# the unchanged copy of its source.
CORRECTIONS_FILE = REFERENCE_FILE.with_name("communes-corrections.csv")

_SCHEMA = {
    "code_commune": pl.String,
    "nom": pl.String,
    "population_municipale": pl.Int64,
    "code_departement": pl.String,
    "siren_epci": pl.String,
    "nom_epci": pl.String,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "source_point": pl.String,
}


_POINT = ["latitude", "longitude"]


@dataclass(frozen=True)
class Commune:
    """One commune of the reference."""

    code: str
    nom: str
    population: int
    siren_epci: str | None
    latitude: float
    longitude: float


class CommuneReference:
    """Lookups over the 34,870 communes: by code, by EPCI, coordinates."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._codes = frozenset(frame["code_commune"].to_list())

    @property
    def codes(self) -> frozenset[str]:
        """Every valid commune code."""
        return self._codes

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def get(self, code: str) -> Commune:
        """The commune with this INSEE code, or `UnknownCommune`."""
        if code not in self._codes:
            raise UnknownCommune(code)
        row = self.frame.row(by_predicate=pl.col("code_commune") == code, named=True)
        return Commune(
            code=row["code_commune"],
            nom=row["nom"],
            population=row["population_municipale"],
            siren_epci=row["siren_epci"],
            latitude=row["latitude"],
            longitude=row["longitude"],
        )

    def of_epci(self, siren: str) -> pl.DataFrame:
        """The communes of one EPCI (intercommunality), sorted by code."""
        return self.frame.filter(pl.col("siren_epci") == siren).sort("code_commune")


def read_reference_file() -> pl.DataFrame:
    """The shipped reference file as its source gives it, without the corrections."""
    return pl.read_csv(REFERENCE_FILE, schema_overrides=_SCHEMA, null_values=["\\N", ""])


@cache
def load_reference() -> CommuneReference:
    """The shipped commune reference (read once per process)."""
    frame = read_reference_file()
    corrections = pl.read_csv(
        CORRECTIONS_FILE, schema_overrides={"code_commune": pl.String}, columns=["code_commune", *_POINT]
    ).with_columns(source_point=pl.lit("correction"))
    return CommuneReference(frame.update(corrections, on="code_commune"))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points, in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
