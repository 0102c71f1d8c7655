"""The territory configuration (`config/territoire.toml`): communes, service points, perimeters.

Loading validates everything against the commune reference and reports a bad file with its
path, the key and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detection.errors import ConfigInvalid
from detection.reference import CommuneReference, load_reference
from privacy.config_errors import ConfigProblem, read_config

TERRITORY_FILE = "territoire.toml"
PERIMETER_TYPES = ("OPAH", "PIG")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _TerritorySection(_Strict):
    nom: str = Field(min_length=1)
    epci: str | None = Field(default=None, pattern=r"^\d{9}$")
    communes: list[str] | None = None
    national: bool = False

    @model_validator(mode="after")
    def _one_scope(self) -> _TerritorySection:
        if not self.national and self.epci is None and not self.communes:
            raise ValueError("indiquez `epci`, `communes` ou `national = true`")
        return self


class ServicePoint(_Strict):
    """A place where people can get help with their rights (convention, annexe 2)."""

    nom: str = Field(min_length=1)
    commune: str
    type: str = "service"
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Remoteness(_Strict):
    """How "the communes farthest from services" are chosen: a distance or a top share."""

    seuil_km: float | None = Field(default=None, gt=0)
    part_communes: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Remoteness:
        if (self.seuil_km is None) == (self.part_communes is None):
            raise ValueError("donnez soit `seuil_km`, soit `part_communes`, pas les deux")
        return self


class Perimeter(_Strict):
    """A housing-programme perimeter (OPAH, PIG) as a list of communes."""

    nom: str = Field(min_length=1)
    type: Literal["OPAH", "PIG"]
    communes: list[str] = Field(min_length=1)


class _TerritoryFile(_Strict):
    territoire: _TerritorySection
    points_service: list[ServicePoint] = Field(min_length=1)
    eloignement: Remoteness = Remoteness(seuil_km=10.0)
    perimetres: list[Perimeter] = Field(default_factory=list)


@dataclass(frozen=True)
class Territory:
    """A validated territory: its communes (INSEE codes), service points and perimeters."""

    nom: str
    epci: str | None
    communes: tuple[str, ...]
    service_points: tuple[ServicePoint, ...]
    remoteness: Remoteness
    perimeters: tuple[Perimeter, ...]
    national: bool = False

    def perimeter_communes(self, kind: str) -> frozenset[str]:
        """Communes inside every perimeter of one type (`OPAH`, `PIG`) or with one name."""
        return frozenset(code for p in self.perimeters if kind in (p.type, p.nom) for code in p.communes)


_FIXES = {
    "missing": "ajoutez cette clé",
    "extra_forbidden": "supprimez cette clé ou corrigez son orthographe",
    "string_type": "mettez la valeur entre guillemets (texte)",
    "float_type": "donnez un nombre (par exemple 8.0)",
    "bool_type": "écrivez true ou false",
    "literal_error": "choisissez l'une de ces valeurs",
    "string_pattern_mismatch": "le SIREN d'un EPCI a 9 chiffres (par exemple 240400440)",
}


def load_territory(path: Path, reference: CommuneReference | None = None) -> Territory:
    """Read and validate a territory file; any problem raises `ConfigInvalid`."""
    ref = reference or load_reference()
    where = str(path)
    try:
        parsed = read_config(path, _TerritoryFile, _FIXES)
    except ConfigProblem as problem:
        raise ConfigInvalid(where, problem.key, problem.problem, problem.fix) from None

    section = parsed.territoire
    if section.national:
        communes = tuple(sorted(ref.codes))
    elif section.communes:
        communes = tuple(section.communes)
    else:
        assert section.epci is not None
        communes = tuple(ref.of_epci(section.epci)["code_commune"].to_list())
        if not communes:
            raise ConfigInvalid(
                where,
                "territoire.epci",
                f"aucune commune pour l'EPCI {section.epci}",
                "vérifiez le SIREN de l'EPCI dans le référentiel des communes",
            )
    _check_codes(where, "territoire.communes", communes, ref)
    for i, point in enumerate(parsed.points_service):
        _check_codes(where, f"points_service[{i}].commune", (point.commune,), ref)
    for i, perimeter in enumerate(parsed.perimetres):
        _check_codes(where, f"perimetres[{i}].communes", tuple(perimeter.communes), ref)
    return Territory(
        nom=section.nom,
        epci=section.epci,
        communes=communes,
        service_points=tuple(parsed.points_service),
        remoteness=parsed.eloignement,
        perimeters=tuple(parsed.perimetres),
        national=section.national,
    )


def _check_codes(where: str, key: str, codes: tuple[str, ...], ref: CommuneReference) -> None:
    unknown = [c for c in codes if c not in ref]
    if unknown:
        raise ConfigInvalid(
            where,
            key,
            f"code commune inconnu `{unknown[0]}`",
            "utilisez un code INSEE du référentiel (5 caractères, par exemple 04088)",
        )
