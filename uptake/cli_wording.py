"""French wording for what Typer itself writes: help screens, usage lines and usage errors.

Typer 0.29 carries its own copy of click, whose messages are English f-strings (no gettext
catalogue to translate). The help screens' labels are Typer settings; the usage line, the help
option's text and the usage errors are rewritten here, by the known shapes of their messages. A
message of an unknown shape is shown as Typer wrote it rather than lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from typer import _click, core, rich_utils
from typer._click.core import Command
from typer._click.formatting import HelpFormatter

USAGE_PREFIX = "Utilisation : "
HELP_OPTION_TEXT = "Afficher cette aide et quitter."

# The kind of value an option takes, as the help screens show it (`<path>` → `<chemin>`); a list is
# an option given several times. A flag takes no value: none is shown.
_VALUE_KINDS = {
    "str": "texte",
    "int": "entier",
    "int range": "entier",
    "float": "nombre",
    "path": "chemin",
    "file": "fichier",
    "directory": "dossier",
    "list[str]": "texte…",
    "list[int]": "entier…",
    "list[path]": "chemin…",
    "list[Path]": "chemin…",
}

# (shape of Typer's message, its French wording); the first shape that matches wins.
_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"Missing option (.+)\.", r"Option obligatoire manquante : \1."),
    (r"Missing argument (.+)\.", r"Argument obligatoire manquant : \1."),
    (r"Missing parameter: (.+)", r"Paramètre obligatoire manquant : \1."),
    (r"Missing command\.", "Commande manquante."),
    (r"No such option: (\S+) \(Possible options: (.+)\)", r"Option inconnue : \1 (options proches : \2)."),
    (r"No such option: (\S+)", r"Option inconnue : \1."),
    (r"No such command (.+)\. Did you mean (.+)\?", r"Commande inconnue : \1. Vouliez-vous dire \2 ?"),
    (r"No such command (.+)\.", r"Commande inconnue : \1."),
    (r"Option (.+) requires an argument\.", r"L'option \1 attend une valeur."),
    (r"Option (.+) requires (\d+) arguments\.", r"L'option \1 attend \2 valeurs."),
    (r"Option (.+) does not take a value\.", r"L'option \1 ne prend pas de valeur."),
    (r"Got unexpected extra argument(?:s|\(s\))? \((.+)\)", r"Argument(s) en trop : \1."),
    (r"Invalid value for (.+?): (.+)", r"Valeur invalide pour \1 : \2"),
    (r"Invalid value: (.+)", r"Valeur invalide : \1"),
)
# Click writes "File …", or "file …" in its newer messages.
_PATH = r"(?:[Ff]ile|[Dd]irectory|[Pp]ath)"
# The reasons given inside "Invalid value for …" (Typer's own, and pydantic's for typed options).
_REASONS: tuple[tuple[str, str], ...] = (
    (r"Input should be a valid integer.*", "un nombre entier est attendu."),
    (r"Input should be a valid number.*", "un nombre est attendu."),
    (r"Input should be a valid boolean.*", "oui/non (true/false) est attendu."),
    (r"Input should be a valid date.*", "une date AAAA-MM-JJ est attendue."),
    (r"Input should be greater than or equal to (\S+?)\.?", r"un nombre supérieur ou égal à \1 est attendu."),
    (r"Input should be less than or equal to (\S+?)\.?", r"un nombre inférieur ou égal à \1 est attendu."),
    (r"Input should be greater than (\S+?)\.?", r"un nombre supérieur à \1 est attendu."),
    (r"Input should be less than (\S+?)\.?", r"un nombre inférieur à \1 est attendu."),
    (r"Input should be (.+)", r"valeur attendue : \1."),
    (_PATH + r" (.+) does not exist\.", r"\1 n'existe pas."),
    (_PATH + r" (.+) is a file\.", r"\1 est un fichier (un dossier est attendu)."),
    (_PATH + r" (.+) is a directory\.", r"\1 est un dossier (un fichier est attendu)."),
    (_PATH + r" (.+) is not readable\.", r"\1 n'est pas lisible."),
    (_PATH + r" (.+) is not writable\.", r"\1 n'est pas accessible en écriture."),
    (r"Value (.+) is not a valid (.+)\.", r"\1 n'est pas une valeur permise."),
    (r"(?:Value error, )?(.+) is not one of (.+?)\.?", r"\1 n'est pas une valeur permise (valeurs : \2)."),
)


def french_message(message: str) -> str:
    """Typer's usage error `message` in French (unchanged when its shape is unknown)."""
    for shape, wording in _MESSAGES:
        found = re.fullmatch(shape, message, flags=re.DOTALL)
        if found is None:
            continue
        french = found.expand(wording)
        if shape.startswith("Invalid value"):
            reason = found.group(found.lastindex or 1)
            french = french[: len(french) - len(reason)] + _french_reason(reason)
        return french
    return message


