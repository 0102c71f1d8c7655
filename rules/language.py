"""The rule expression language: a small grammar parsed by lark into plain syntax nodes.

The language has numbers, strings, `vrai`/`faux`, names (contract columns, the rule's named
values and settings), dotted parameter names with an optional `[key]` look-up in a table,
arithmetic, comparisons, `dans (…)` membership, `et`/`ou`/`non`, `si … alors … sinon …` and
calls to a fixed list of functions. Nothing else parses: no attribute access, no subscripts
other than parameter look-ups, no lambdas, comprehensions or f-strings, and the text is never
handed to Python's `eval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from rules.errors import character_name

GRAMMAR = r"""
?start: expr
?expr: "si" expr "alors" expr "sinon" expr   -> cond
     | or_expr
?or_expr: or_expr ("ou" | "or") and_expr     -> or_
        | and_expr
?and_expr: and_expr ("et" | "and") not_expr  -> and_
         | not_expr
?not_expr: ("non" | "not") not_expr          -> not_
         | comparison
?comparison: sum COMP_OP sum                 -> compare
           | sum "dans" "(" expr ("," expr)* ")" -> member
           | sum
?sum: sum ADD_OP product                     -> binary
    | product
?product: product MUL_OP unary               -> binary
        | unary
?unary: "-" unary                            -> neg
      | atom
?atom: NUMBER                                -> number
     | STRING                                -> string
     | "vrai"                                -> true
     | "faux"                                -> false
     | NAME "(" [expr ("," expr)*] ")"       -> call
     | dotted "[" expr "]"                   -> lookup
     | dotted                                -> name
     | "(" expr ")"
dotted: NAME ("." NAME)*
COMP_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
NAME: /[a-z_][a-z0-9_]*/i
NUMBER: /\d+(\.\d+)?/
STRING: /"[^"\n]*"/ | /'[^'\n]*'/
%import common.WS
%ignore WS
"""


@cache
def _parser() -> Lark:
    # Built on first use: building the LALR tables costs a third of a second, which commands that
    # never read a rule (`uptake audit`, `uptake schedule list`...) should not pay.
    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


KEYWORDS = frozenset({"si", "alors", "sinon", "et", "ou", "non", "and", "or", "not", "dans", "vrai", "faux"})


@dataclass(frozen=True)
class Node:
    """Base of the syntax nodes; `line`/`column` are 1-based inside the expression text."""

    line: int
    column: int


@dataclass(frozen=True)
class Number(Node):
    value: float
    is_integer: bool


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Name(Node):
    """A column, a named value or setting of the rule (one part), or a parameter (dotted)."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Lookup(Node):
    """`param.table[key]`: the value of a parameter table for a key."""

    name: Name
    key: Node


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class Member(Node):
    operand: Node
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Logical(Node):
    op: str  # et / ou
    left: Node
    right: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Cond(Node):
    test: Node
    then: Node
    otherwise: Node


class SyntaxProblem(Exception):
    """The text is not an expression of the language: where and why, in French."""

    def __init__(self, line: int, column: int, message: str, hint: str) -> None:
        self.line, self.column, self.message, self.hint = line, column, message, hint
        super().__init__(f"{line}:{column}: {message}")


def _pos(meta: Any) -> tuple[int, int]:
    return getattr(meta, "line", 1), getattr(meta, "column", 1)


@v_args(meta=True)
class _ToNodes(Transformer[Token, Node]):
    def cond(self, meta: Any, c: list[Node]) -> Node:
        return Cond(*_pos(meta), c[0], c[1], c[2])

    def or_(self, meta: Any, c: list[Node]) -> Node:
        return Logical(*_pos(meta), "ou", c[0], c[1])

    def and_(self, meta: Any, c: list[Node]) -> Node:
        return Logical(*_pos(meta), "et", c[0], c[1])

    def not_(self, meta: Any, c: list[Node]) -> Node:
        return Not(*_pos(meta), c[0])

    def compare(self, meta: Any, c: list[Any]) -> Node:
        return Compare(*_pos(meta), str(c[1]), c[0], c[2])

    def member(self, meta: Any, c: list[Node]) -> Node:
        return Member(*_pos(meta), c[0], tuple(c[1:]))

    def binary(self, meta: Any, c: list[Any]) -> Node:
        return Binary(*_pos(meta), str(c[1]), c[0], c[2])

    def neg(self, meta: Any, c: list[Node]) -> Node:
        return Negate(*_pos(meta), c[0])

    def number(self, meta: Any, c: list[Token]) -> Node:
        text = str(c[0])
        return Number(c[0].line or 1, c[0].column or 1, float(text), "." not in text)

    def string(self, meta: Any, c: list[Token]) -> Node:
        return String(c[0].line or 1, c[0].column or 1, str(c[0])[1:-1])

    def true(self, meta: Any, c: list[Any]) -> Node:
        return Boolean(*_pos(meta), True)

    def false(self, meta: Any, c: list[Any]) -> Node:
        return Boolean(*_pos(meta), False)

    def call(self, meta: Any, c: list[Any]) -> Node:
        return Call(*_pos(meta), str(c[0]), tuple(c[1:]))

    def lookup(self, meta: Any, c: list[Any]) -> Node:
        return Lookup(*_pos(meta), c[0], c[1])

    def name(self, meta: Any, c: list[Any]) -> Node:
        named: Name = c[0]
        return named

    def dotted(self, meta: Any, c: list[Token]) -> Node:
        return Name(*_pos(meta), tuple(str(t) for t in c))


