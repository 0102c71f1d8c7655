"""Errors of the rules domain."""

from __future__ import annotations

import datetime
import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


def suggest(name: str, candidates: Iterable[str]) -> str:
    """ "vouliez-vous dire …" with the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"vouliez-vous dire `{close[0]}` ?" if close else ""


# Characters a word processor or a copy from a web page slips into a name, invisible in print.
_INVISIBLE = {
    "\u00a0": "espace insécable (U+00A0)",
    "\u202f": "espace fine insécable (U+202F)",
    "\u2007": "espace tabulaire (U+2007)",
    "\u200b": "espace sans largeur (U+200B)",
    "\ufeff": "espace sans largeur (U+FEFF)",
    "\t": "tabulation",
}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def character_name(char: str) -> str:
    """`x` as written between backquotes, or the name of an invisible character."""
    return _INVISIBLE.get(char, f"`{char}`")


def name_for(text: str) -> str:
    """A valid name close to `text` (a letter, then lower-case letters without accents, digits, _):
    `Famille-Nombreuse é` → `famille_nombreuse_e`, `3_enfants` → `regle_3_enfants`."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    return words if _NAME.fullmatch(words) else f"regle_{words}".rstrip("_")


def name_hint(name: str, key: str = "", verb: str = "écrivez", suffix: str = "") -> str:
    """Why `name` is not a valid name, and the name to write (after `key: ` when given)."""
    invisible = sorted({_INVISIBLE[c] for c in name if c in _INVISIBLE})
    if invisible:
        why = f"il contient une {', une '.join(invisible)}, invisible à l'écran"
    elif any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", name)):
        why = "pas d'accents dans un nom"
    elif name != name.lower():
        why = "pas de majuscules dans un nom"
    elif name[:1] and not name[:1].isalpha():
        why = "un nom commence par une lettre"
    else:
        why = "lettres minuscules sans accents, chiffres et _ seulement"
    return f"{why} : {verb} `{f'{key}: ' if key else ''}{name_for(name)}{suffix}`"


class RulesError(Exception):
    """Base of the rules errors; `str()` is a French message safe to show."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule or parameter file: where, what, and how to fix it."""

    path: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class CatalogueInvalid(RulesError):
    """The catalogue does not load: every problem of every file, so that all can be fixed at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"catalogue de règles invalide ({count} problème{'s' if count > 1 else ''}), "
            f"aucune règle n'est chargée :\n{lines}"
        )


class ParametersInvalid(RulesError):
    """A parameter file is malformed (missing date, value or legal source...)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"fichiers de paramètres invalides :\n{lines}")


class ParametersMissing(RulesError):
    """A parameter has no value in force in the requested month: never a silent default."""

    def __init__(self, name: str, month: datetime.date, first: datetime.date | None, path: str = "") -> None:
        self.name, self.month, self.first = name, month, first
        since = f" (première valeur connue : depuis le {first:%d/%m/%Y})" if first else ""
        where = path or f"le fichier `{name.split('.')[0]}.yaml` des paramètres"
        super().__init__(
            f"le paramètre `{name}` n'a pas de valeur en vigueur en {month:%m/%Y}{since} : "
            f"ajoutez la valeur de ce mois, avec sa date d'effet et sa source, dans {where}"
        )


class FolderMissing(RulesError):
    """A folder given on the command line does not exist, is a file, or holds no file of its kind."""

    def __init__(self, folder: Path, what: str, option: str) -> None:
        self.folder = folder
        if folder.is_file():
            problem = f"{folder} est un fichier, pas le dossier {what}"
            fix = f"donnez à {option} le dossier qui contient les fichiers .yaml"
        elif folder.is_dir():
            problem = f"le dossier {what} {folder} ne contient aucun fichier .yaml"
            fix = f"vérifiez le chemin donné à {option}"
        else:
            problem = f"dossier {what} introuvable : {folder}"
            fix = f"vérifiez le chemin donné à {option}"
        super().__init__(f"{problem} — {fix}")


class UnknownRule(RulesError):
    """A rule id asked for does not exist in the catalogue."""

    def __init__(self, rule_id: str, known: Sequence[str]) -> None:
        self.rule_id = rule_id
        closest = suggest(rule_id, known)
        super().__init__(
            f"règle inconnue `{rule_id}`{f' — {closest}' if closest else ''} ; règles du catalogue : "
            f"{', '.join(sorted(known))}"
        )
