"""Type-checking of rule expressions before any run: names, types, functions, parameters, perimeters.

Problems are collected (not raised) with their position inside the expression, so that the
catalogue loader can report every problem of every file at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import polars as pl

from rules.errors import suggest as suggest  # re-exported: callers import it from here
from rules.formatting import display
from rules.functions import FUNCTIONS
from rules.language import (
    Binary,
    Boolean,
    Call,
    Compare,
    Cond,
    Logical,
    Lookup,
    Member,
    Name,
    Negate,
    Node,
    Not,
    Number,
    String,
    unparse,
)
from rules.parameters import FRACTION, Parameter, Parameters
from rules.types import BOOLEAN, INTEGER, KIND_TO_TYPE, NUMBER, TEXT, Type


@dataclass(frozen=True)
class ExprProblem:
    """A problem at (line, column) of an expression."""

    line: int
    column: int
    message: str
    hint: str = ""


@dataclass
class Scope:
    """Everything a rule's expressions may name."""

    columns: Mapping[str, str]  # contract column → kind
    enums: Mapping[str, tuple[str, ...]]
    declared: frozenset[str]  # the rule's `lit`
    parameters: Parameters
    perimeters: frozenset[str] | None  # None: not known yet, checked at compile time
    values: dict[str, Type] = field(default_factory=dict)  # named values defined so far
    settings: dict[str, Type] = field(default_factory=dict)
    shared: Mapping[str, Type] = field(default_factory=dict)  # catalogue-wide formulas
    broken: set[str] = field(default_factory=set)  # values already reported as wrong
    # Contract bounds of the integer columns (min, max; None when open), for table look-ups.
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    # Names that are no column, told apart for the author: the value being defined, the values
    # defined further down (name → file line), what each value's text names (to find cycles),
    # and the values of the other rules (name → rule id).
    current: str | None = None
    pending: dict[str, int] = field(default_factory=dict)
    references: Mapping[str, frozenset[str]] = field(default_factory=dict)
    elsewhere: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Usage:
    """What the checked expressions use."""

    columns: set[str] = field(default_factory=set)
    parameters: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)
    shared: set[str] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)
    reads_commune: bool = False
    # Keys each table is looked up with, when the contract bounds them (table → keys).
    table_keys: dict[str, set[int]] = field(default_factory=dict)
    # Look-ups whose key is a whole number (a count, a zone): compiled as one gather.
    integer_lookups: set[Lookup] = field(default_factory=set)


Range = tuple[float, float]
# Beyond this many possible keys a look-up is not checked against its table (no real table is so big).
_MAX_KEYS = 1000


