"""The whitelisted functions of the rule language: their signature and their polars translation."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from rules.geography import Geography
from rules.language import Node, Number, String
from rules.types import BOOLEAN, DATE, NUMBER, TEXT, Type


@dataclass(frozen=True)
class CompileContext:
    """What a function needs at compile time: the reference month and the geography."""

    month: datetime.date
    geography: Geography


Compile = Callable[[Sequence[pl.Expr], Sequence[Node], CompileContext], pl.Expr]


@dataclass(frozen=True)
class Function:
    """A function rules may call; `args` gives each argument's type (the last one repeats if `variadic`)."""

    name: str
    args: tuple[Type, ...]
    result: Type
    compile: Compile
    description: str
    optional: int = 0  # how many trailing arguments may be left out
    variadic: bool = False
    literal_args: tuple[int, ...] = ()  # positions that must be written as literals
    reads_commune: bool = False  # needs `code_commune` declared in `lit`

    @property
    def arity(self) -> str:
        """The accepted number of arguments, in French."""
        low, high = len(self.args) - self.optional, len(self.args)
        if self.variadic:
            return f"au moins {low}"
        return str(low) if low == high else f"{low} ou {high}"

    def accepts(self, count: int) -> bool:
        low = len(self.args) - self.optional
        return count >= low if self.variadic else low <= count <= len(self.args)

    def arg_type(self, index: int) -> Type:
        return self.args[min(index, len(self.args) - 1)]


def _literal(node: Node) -> float:
    assert isinstance(node, Number)
    return node.value


def _extreme(horizontal: Callable[..., pl.Expr]) -> Compile:
    """`min`/`max` whose result is empty when one argument is: polars' horizontal versions skip
    nulls, so `min(loyer, plafond)` with a plafond missing (key outside its table) would silently
    give the uncapped rent."""

    def compile_(e: Sequence[pl.Expr], _: Sequence[Node], __: CompileContext) -> pl.Expr:
        any_empty = pl.any_horizontal(*(x.is_null() for x in e))
        return pl.when(any_empty).then(None).otherwise(horizontal(*e))

    return compile_


def _round(e: Sequence[pl.Expr], n: Sequence[Node], _: CompileContext) -> pl.Expr:
    decimals = int(_literal(n[1])) if len(n) > 1 else 0
    return e[0].round(decimals)


def _ceil_to(e: Sequence[pl.Expr], n: Sequence[Node], _: CompileContext) -> pl.Expr:
    step = _literal(n[1])
    return (e[0] / step).ceil() * step


def _floor_to(e: Sequence[pl.Expr], n: Sequence[Node], _: CompileContext) -> pl.Expr:
    step = _literal(n[1])
    return (e[0] / step).floor() * step


def _months_since(e: Sequence[pl.Expr], _: Sequence[Node], ctx: CompileContext) -> pl.Expr:
    month_index = ctx.month.year * 12 + ctx.month.month
    return pl.lit(month_index) - (e[0].dt.year().cast(pl.Int32) * 12 + e[0].dt.month().cast(pl.Int32))


def _perimeter(_: Sequence[pl.Expr], n: Sequence[Node], ctx: CompileContext) -> pl.Expr:
    assert isinstance(n[0], String)
    return ctx.geography.perimeter_expr(n[0].value)


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function(
            "min",
            (NUMBER, NUMBER),
            NUMBER,
            _extreme(pl.min_horizontal),
            "le plus petit des nombres (vide si l'un est vide)",
            variadic=True,
        ),
        Function(
            "max",
            (NUMBER, NUMBER),
            NUMBER,
            _extreme(pl.max_horizontal),
            "le plus grand des nombres (vide si l'un est vide)",
            variadic=True,
        ),
        Function(
            "arrondi",
            (NUMBER, NUMBER),
            NUMBER,
            _round,
            "arrondi au nombre de décimales donné (0 par défaut)",
            optional=1,
            literal_args=(1,),
        ),
        Function(
            "arrondi_superieur",
            (NUMBER, NUMBER),
            NUMBER,
            _ceil_to,
            "arrondi au multiple supérieur du pas donné (ex. 100)",
            literal_args=(1,),
        ),
        Function(
            "arrondi_inferieur",
            (NUMBER, NUMBER),
            NUMBER,
            _floor_to,
            "arrondi au multiple inférieur du pas donné",
            literal_args=(1,),
        ),
        Function(
            "mois_depuis",
            (DATE,),
            NUMBER,
            _months_since,
            "nombre de mois entre la date et le mois de référence du traitement",
        ),
        Function(
            "distance_services",
            (),
            NUMBER,
            lambda e, n, c: c.geography.distance_expr(),
            "distance (km) de la commune du foyer au point de service le plus proche",
            reads_commune=True,
        ),
        Function(
            "commune_eloignee",
            (),
            BOOLEAN,
            lambda e, n, c: c.geography.remote_expr(),
            "la commune du foyer est parmi les plus éloignées des services",
            reads_commune=True,
        ),
        Function(
            "dans_territoire",
            (),
            BOOLEAN,
            lambda e, n, c: c.geography.in_territory_expr(),
            "la commune du foyer est dans le territoire de la convention",
            reads_commune=True,
        ),
        Function(
            "dans_perimetre",
            (TEXT,),
            BOOLEAN,
            _perimeter,
            "la commune du foyer est dans un périmètre OPAH/PIG (type ou nom du périmètre)",
            literal_args=(0,),
            reads_commune=True,
        ),
    )
}
