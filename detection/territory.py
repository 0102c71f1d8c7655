"""The territory configuration (`config/territoire.toml`): communes, service points, perimeters.

Loading validates everything against the commune reference and reports a bad file with its
path, the line, the key and the fix, every mistake of the file at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detection.errors import ConfigInvalid
from detection.reference import Commune, CommuneReference, haversine_km, load_reference
from privacy.canonical import communes_by_time_zone
from privacy.config_errors import ConfigProblem, ConfigRefused, key_line, key_path, read_config

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

    @model_validator(mode="after")
    def _both_coordinates_or_none(self) -> ServicePoint:
        # One coordinate alone would be dropped for the town hall's point without a word.
        if (self.latitude is None) != (self.longitude is None):
            given, missing = (
                ("latitude", "longitude") if self.longitude is None else ("longitude", "latitude")
            )
            raise ConfigRefused(
                f"point de service « {self.nom} » : `{given}` est donnée sans `{missing}`",
                f"ajoutez `{missing}` (ou retirez `{given}` : le point sera la mairie de la commune)",
            )
        return self


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


# How far a service point's own coordinates may lie from its commune's town hall (the reference's
# point). No commune of metropolitan France or of the islands reaches 45 km from its town hall: the
# widest, Arles (759 km²), has its hamlet of Salin-de-Giraud 31 km away and the beach of Piémanson
# 38 km away, so the 25 km a Réunion commune would allow refuses Arles' own annex. French Guiana's
# inland communes are far wider (Maripasoula, 18,360 km², reaches the Brazilian border some 180 km
# south of its town hall; Trois-Sauts is 115 km from Camopi's). The reference holds town halls, not
# boundaries, but agrees: the town halls farthest from any other are Guiana's (Camopi 100 km,
# Saül 93 km, Saint-Élie 71 km), then Saintes-Maries-de-la-Mer (23 km, next to Arles), once the
# reference's own mistakes are corrected (`data/communes-corrections.csv`). A latitude and longitude
# swapped, or a sign dropped, lands thousands of km away; a degree mistyped, 80 to 110 km away:
# caught everywhere but in French Guiana.
POINT_MAX_KM = 45.0
POINT_MAX_KM_BY_DEPARTMENT = {"973": 250.0}


@dataclass(frozen=True)
class _Mistake:
    """One mistake of the file, at its pydantic-style location (for the key and the line)."""

    loc: tuple[str | int, ...]
    problem: str
    fix: str


def load_territory(path: Path, reference: CommuneReference | None = None) -> Territory:
    """Read and validate a territory file; its mistakes raise one `ConfigInvalid` listing them all.

    The file is read in two passes: its form first (types, keys, values: every mistake pydantic
    finds), then, once well formed, what it names against the reference (codes, perimeters within
    the territory, service points' coordinates, one time zone).
    """
    ref = reference or load_reference()
    where = str(path)
    try:
        parsed = read_config(path, _TerritoryFile, _FIXES)
    except ConfigProblem as problem:
        raise _invalid(where, [(p.loc, p.line, p.problem, p.fix) for p in problem.problems]) from None

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
                line=key_line(path.read_text(encoding="utf-8"), ("territoire", "epci")),
            )
    scope_key = "national" if section.national else "communes" if section.communes else "epci"
    mistakes = _unknown_codes(("territoire", scope_key), communes, ref)
    if not section.national:
        mistakes += _time_zone_mistakes(("territoire", scope_key), communes, ref)
    for i, point in enumerate(parsed.points_service):
        mistakes += _point_mistakes(("points_service", i), point, ref)
    inside = frozenset(communes)
    for i, perimeter in enumerate(parsed.perimetres):
        mistakes += _perimeter_mistakes(("perimetres", i, "communes"), perimeter, inside, ref)
    if mistakes:
        # Read again for the lines only: read_config has just read it, as UTF-8.
        text = path.read_text(encoding="utf-8")
        raise _invalid(where, [(m.loc, key_line(text, m.loc), m.problem, m.fix) for m in mistakes])
    return Territory(
        nom=section.nom,
        epci=section.epci,
        communes=communes,
        service_points=tuple(parsed.points_service),
        remoteness=parsed.eloignement,
        perimeters=tuple(parsed.perimetres),
        national=section.national,
    )


def _invalid(
    where: str, found: list[tuple[tuple[str | int, ...] | None, int | None, str, str]]
) -> ConfigInvalid:
    """One error for all the mistakes, in the file's order; keys count blocks and items from 1."""
    errors = [
        ConfigInvalid(where, None if loc is None else key_path(loc, numbered=True), problem, fix, line=line)
        for loc, line, problem, fix in found
    ]
    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return ConfigInvalid(
        where, errors[0].key, errors[0].problem, errors[0].fix, line=errors[0].line, also=errors[1:]
    )


def _named(commune: Commune) -> str:
    return f"{commune.code} {commune.nom}"


def _listed(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" et {more} autre{'s' if more > 1 else ''}" if more > 0 else "")


def _unknown_codes(
    loc: tuple[str | int, ...], codes: tuple[str, ...], ref: CommuneReference
) -> list[_Mistake]:
    unknown = [f"`{c}`" for c in codes if c not in ref]
    if not unknown:
        return []
    said = "code commune inconnu" if len(unknown) == 1 else "codes communes inconnus"
    return [
        _Mistake(
            loc,
            f"{said} {_listed(unknown)}",
            "utilisez un code INSEE du référentiel (5 caractères, par exemple 04088)",
        )
    ]


def _time_zone_mistakes(
    loc: tuple[str | int, ...], communes: tuple[str, ...], ref: CommuneReference
) -> list[_Mistake]:
    """A Caf's territory lives in one time zone: the days, the calling hours and the SMS windows are
    its. A commune of another department left among them would be called at night."""
    zones = communes_by_time_zone(c for c in communes if c in ref)
    if len(zones) < 2:
        return []
    # The fewest first: usually the communes left over by mistake.
    told = " ; ".join(
        f"{zone} : {_listed([_named(ref.get(code)) for code in codes])}"
        for zone, codes in sorted(zones.items(), key=lambda item: len(item[1]))
    )
    return [
        _Mistake(
            loc,
            f"les communes du territoire sont dans {len(zones)} fuseaux horaires ({told}) : SMS et appels "
            "partiraient à de mauvaises heures pour une partie d'entre elles",
            "gardez les seules communes de votre Caf, toutes dans un fuseau (pour la France entière, "
            "écrivez `national = true`)",
        )
    ]


def _point_mistakes(loc: tuple[str | int, ...], point: ServicePoint, ref: CommuneReference) -> list[_Mistake]:
    if point.commune not in ref:
        return _unknown_codes((*loc, "commune"), (point.commune,), ref)
    town_hall = ref.get(point.commune)
    if point.latitude is None or point.longitude is None:
        return []  # at its town hall: every commune of the reference has one (tests/detection)
    limit = POINT_MAX_KM_BY_DEPARTMENT.get(point.commune[:3], POINT_MAX_KM)
    km = haversine_km(point.latitude, point.longitude, town_hall.latitude, town_hall.longitude)
    if km <= limit:
        return []
    away = (
        f"point de service « {point.nom} » : latitude {point.latitude} et longitude {point.longitude} le "
        f"placent à {_km(km)} de la mairie de {_named(town_hall)}, plus loin qu'une commune ne s'étend "
        f"({_km(limit)} au plus)"
    )
    swapped = haversine_km(point.longitude, point.latitude, town_hall.latitude, town_hall.longitude)
    if swapped <= limit:
        return [
            _Mistake(
                (*loc, "latitude"),
                f"{away} : latitude et longitude inversées ?",
                f"écrivez latitude = {point.longitude} et longitude = {point.latitude}",
            )
        ]
    return [
        _Mistake(
            (*loc, "latitude"),
            away,
            "vérifiez les coordonnées (en degrés décimaux, la latitude d'abord ; la mairie de "
            f"{town_hall.nom} est à latitude {town_hall.latitude}, longitude {town_hall.longitude}) ou la "
            "commune du point",
        )
    ]


def _km(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") + "\u202fkm"


def _perimeter_mistakes(
    loc: tuple[str | int, ...], perimeter: Perimeter, inside: frozenset[str], ref: CommuneReference
) -> list[_Mistake]:
    mistakes = _unknown_codes(loc, tuple(perimeter.communes), ref)
    # Counted, a commune outside the territory would make the perimeter look larger than the
    # territory's part of it, and rules would name households the territory does not hold.
    outside = [_named(ref.get(c)) for c in perimeter.communes if c in ref and c not in inside]
    if outside:
        one = len(outside) == 1
        mistakes.append(
            _Mistake(
                loc,
                f"périmètre « {perimeter.nom} » : {'la commune' if one else 'les communes'} "
                f"{_listed(outside)} {'est' if one else 'sont'} hors du territoire",
                f"retirez-{'la' if one else 'les'} du périmètre : il ne compte que les communes du "
                "territoire",
            )
        )
    return mistakes