class Checker:
    """Checks expressions against one scope; collects problems and usage."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[ExprProblem] = []
        self.usage = Usage()
        # Ranges of integer columns narrowed by the `si … alors … sinon` being checked.
        self._narrowed: dict[str, Range] = {}

    def check(self, node: Node, expected: Type | None = None, what: str = "l'expression") -> Type | None:
        """The type of `node`, or None after recording why it has none."""
        found = self._type(node)
        if found is not None and expected is not None and found.kind != expected.kind:
            self._fail(node, f"{what} doit être {expected}, pas {found}")
            return None
        return found

    def _fail(self, node: Node, message: str, hint: str = "") -> None:
        self.problems.append(ExprProblem(node.line, node.column, message, hint))

    def _type(self, node: Node) -> Type | None:
        if isinstance(node, Number):
            return INTEGER if node.is_integer else NUMBER
        if isinstance(node, String):
            return TEXT
        if isinstance(node, Boolean):
            return BOOLEAN
        if isinstance(node, Name):
            return self._name(node)
        if isinstance(node, Lookup):
            return self._lookup(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Negate):
            return self.check(node.operand, NUMBER, "l'opposé `-`")
        if isinstance(node, Binary):
            left = self.check(node.left, NUMBER, f"l'opérande de `{node.op}`")
            right = self.check(node.right, NUMBER, f"l'opérande de `{node.op}`")
            if left is None or right is None:
                return None
            integer = left.integer and right.integer and node.op != "/"
            return INTEGER if integer else NUMBER  # decimals shown again as whole units
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Member):
            return self._member(node)
        if isinstance(node, Logical):
            left = self.check(node.left, BOOLEAN, f"l'opérande de `{node.op}`")
            # The right operand counts only where the left holds (`et`) or not (`ou`): checked so.
            outer = self._narrowed
            self._narrowed = {**outer, **self._narrow(node.left, node.op == "et")}
            right = self.check(node.right, BOOLEAN, f"l'opérande de `{node.op}`")
            self._narrowed = outer
            return BOOLEAN if left and right else None
        if isinstance(node, Not):
            return BOOLEAN if self.check(node.operand, BOOLEAN, "l'opérande de `non`") else None
        if isinstance(node, Cond):
            return self._cond(node)
        self._fail(node, "construction non permise")
        return None

    def _name(self, node: Name) -> Type | None:
        scope = self.scope
        if len(node.parts) > 1:
            return self._parameter(node, table=False)
        name = node.parts[0]
        if name in scope.broken:
            return None  # its own error is already reported: no cascade
        if name in scope.values:
            self.usage.values.add(name)
            return scope.values[name]
        if name in scope.settings:
            self.usage.settings.add(name)
            return scope.settings[name]
        if name in scope.shared:
            self.usage.shared.add(name)
            return scope.shared[name]
        if name in scope.columns:
            if name not in scope.declared:
                self._fail(
                    node,
                    f"la colonne `{name}` n'est pas déclarée dans `lit`",
                    f"ajoutez `{name}` à la liste `lit` de la règle (minimisation des données)",
                )
                return None
            self.usage.columns.add(name)
            kind = scope.columns[name]
            values = scope.enums.get(name) if kind == "enum" else None
            return Type(KIND_TO_TYPE[kind], values, integer=kind == "int")
        if name in FUNCTIONS:
            self._fail(node, f"`{name}` est une fonction", f"appelez-la : `{name}(…)`")
            return None
        if self._not_yet_defined(node, name):
            return None
        # Names the rule already uses are the likeliest meant: suggest among them first.
        near = [*scope.declared, *scope.values, *scope.settings, *scope.shared]
        hint = suggest(name, near) or suggest(name, scope.columns) or "voir le contrat d'extrait v1"
        self._fail(node, f"colonne inconnue `{name}`", hint)
        return None

    def _not_yet_defined(self, node: Name, name: str) -> bool:
        """Report a name that is a value, but not one this expression may read; False otherwise."""
        scope = self.scope
        if name == scope.current:
            self._fail(
                node,
                f"la valeur `{name}` se cite elle-même",
                "une valeur se calcule à partir d'autres noms : retirez cette référence",
            )
            return True
        if name in scope.pending:
            cycle = self._cycle(name)
            if cycle:
                self._fail(
                    node,
                    f"référence circulaire {' → '.join(cycle)}",
                    "une valeur ne peut dépendre d'elle-même, même par d'autres valeurs",
                )
            else:
                self._fail(
                    node,
                    f"valeur `{name}` définie plus bas (ligne {scope.pending[name]})",
                    f"les valeurs se lisent dans l'ordre : placez `{name}` avant `{scope.current}`",
                )
            return True
        if name in scope.elsewhere:
            self._fail(
                node,
                f"`{name}` est une valeur de la règle {scope.elsewhere[name]}, pas de celle-ci",
                "une règle ne lit pas les valeurs d'une autre : mettez la formule dans _formules.yaml "
                "pour la partager",
            )
            return True
        return False

    def _cycle(self, start: str) -> list[str]:
        """current → start → … → current through the values still to come, or [] when none."""
        current = self.scope.current
        if current is None:
            return []
        paths: list[list[str]] = [[current, start]]
        seen = {start}
        while paths:
            path = paths.pop(0)
            for name in sorted(self.scope.references.get(path[-1], frozenset())):
                if name == current:
                    return [*path, current]
                if name in self.scope.pending and name not in seen:
                    seen.add(name)
                    paths.append([*path, name])
        return []

    def _parameter(self, node: Name, *, table: bool) -> Type | None:
        name = node.dotted
        parameters = self.scope.parameters
        if name not in parameters:
            folder = parameters.folder or "rules/parametres"
            self._fail(
                node,
                f"paramètre inconnu `{name}`",
                suggest(name, parameters.by_name) or f"les paramètres sont dans {folder}/",
            )
            return None
        self.usage.parameters.add(name)
        if parameters.get(name).is_table != table:
            if table:
                self._fail(node, f"`{name}` n'est pas une table", "retirez `[…]`")
            else:
                self._fail(node, f"`{name}` est une table", f"précisez la clé : `{name}[…]`")
            return None
        return NUMBER

    def _lookup(self, node: Lookup) -> Type | None:
        if len(node.name.parts) < 2:
            self._fail(
                node, "`[…]` n'est permis que sur un paramètre (ex. `al.plafond_loyer_seul[zone_logement]`)"
            )
            return None
        key = self.check(node.key, NUMBER, "la clé de la table")
        found = self._parameter(node.name, table=True)
        if key is None or found is None:
            return None
        if key.integer:
            self.usage.integer_lookups.add(node)
        self._table_covers(node)
        return found

    def _table_covers(self, node: Lookup) -> None:
        """Refuse a table whose dated values lack a key the contract allows here: the look-up
        would be empty for those households."""
        span = self._range(node.key)
        if span is None:
            return
        name = node.name.dotted
        parameter = self.scope.parameters.get(name)
        if span[1] - span[0] > _MAX_KEYS:
            self._unbounded_key(node, span, parameter)
            return
        needed = set(range(int(span[0]), int(span[1]) + 1))
        self.usage.table_keys.setdefault(name, set()).update(needed)
        for version in parameter.versions:
            assert isinstance(version.value, dict)
            missing = sorted(needed - set(version.value))
            if missing:
                keys = ", ".join(str(k) for k in missing)
                self._fail(
                    node,
                    f"la table `{name}` n'a pas la clé {keys} dans sa valeur depuis le "
                    f"{version.since:%d/%m/%Y} ({parameter.where(version)}), alors que la clé "
                    f"`{unparse(node.key)}` peut valoir de {int(span[0])} à {int(span[1])} "
                    "(contrat d'extrait)",
                    "ajoutez la clé manquante à cette valeur, avec le montant du texte cité",
                )

    def _unbounded_key(self, node: Lookup, span: Range, parameter: Parameter) -> None:
        """A key the contract does not bound (`impaye_loyer_mois`) goes past the table's last key:
        the look-up would be empty for those households, and their flag lost without a word."""
        keys = sorted(set().union(*(set(v.value) for v in parameter.versions if isinstance(v.value, dict))))
        key, table = unparse(node.key), node.name.dotted
        low, high = span
        if math.isfinite(low) and math.isfinite(high):
            takes = f"peut valoir de {low:g} à {high:g}"
        elif math.isfinite(low):
            takes = f"peut valoir {low:g} ou plus (le contrat d'extrait ne lui donne pas de maximum)"
        elif math.isfinite(high):
            takes = f"peut valoir {high:g} ou moins (le contrat d'extrait ne lui donne pas de minimum)"
        else:
            takes = "peut prendre toute valeur (le contrat d'extrait ne la borne pas)"
        bounded = f"min({key}, {keys[-1]})" if low >= keys[0] else f"min(max({key}, {keys[0]}), {keys[-1]})"
        self._fail(
            node,
            f"la clé `{key}` {takes}, alors que la table `{table}` n'a que les clés {keys[0]} à {keys[-1]} : "
            "la recherche serait vide pour les autres foyers",
            f"bornez la clé, ex. `{table}[{bounded}]` (la dernière clé vaut alors pour les plus grandes "
            "valeurs)",
        )

    def _range(self, node: Node) -> Range | None:
        """The integers `node` may take given the contract bounds, or None when not known."""
        if isinstance(node, Number):
            return (node.value, node.value) if node.is_integer else None
        if isinstance(node, Name) and len(node.parts) == 1:
            name = node.parts[0]
            if name in self._narrowed:
                return self._narrowed[name]
            if self.scope.columns.get(name) != "int" or name not in self.scope.bounds:
                return None
            low, high = self.scope.bounds[name]
            return (-math.inf if low is None else low, math.inf if high is None else high)
        if isinstance(node, Call) and node.function in ("min", "max") and node.args:
            spans = [self._range(a) for a in node.args]
            if any(s is None for s in spans):
                return None
            lows, highs = [s[0] for s in spans if s], [s[1] for s in spans if s]
            pick = min if node.function == "min" else max
            return (pick(lows), pick(highs))
        if isinstance(node, Binary) and node.op in ("+", "-"):
            left, right = self._range(node.left), self._range(node.right)
            if left is None or right is None:
                return None
            if node.op == "+":
                return (left[0] + right[0], left[1] + right[1])
            return (left[0] - right[1], left[1] - right[0])
        return None

    def assume(self, node: Node) -> None:
        """What the rule checks next is evaluated where `node` holds (its conditions, one after the
        other, all required): narrow the integer columns it bounds."""
        self._narrowed = {**self._narrowed, **self._narrow(node, True)}

    def _narrow(self, test: Node, holds: bool) -> dict[str, Range]:
        """Ranges of integer columns where `test` holds (or not): `si nb_enfants == 0 … sinon`
        looks tables up with `nb_enfants` ≥ 1 in its `sinon`."""
        if isinstance(test, Logical) and (test.op == "et") == holds:
            # Both hold (`a et b`), or neither (`non (a ou b)`): the right one narrows what the left
            # left, so the ranges meet rather than the last replacing the first.
            left = self._narrow(test.left, holds)
            outer = self._narrowed
            self._narrowed = {**outer, **left}
            right = self._narrow(test.right, holds)
            self._narrowed = outer
            return {**left, **right}
        if isinstance(test, Not):
            return self._narrow(test.operand, not holds)
        if not (
            isinstance(test, Compare)
            and isinstance(test.left, Name)
            and isinstance(test.right, Number)
            and test.right.is_integer
        ):
            return {}
        span = self._range(test.left)
        if span is None:
            return {}
        low, high = span
        k = test.right.value
        op = test.op if holds else _NEGATED[test.op]
        if op == "==":
            low, high = max(low, k), min(high, k)
        elif op == "!=":
            low, high = (low + 1 if low == k else low), (high - 1 if high == k else high)
        elif op == ">":
            low = max(low, k + 1)
        elif op == ">=":
            low = max(low, k)
        elif op == "<":
            high = min(high, k - 1)
        else:
            high = min(high, k)
        return {test.left.parts[0]: (low, high)}

    def _call(self, node: Call) -> Type | None:
        function = FUNCTIONS.get(node.function)
        if function is None:
            self._fail(
                node,
                f"fonction inconnue `{node.function}`",
                suggest(node.function, FUNCTIONS) or f"fonctions permises : {', '.join(sorted(FUNCTIONS))}",
            )
            return None
        if not function.accepts(len(node.args)):
            self._fail(
                node,
                f"`{node.function}` attend {function.arity} argument(s), pas {len(node.args)}",
                function.description,
            )
            return None
        ok = True
        decimals = 0
        integers = node.function in ("min", "max")  # the least or greatest of whole numbers is one
        for index, arg in enumerate(node.args):
            if index in function.literal_args and not isinstance(arg, Number | String):
                self._fail(arg, f"l'argument {index + 1} de `{node.function}` doit être écrit tel quel")
                ok = False
                continue
            found = self.check(arg, function.arg_type(index), f"l'argument {index + 1} de `{node.function}`")
            ok = found is not None and ok
            if found is not None and node.function in ("min", "max"):
                decimals = max(decimals, found.decimals)
                integers = integers and found.integer
        step = node.args[1] if len(node.args) > 1 else None
        if node.function.startswith("arrondi_") and isinstance(step, Number) and step.value <= 0:
            self._fail(step, f"le pas de `{node.function}` doit être positif", "par exemple 100")
            ok = False
        if node.function == "arrondi" and isinstance(step, Number):
            if not step.is_integer:
                self._fail(step, "`arrondi` attend un nombre entier de décimales", "par exemple 2")
                ok = False
            decimals = max(0, int(step.value))
        if function.reads_commune:
            self.usage.reads_commune = True
            if "code_commune" not in self.scope.declared:
                self._fail(node, f"`{node.function}()` lit `code_commune`", "ajoutez `code_commune` à `lit`")
                ok = False
        if node.function == "dans_perimetre" and node.args and isinstance(node.args[0], String):
            ok = self._perimeter(node.args[0]) and ok
        if not ok:
            return None
        if integers:
            return INTEGER
        return replace(function.result, decimals=decimals) if decimals else function.result

    def _perimeter(self, arg: String) -> bool:
        known = self.scope.perimeters
        if known is None or arg.value in known:
            return True
        self._fail(
            arg,
            f"périmètre inconnu `{arg.value}`",
            suggest(arg.value, known) or f"périmètres configurés : {', '.join(sorted(known)) or 'aucun'}",
        )
        return False

    def _compare(self, node: Compare) -> Type | None:
        left, right = self._type(node.left), self._type(node.right)
        if left is None or right is None:
            return None
        if node.op in ("<", "<=", ">", ">="):
            if left.kind != "nombre" or right.kind != "nombre":
                self._fail(node, f"`{node.op}` compare deux nombres, pas {left} et {right}")
                return None
            return BOOLEAN
        if left.kind != right.kind:
            self._fail(
                node, f"`{node.op}` compare {left} et {right}", "les deux côtés doivent être du même type"
            )
            return None
        self._enum_value(left, node.right)
        self._enum_value(right, node.left)
        return BOOLEAN

    def _enum_value(self, declared: Type, other: Node) -> None:
        if declared.values is not None and isinstance(other, String) and other.value not in declared.values:
            self._fail(
                other,
                f"valeur `{other.value}` impossible",
                suggest(other.value, declared.values) or f"valeurs permises : {', '.join(declared.values)}",
            )

    def _member(self, node: Member) -> Type | None:
        operand = self._type(node.operand)
        if operand is None:
            return None
        ok = True
        for option in node.options:
            if not isinstance(option, Number | String):
                self._fail(option, "`dans (…)` n'accepte que des valeurs écrites telles quelles")
                ok = False
                continue
            option_type = self._type(option)
            if option_type is not None and option_type.kind != operand.kind:
                self._fail(option, f"la valeur doit être {operand}, pas {option_type}")
                ok = False
                continue
            self._enum_value(operand, option)
        return BOOLEAN if ok else None

    def _cond(self, node: Cond) -> Type | None:
        test = self.check(node.test, BOOLEAN, "la condition de `si`")
        outer = self._narrowed
        when_true, when_false = self._narrow(node.test, True), self._narrow(node.test, False)
        self._narrowed = {**outer, **when_true}
        then = self._type(node.then)
        self._narrowed = {**outer, **when_false}
        otherwise = self._type(node.otherwise)
        self._narrowed = outer
        if test is None or then is None or otherwise is None:
            return None
        if then.kind != otherwise.kind:
            self._fail(
                node,
                f"`alors` donne {then} mais `sinon` donne {otherwise}",
                "les deux branches doivent concorder",
            )
            return None
        return Type(
            then.kind,
            then.values,
            then.integer and otherwise.integer,
            max(then.decimals, otherwise.decimals),
        )


_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


# What a number stands for, as far as a rule tells it. An explanation shows numbers rounded to the
# unit: right for euros and counts, but a rate or a ratio (0,61) would read « 1 » in every explanation.
Quantity = Literal["euros", "entier", "fraction", "autre"]
# Multiplied by this, a rate is a percentage: rounded to the unit as usual.
_PERCENT = 100


def quantity(node: Node, scope: Scope, named: Mapping[str, Node | float]) -> Quantity:
    """What the value of a checked expression stands for: `euros` (an amount of the contract, a
    parameter in €, what is computed from them), `entier` (a count, a whole number), `fraction` (a
    rate, a ratio of like quantities) or `autre` (a distance, hours…).

    `named`: the definitions of the names a rule may cite (its values and the shared formulas as
    expressions, its number settings as numbers). Units are read from the parameters' `unite` and
    the contract's column kinds (every decimal column of the contract is an amount in euros).
    """
    return _Quantities(scope, named).of(node)


@dataclass
class _Quantities:
    scope: Scope
    named: Mapping[str, Node | float]
    seen: set[str] = field(default_factory=set)

    def of(self, node: Node) -> Quantity:
        if isinstance(node, Number):
            return _constant(node.value)
        if isinstance(node, Name) and len(node.parts) == 1:
            return self._name(node.parts[0])
        if isinstance(node, Name):
            return self._parameter(node.dotted)
        if isinstance(node, Lookup):
            return self._parameter(node.name.dotted)
        if isinstance(node, Negate):
            return self.of(node.operand)
        if isinstance(node, Binary):
            return self._binary(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Cond):
            return _joined([self.of(node.then), self.of(node.otherwise)])
        return "autre"

    def _name(self, name: str) -> Quantity:
        if name in self.named:
            definition = self.named[name]
            if not isinstance(definition, Node):
                return _constant(definition)
            if name in self.seen:  # a cycle is the checker's error, reported apart
                return "autre"
            self.seen.add(name)
            return self.of(definition)
        kind = self.scope.columns.get(name)
        return "entier" if kind == "int" else "euros" if kind == "float" else "autre"

    def _parameter(self, name: str) -> Quantity:
        if name not in self.scope.parameters:
            return "autre"
        parameter = self.scope.parameters.get(name)
        numbers = [
            number
            for version in parameter.versions
            for number in (version.value.values() if isinstance(version.value, dict) else [version.value])
        ]
        if all(float(number).is_integer() for number in numbers):
            return "entier"
        if parameter.unit.startswith("€"):
            return "euros"
        return "fraction" if parameter.unit.startswith(FRACTION) else "autre"

    def _binary(self, node: Binary) -> Quantity:
        left, right = self.of(node.left), self.of(node.right)
        sides = {left, right}
        if node.op in ("+", "-"):
            return _joined([left, right])
        if node.op == "*":
            percent = any(isinstance(s, Number) and s.value == _PERCENT for s in (node.left, node.right))
            if "euros" in sides or "autre" in sides:
                return "euros" if "euros" in sides else "autre"
            if "fraction" in sides:
                return "autre" if percent else "fraction"
            return "entier"
        # A division: an amount per unit is an amount; a ratio of like quantities is a fraction.
        if left == "euros":
            return "fraction" if right == "euros" else "euros"
        if left in ("entier", "fraction") and right in ("entier", "fraction"):
            return "fraction" if left == "fraction" or right == "entier" else "autre"
        return "autre"

    def _call(self, node: Call) -> Quantity:
        function, args = node.function, node.args
        step = args[1] if len(args) > 1 else None
        if function == "arrondi":
            # `arrondi(x, n)` keeps its decimals on display: what it stands for is `x`'s.
            kept = isinstance(step, Number) and step.value > 0
            return self.of(args[0]) if kept else "entier"
        if function in ("arrondi_superieur", "arrondi_inferieur"):
            whole = isinstance(step, Number) and step.is_integer
            return "entier" if whole else self.of(args[0])
        if function in ("min", "max"):
            return _joined([self.of(arg) for arg in args])
        return "entier" if function == "mois_depuis" else "autre"


def _constant(value: float) -> Quantity:
    if float(value).is_integer():
        return "entier"
    return "fraction" if abs(value) < 1 else "autre"


def _joined(quantities: list[Quantity]) -> Quantity:
    """What the values of several branches or terms stand for together: a fraction shown in one of
    them is enough to be told."""
    if "fraction" in quantities and "euros" not in quantities and "autre" not in quantities:
        return "fraction"
    if "euros" in quantities:
        return "euros"
    return "entier" if all(q == "entier" for q in quantities) else "autre"


def rounded_fractions(
    rule_id: str, placeholders: Mapping[str, Type], scope: Scope, named: Mapping[str, Node | float]
) -> list[str]:
    """A warning (French) for each placeholder of a rule's explanation that stands for a fraction (a
    rate, a ratio) but shows rounded to the unit: the explanation would say « 1 » for 0,61. Not a
    refusal: a rounded value may be what the author wants, and `arrondi(x, n)` keeps decimals."""
    warnings = []
    for name, kind in placeholders.items():
        if name == "montant" or kind.kind != "nombre" or kind.integer or kind.decimals > 0:
            continue
        if quantity(Name(1, 1, (name,)), scope, named) != "fraction":
            continue
        value = _known_value(name, scope, named)
        example = 0.61 if value is None else value
        exact, shown = _shown(example, decimals=4), _shown(example, decimals=0)
        said = "sa valeur" if value is not None else "par exemple"
        warnings.append(
            f"règle {rule_id} : `{{{name}}}` est un taux ou un rapport, et l'explication l'arrondit à "
            f"l'unité : {exact} ({said}) s'y lit « {shown} ». Pour garder deux décimales, nommez dans "
            f"`valeurs` `{name}_affiche: arrondi({name}, 2)` et citez `{{{name}_affiche}}`"
        )
    return warnings


def _known_value(name: str, scope: Scope, named: Mapping[str, Node | float]) -> float | None:
    """The value of a name defined as a constant (a setting, a number, a parameter's latest value)."""
    definition = named.get(name)
    for _ in range(len(named) + 1):  # a chain of names, never longer than the definitions
        if definition is None or not isinstance(definition, Node):
            return definition
        if isinstance(definition, Number):
            return definition.value
        if isinstance(definition, Lookup):
            definition = Name(1, 1, definition.name.parts)
        if not isinstance(definition, Name):
            return None
        if len(definition.parts) == 1:
            definition = named.get(definition.parts[0])
            continue
        if definition.dotted not in scope.parameters:
            return None
        latest = scope.parameters.get(definition.dotted).versions[-1].value
        return next(iter(latest.values())) if isinstance(latest, dict) else latest
    return None


def _shown(value: float, *, decimals: int) -> str:
    """`value` as an explanation shows it, with `decimals` decimals."""
    return str(pl.select(display(pl.lit(value), Type("nombre", decimals=decimals))).item())
