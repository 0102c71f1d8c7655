"""Type-checking of rule expressions before any run: names, types, functions, parameters, perimeters.

Problems are collected (not raised) with their position inside the expression, so that the
catalogue loader can report every problem of every file at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
)
from rules.parameters import Parameters
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


@dataclass
class Usage:
    """What the checked expressions use."""

    columns: set[str] = field(default_factory=set)
    parameters: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)
    shared: set[str] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)
    reads_commune: bool = False


def suggest(name: str, candidates: Iterable[str]) -> str:
    """ "vouliez-vous dire …" with the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"vouliez-vous dire `{close[0]}` ?" if close else ""


class Checker:
    """Checks expressions against one scope; collects problems and usage."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[ExprProblem] = []
        self.usage = Usage()

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
            return INTEGER if integer else NUMBER
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Member):
            return self._member(node)
        if isinstance(node, Logical):
            left = self.check(node.left, BOOLEAN, f"l'opérande de `{node.op}`")
            right = self.check(node.right, BOOLEAN, f"l'opérande de `{node.op}`")
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
        # Names the rule already uses are the likeliest meant: suggest among them first.
        near = [*scope.declared, *scope.values, *scope.settings, *scope.shared]
        hint = suggest(name, near) or suggest(name, scope.columns) or "voir le contrat d'extrait v1"
        self._fail(node, f"colonne inconnue `{name}`", hint)
        return None

    def _parameter(self, node: Name, *, table: bool) -> Type | None:
        name = node.dotted
        parameters = self.scope.parameters
        if name not in parameters:
            self._fail(
                node,
                f"paramètre inconnu `{name}`",
                suggest(name, parameters.by_name) or "les paramètres sont dans rules/parametres/",
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
        return found if key else None

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
        for index, arg in enumerate(node.args):
            if index in function.literal_args and not isinstance(arg, Number | String):
                self._fail(arg, f"l'argument {index + 1} de `{node.function}` doit être écrit tel quel")
                ok = False
                continue
            found = self.check(arg, function.arg_type(index), f"l'argument {index + 1} de `{node.function}`")
            ok = found is not None and ok
        if function.reads_commune:
            self.usage.reads_commune = True
            if "code_commune" not in self.scope.declared:
                self._fail(node, f"`{node.function}()` lit `code_commune`", "ajoutez `code_commune` à `lit`")
                ok = False
        if node.function == "dans_perimetre" and node.args and isinstance(node.args[0], String):
            ok = self._perimeter(node.args[0]) and ok
        return function.result if ok else None

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
        then, otherwise = self._type(node.then), self._type(node.otherwise)
        if test is None or then is None or otherwise is None:
            return None
        if then.kind != otherwise.kind:
            self._fail(
                node,
                f"`alors` donne {then} mais `sinon` donne {otherwise}",
                "les deux branches doivent concorder",
            )
            return None
        return Type(then.kind, then.values, then.integer and otherwise.integer)
