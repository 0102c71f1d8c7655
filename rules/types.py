"""The types of the rule language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TypeKind = Literal["nombre", "booleen", "texte", "date"]

# Contract column kinds → language types.
KIND_TO_TYPE: dict[str, TypeKind] = {
    "int": "nombre",
    "float": "nombre",
    "bool": "booleen",
    "string": "texte",
    "enum": "texte",
    "date": "date",
}


@dataclass(frozen=True)
class Type:
    """A value's type; `values` lists the allowed strings of an enum column."""

    kind: TypeKind
    values: tuple[str, ...] | None = None
    integer: bool = False  # counts are shown as such, amounts as euros
    # Decimals an explanation shows: those kept by `arrondi(x, n)`, else whole units.
    decimals: int = 0

    def __str__(self) -> str:
        return {
            "nombre": "un nombre",
            "booleen": "un booléen (vrai/faux)",
            "texte": "un texte",
            "date": "une date",
        }[self.kind]


NUMBER = Type("nombre")
INTEGER = Type("nombre", integer=True)
BOOLEAN = Type("booleen")
TEXT = Type("texte")
DATE = Type("date")
