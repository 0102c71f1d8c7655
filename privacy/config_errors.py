"""Reading a TOML configuration file into a pydantic model, its mistakes told in French.

tomllib and pydantic word their errors in English for developers; the data team who edits
`config/` reads French. Every package that reads a configuration file reads it here (privacy is
the package all the others may use) and turns `ConfigProblem` into its own error.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigProblem(Exception):
    """What is wrong in a configuration file: the key (None for the whole file), the problem, the fix.

    Raised for the file's first mistake; `problems` holds every mistake found in the same reading
    (this one first), each with its pydantic location `loc` and, when found, its `line`, so that a
    reader may report them all at once.
    """

    def __init__(
        self,
        key: str | None,
        problem: str,
        fix: str,
        *,
        loc: tuple[str | int, ...] | None = None,
        line: int | None = None,
        others: tuple[ConfigProblem, ...] = (),
    ) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix, self.loc, self.line = key, problem, fix, loc, line
        self.problems: tuple[ConfigProblem, ...] = (self, *others)


class ConfigRefused(ValueError):
    """Raised by a model's validator for a value it refuses, with its own fix (a plain ValueError gets
    the generic one): the problem and the fix are in French, in the words of the file's keys."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def read_config(path: Path, model: type[ModelT], fixes: Mapping[str, str]) -> ModelT:
    """The file validated by `model`; `ConfigProblem` for its mistakes (see `parse_config`)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigProblem(None, "fichier introuvable", "vérifiez le chemin") from None
    except OSError:
        raise ConfigProblem(None, "fichier illisible", "vérifiez les droits de lecture") from None
    return parse_config(data, model, fixes)


def parse_config(data: bytes, model: type[ModelT], fixes: Mapping[str, str]) -> ModelT:
    """A file's bytes validated by `model`; `ConfigProblem` for its first mistake, carrying them all.

    `fixes` gives the advice for a kind of pydantic error (`missing`, `float_parsing`…), in the
    words of the file's own keys; other kinds get "corrigez la valeur", and a validator's
    `ConfigRefused` its own. A TOML syntax error stops the reading: it is the only mistake told.
    """
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigProblem(
            None, "fichier illisible : il n'est pas en UTF-8", "enregistrez-le en UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblem(None, toml_problem(exc), "corrigez la syntaxe TOML") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # Told in the file's order, as the reader corrects it from top to bottom.
        problems = sorted(
            (_problem(error, fixes, text) for error in exc.errors()),
            key=lambda p: p.line if p.line is not None else len(text),
        )
        first = problems[0]
        raise ConfigProblem(
            first.key, first.problem, first.fix, loc=first.loc, line=first.line, others=tuple(problems[1:])
        ) from None


def _problem(error: ErrorDetails, fixes: Mapping[str, str], text: str) -> ConfigProblem:
    refused = error.get("ctx", {}).get("error")
    if isinstance(refused, ConfigRefused):
        fix = refused.fix
    else:
        fix = fixes.get(error["type"], "corrigez la valeur")
    loc = tuple(error["loc"])
    return ConfigProblem(key_path(loc), validation_problem(error), fix, loc=loc, line=key_line(text, loc))


# tomllib's messages (Python 3.11 to 3.13), without their position suffix.
_TOML_MESSAGES = {
    "Invalid value": "valeur invalide (un texte s'écrit entre guillemets, une liste entre [ ])",
    "Invalid statement": "ligne invalide (attendu : clé = valeur, ou [section])",
    "Expected '=' after a key in a key/value pair": "« = » attendu après la clé",
    "Expected newline or end of document after a statement": "une seule clé = valeur par ligne",
    "Invalid initial character for a key part": "nom de clé invalide",
    "Unclosed array": "liste non fermée (« ] » manquant)",
    "Unclosed inline table": "table en ligne non fermée (« } » manquant)",
    "Unterminated string": "texte non fermé (guillemet manquant)",
    "Expected ']' at the end of a table declaration": "« ] » manquant à la fin du nom de section",
    "Expected ']]' at the end of an array declaration": "« ]] » manquant à la fin du nom de section",
    "Cannot overwrite a value": "valeur donnée deux fois",
    "Invalid date or datetime": "date invalide (AAAA-MM-JJ)",
    "Unescaped '\\' in a string": "barre oblique inverse « \\ » non doublée dans un texte",
}
_TOML_PATTERNS = (
    (re.compile(r"Illegal character '\\n'"), "texte non fermé (guillemet manquant en fin de ligne)"),
    (re.compile(r"Cannot declare (.+) twice"), "« {0} » déclaré deux fois"),
    (re.compile(r"Cannot (?:mutate immutable|redefine) namespace (.+)"), "section « {0} » déjà définie"),
    (re.compile(r"Duplicate inline table key '(.+)'"), "clé « {0} » donnée deux fois"),
    (re.compile(r"(?:Illegal|Found invalid) character (.+)"), "caractère non permis {0}"),
)
_POSITION = re.compile(
    r"^(?P<message>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$"
)


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """What is wrong in a TOML file and where, in French: `ligne 6, colonne 8 : valeur invalide…`."""
    found = _POSITION.match(str(exc))
    message = found["message"] if found else str(exc)
    french = _TOML_MESSAGES.get(message)
    for pattern, wording in _TOML_PATTERNS:
        if french is None and (matched := pattern.fullmatch(message)):
            french = wording.format(*matched.groups())
    french = french or f"syntaxe TOML invalide ({message})"
    if found and found["line"]:
        return f"ligne {found['line']}, colonne {found['column']} : {french}"
    if found:
        return f"fin du fichier : {french}"
    return french


def key_path(loc: tuple[str | int, ...], *, numbered: bool = False) -> str:
    """A pydantic location as the file writes it: `tentatives[0].modele`; `numbered`, as people count
    the blocks and items, from 1: `tentatives n°1.modele`."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f" n°{part + 1}" if numbered else f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(racine)"