def parse(text: str) -> Node:
    """The syntax tree of one expression, or `SyntaxProblem` with its position."""
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as exc:
        char = str(getattr(exc, "char", "")).replace("`", "'")
        shown = character_name(char)
        if char == "=":
            hint = "une égalité s'écrit `==` (et une différence `!=`)"
        elif not shown.startswith("`"):  # invisible: pasted from a word processor or a web page
            hint = "remplacez-la par une espace ordinaire, ou retirez-la"
        else:
            hint = (
                "seuls les nombres, les noms, les chaînes entre guillemets, + - * / ( ) , [ ] "
                "et les comparaisons sont permis"
            )
        said = (
            f"caractère inattendu {shown}"
            if shown.startswith("`")
            else f"caractère invisible inattendu : {shown}"
        )
        raise SyntaxProblem(exc.line, exc.column, said, hint) from None
    except UnexpectedEOF as exc:
        raise SyntaxProblem(
            *_end(text), "expression incomplète", f"attendu : {_expected(exc.expected)}"
        ) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise SyntaxProblem(
                *_end(text), "expression incomplète", f"attendu : {_expected(exc.expected)}"
            ) from None
        raise SyntaxProblem(
            exc.line,
            exc.column,
            f"`{exc.token}` inattendu ici",
            f"attendu : {_expected(exc.expected)}",
        ) from None
    except UnexpectedInput as exc:  # any other lark refusal still gets a position
        raise SyntaxProblem(exc.line, exc.column, "expression illisible", "vérifiez la syntaxe") from None
    node: Node = _ToNodes().transform(tree)
    return node


def _end(text: str) -> tuple[int, int]:
    """Line and column just after the text, counting lines as the parser does (on `\\n` only)."""
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


_TERMINAL_NAMES = {
    "NAME": "un nom",
    "NUMBER": "un nombre",
    "STRING": "une chaîne",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "COMP_OP": "une comparaison",
    "ADD_OP": "+ ou -",
    "MUL_OP": "* ou /",
    "MINUS": "-",
    "LSQB": "[",
    "RSQB": "]",
    "DOT": ".",
}


def _expected(expected: object) -> str:
    words = []
    for name in sorted(str(e) for e in expected):  # type: ignore[attr-defined]
        if name in _TERMINAL_NAMES:
            words.append(_TERMINAL_NAMES[name])
        elif name.upper() == name and name.lower() in KEYWORDS:
            words.append(f"`{name.lower()}`")
    unique = sorted(set(words))
    return ", ".join(unique[:8]) if unique else "une expression"


def source_text(text: str) -> str:
    """The expression as written, on one line (for labels of conditions)."""
    return " ".join(text.split())


_PRECEDENCE = {"ou": 1, "et": 2, "non": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


def unparse(node: Node) -> str:
    """The expression text of a node, with only the parentheses it needs (for labels and docs)."""
    return _unparse(node, 0)


def _wrap(text: str, level: int, outer: int) -> str:
    return f"({text})" if level < outer else text


def _unparse(node: Node, outer: int) -> str:
    if isinstance(node, Number):
        return str(int(node.value)) if node.is_integer else repr(node.value)
    if isinstance(node, String):
        return f'"{node.value}"'
    if isinstance(node, Boolean):
        return "vrai" if node.value else "faux"
    if isinstance(node, Name):
        return node.dotted
    if isinstance(node, Lookup):
        return f"{node.name.dotted}[{_unparse(node.key, 0)}]"
    if isinstance(node, Call):
        return f"{node.function}({', '.join(_unparse(a, 0) for a in node.args)})"
    if isinstance(node, Negate):
        return _wrap(f"-{_unparse(node.operand, 7)}", 7, outer)
    if isinstance(node, Binary):
        level = _PRECEDENCE[node.op]
        return _wrap(
            f"{_unparse(node.left, level)} {node.op} {_unparse(node.right, level + 1)}", level, outer
        )
    if isinstance(node, Compare):
        return _wrap(f"{_unparse(node.left, 5)} {node.op} {_unparse(node.right, 5)}", 4, outer)
    if isinstance(node, Member):
        options = ", ".join(_unparse(o, 0) for o in node.options)
        return _wrap(f"{_unparse(node.operand, 5)} dans ({options})", 4, outer)
    if isinstance(node, Logical):
        level = _PRECEDENCE[node.op]
        return _wrap(
            f"{_unparse(node.left, level)} {node.op} {_unparse(node.right, level + 1)}", level, outer
        )
    if isinstance(node, Not):
        return _wrap(f"non {_unparse(node.operand, 3)}", 3, outer)
    if isinstance(node, Cond):
        # A conditional inside `si`/`alors` gets parentheses; `sinon si …` chains read as written.
        text = (
            f"si {_unparse(node.test, 1)} alors {_unparse(node.then, 1)} sinon {_unparse(node.otherwise, 0)}"
        )
        return _wrap(text, 0, outer)
    return "?"
