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
    """What is wrong in a configuration file: the key (None for the whole file), the problem, the fix."""

    def __init__(self, key: str | None, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


def read_config(path: Path, model: type[ModelT], fixes: Mapping[str, str]) -> ModelT:
    """The file validated by `model`; `ConfigProblem` for its first mistake (see `parse_config`)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigProblem(None, "fichier introuvable", "vérifiez le chemin") from None
    except OSError:
        raise ConfigProblem(None, "fichier illisible", "vérifiez les droits de lecture") from None
    return parse_config(data, model, fixes)


def parse_config(data: bytes, model: type[ModelT], fixes: Mapping[str, str]) -> ModelT:
    """A file's bytes validated by `model`; `ConfigProblem` for its first mistake.

    `fixes` gives the advice for a kind of pydantic error (`missing`, `float_parsing`…), in the
    words of the file's own keys; other kinds get "corrigez la valeur".
    """
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigProblem(
            None, "fichier illisible : il n'est pas en UTF-8", "enregistrez-le en UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblem(None, toml_problem(exc), "corrigez la syntaxe TOML") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        fix = fixes.get(first["type"], "corrigez la valeur")
        raise ConfigProblem(key_path(first["loc"]), validation_problem(first), fix) from None


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


def key_path(loc: tuple[str | int, ...]) -> str:
    """A pydantic location as the file writes it: `tentatives[0].modele`."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(racine)"


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