_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]]+)\]\]?\s*(#.*)?$")
_NAME = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""  # a bare or quoted key
_KEY = re.compile(rf"^\s*({_NAME}(?:\s*\.\s*{_NAME})*)\s*=")


def _dotted(names: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in names.split("."))


def key_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The line (from 1) that writes the key at pydantic location `loc`, or the line of the nearest
    enclosing table (the section a missing key belongs in); None when the file does not show it.

    tomllib keeps no positions, so the lines are read again: the usual layouts (`[table]`,
    `[[array]]`, `key = value`, dotted keys) are found; a key inside an inline table is found at the
    line of the inline table.
    """
    table: tuple[str | int, ...] = ()
    counts: dict[tuple[str | int, ...], int] = {}  # blocks of each `[[array]]` seen so far
    latest: dict[tuple[str, ...], int] = {}  # the index of each array's current block
    best, best_length = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = _dotted(header[2])
            path: list[str | int] = []
            for depth, name in enumerate(names, start=1):
                path.append(name)
                if depth == len(names) and header[1] == "[[":
                    counts[tuple(path)] = counts.get(tuple(path), -1) + 1
                    latest[names] = counts[tuple(path)]
                    path.append(latest[names])
                elif depth < len(names) and names[:depth] in latest:
                    path.append(latest[names[:depth]])
            table = tuple(path)
            found = table
        elif key := _KEY.match(line):
            found = table + _dotted(key[1])
        else:
            continue
        if len(found) > best_length and tuple(loc[: len(found)]) == found:
            best, best_length = number, len(found)
    return best


def _choices(expected: Any) -> str:
    return str(expected).replace(" or ", " ou ")


# pydantic's error types, worded from their context values (`ge`, `max_length`, `expected`…).
_VALIDATION_MESSAGES = {
    "missing": "clé manquante",
    "extra_forbidden": "clé inconnue",
    "string_type": "un texte entre guillemets est attendu",
    "float_type": "un nombre est attendu",
    "float_parsing": "un nombre est attendu",
    "int_type": "un nombre entier est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu (sans décimales)",
    "bool_type": "true ou false est attendu",
    "bool_parsing": "true ou false est attendu",
    "list_type": 'une liste est attendue, par exemple ["a", "b"]',
    "dict_type": "une section (table) est attendue",
    "model_type": "une section (table) est attendue",
    "date_type": "une date est attendue (AAAA-MM-JJ)",
    "date_parsing": "une date est attendue (AAAA-MM-JJ)",
    "time_type": "une heure est attendue (par exemple 09:00)",
    "time_parsing": "une heure est attendue (par exemple 09:00)",
    "greater_than": "doit être supérieur à {gt}",
    "greater_than_equal": "doit être au moins {ge}",
    "less_than": "doit être inférieur à {lt}",
    "less_than_equal": "doit être au plus {le}",
    "string_too_short": "doit avoir au moins {min_length} caractère(s)",
    "string_too_long": "doit avoir au plus {max_length} caractère(s)",
    "too_short": "doit avoir au moins {min_length} élément(s)",
    "too_long": "doit avoir au plus {max_length} élément(s)",
    "string_pattern_mismatch": "forme invalide",
}


def validation_problem(error: ErrorDetails) -> str:
    """One pydantic error in French; a validator's own message (already French) is kept."""
    kind = error["type"]
    context = error.get("ctx", {})
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error", error["msg"]))
    if kind in ("literal_error", "enum"):
        choices = _choices(context.get("expected", ""))
        return f"« {error['input']} » n'est pas permis ; valeurs possibles : {choices}"
    wording = _VALIDATION_MESSAGES.get(kind)
    if wording is None:
        return f"valeur invalide ({error['msg']})"
    return wording.format(**context)
