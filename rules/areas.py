"""Where a parameter's values hold (`champ`): metropolitan France and the overseas departments.

Some scales differ overseas: the housing benefit has its own rent ceilings and charges in the
overseas departments, and Mayotte has its own RSA, prime d'activité and SMIC. A parameter whose
values hold only in part of France says so in its `champ`; a rule reading it then flags only the
households living there (known by their commune's department), instead of estimating an amount
on another territory's scale.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

METROPOLE = "métropole"
# Area → its department code (métropole: every commune outside the overseas codes, 97x and 98x).
AREAS: dict[str, str | None] = {
    METROPOLE: None,
    "Guadeloupe": "971",
    "Martinique": "972",
    "Guyane": "973",
    "La Réunion": "974",
    "Mayotte": "976",
}
EVERYWHERE = frozenset(AREAS)
# Commune codes of the overseas collectivities that are none of the areas (Saint-Pierre-et-Miquelon,
# Saint-Barthélemy, Saint-Martin, and the Pacific ones): outside every `champ`.
_ELSEWHERE = ("975", "977", "978", "98")
_OVERSEAS = ("97", "98")


def area_of(code_commune: str) -> str | None:
    """The area of a commune (`97411` → « La Réunion »); None for an overseas collectivity that is
    none of the areas (Saint-Pierre-et-Miquelon, Saint-Martin…)."""
    if not code_commune.startswith(_OVERSEAS):
        return METROPOLE
    department = code_commune[:3]
    return next((name for name, code in AREAS.items() if code == department), None)


def in_areas_expr(areas: frozenset[str], column: str = "code_commune") -> pl.Expr | None:
    """True for the households whose commune lies in `areas`; None when `areas` is everywhere.

    Written with `starts_with` on the code, the cheapest test at national scale (a slice of the
    code to compare departments costs about twice as much): the departments that are in, or
    those that are out when metropolitan France is in, whichever are fewer."""
    if areas >= EVERYWHERE:
        return None
    code = pl.col(column).str
    inside = [c for name, c in AREAS.items() if c is not None and name in areas]
    if METROPOLE not in areas:
        return _starting_with(code, inside)
    outside = [c for name, c in AREAS.items() if c is not None and name not in areas] + list(_ELSEWHERE)
    if len(outside) <= len(inside) + len(_OVERSEAS):
        return ~_starting_with(code, outside)
    metropolitan = ~_starting_with(code, list(_OVERSEAS))
    return metropolitan | _starting_with(code, inside) if inside else metropolitan


def _starting_with(code: pl.expr.string.ExprStringNameSpace, prefixes: list[str]) -> pl.Expr:
    return functools.reduce(operator.or_, (code.starts_with(prefix) for prefix in prefixes))


def ordered_areas(areas: Iterable[str]) -> list[str]:
    """The areas in their usual order (métropole, then the departments by number)."""
    wanted = set(areas)
    return [name for name in AREAS if name in wanted]


def areas_text(areas: Iterable[str]) -> str:
    """The areas in their usual order, for a reader: « métropole, Guadeloupe, La Réunion »."""
    return ", ".join(ordered_areas(areas))


def outside_areas(codes: Iterable[str], areas: frozenset[str]) -> list[str]:
    """The commune codes among `codes` that lie outside `areas`, sorted."""
    return sorted(code for code in codes if area_of(code) not in areas)


@dataclass(frozen=True)
class LeftOut:
    """A rule that does not flag the households of some of a territory's communes."""

    rule_id: str
    areas: tuple[str, ...]  # the rule's `champ`, in the usual order
    communes: int  # how many of the territory's communes lie outside it
    where: tuple[str, ...] = ()  # the areas those communes are in

    def text(self) -> str:
        """What a reader of a run or of the installation check is told."""
        where = f" ({areas_text(self.where)})" if self.where else ""
        return (
            f"{self.rule_id} ne signale pas les foyers de {self.communes} commune(s) du territoire{where} : "
            f"hors de son champ (« uptake rules explain {self.rule_id} »)"
        )

    def record(self) -> dict[str, object]:
        """JSON-ready, as kept with a run (`of_record` reads it back)."""
        return {"champ": list(self.areas), "communes": self.communes, "territoires": list(self.where)}

    @classmethod
    def of_record(cls, rule_id: str, kept: Mapping[str, Any]) -> LeftOut:
        """The `record()` kept with a run, read back."""
        return cls(
            rule_id,
            tuple(str(a) for a in kept.get("champ", ())),
            int(kept.get("communes", 0)),
            tuple(str(a) for a in kept.get("territoires", ())),
        )