def _french_reason(reason: str) -> str:
    for shape, wording in _REASONS:
        found = re.fullmatch(shape, reason, flags=re.DOTALL)
        if found is not None:
            return found.expand(wording)
    return reason


def install() -> None:
    """Make Typer's help screens and usage errors French (idempotent)."""
    rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
    rich_utils.DEFAULT_STRING = "[défaut : {}]"
    rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
    rich_utils.ENVVAR_STRING = "[variable d'environnement : {}]"
    rich_utils.ERRORS_PANEL_TITLE = "Erreur"
    rich_utils.ABORTED_TEXT = "Interrompu."
    rich_utils.RICH_HELP = "Essayez [blue]'{command_path} {help_option}'[/] pour l'aide."
    # Typer 0.29 keeps the line breaks of a docstring's later paragraphs, cutting help lines short.
    rich_utils._fix_linebreaks = unwrapped_paragraphs
    if getattr(rich_utils.rich_format_error, "_french", False):
        return
    rich_utils.rich_format_error = _french_errors(rich_utils.rich_format_error)  # type: ignore[assignment]
    HelpFormatter.write_usage = _french_usage(HelpFormatter.write_usage)  # type: ignore[method-assign]
    Command.get_help_option = _french_help_option(Command.get_help_option)  # type: ignore[method-assign,assignment]
    core.TyperOption.display_type_rich = _french_value_kind(core.TyperOption.display_type_rich)  # type: ignore[method-assign,assignment]
    core.TyperArgument.display_type_rich = _french_value_kind(core.TyperArgument.display_type_rich)  # type: ignore[method-assign,assignment]


def unwrapped_paragraphs(paragraphs: list[str], markup_mode: str = "rich") -> str:
    """Help paragraphs rejoined, each paragraph's lines made one (a paragraph starting with `\\b` is
    kept as written, as Click does)."""
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)


def french_value_kind(shown: str | None, *, flag: bool = False) -> str | None:
    """`<path>` → `<chemin>`; a flag's `<bool>` → nothing; a kind not listed (choices) unchanged."""
    if flag or shown is None:
        return None
    inner = shown[1:-1] if shown.startswith("<") and shown.endswith(">") else None
    if inner is None or inner not in _VALUE_KINDS:
        return shown
    return f"<{_VALUE_KINDS[inner]}>"


def _french_value_kind(original: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return french_value_kind(original(self, ctx), flag=bool(getattr(self, "is_flag", False)))

    return display_type_rich


def _french_errors(
    original: Callable[[_click.ClickException], None],
) -> Callable[[_click.ClickException], None]:
    def print_french(error: _click.ClickException) -> None:
        message = french_message(error.format_message())
        error.format_message = lambda: message  # type: ignore[method-assign]
        original(error)

    print_french._french = True  # type: ignore[attr-defined]
    return print_french


def _french_usage(original: Callable[..., None]) -> Callable[..., None]:
    def write_usage(self: HelpFormatter, prog: str, args: str = "", prefix: str | None = None) -> None:
        original(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    return write_usage


def _french_help_option(original: Callable[[Command, Any], Any]) -> Callable[[Command, Any], Any]:
    def get_help_option(self: Command, ctx: Any) -> Any:
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    return get_help_option
