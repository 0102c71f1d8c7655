"""The `uptake` command: the data team's daily tool. Every message a user reads is in French.

A command's module (and the domain packages it needs: polars, SQLAlchemy, the rules) is imported
only when that command runs, so that `uptake runs list` does not pay for loading every command.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterator, MutableMapping
from functools import cache
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer import _click
from typer.core import TyperGroup

from uptake import cli_wording

cli_wording.install()

# Each top-level command, and the module of `uptake.commands` whose `register(app)` adds it; the
# order is the one of `uptake --help`. (A test checks this table against what the modules register.)
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "serve": "serve",
    "validate": "extract",
    "synth": "synth",
    "run": "run",
    "territory": "territory",
    "scheduler": "schedule",
    "pseudonymise": "privacy",
    "purge": "privacy",
    "report": "report",
    "db": "database",
    "users": "users",
    "runs": "runs",
    "schedule": "schedule",
    "rules": "rules",
    "keys": "privacy",
    "contacts": "privacy",
    "subjects": "privacy",
    "exchanges": "exchanges",
    "register": "exchanges",
    "audit": "audit",
    "campaigns": "campaigns",
    "outcomes": "outcomes",
}

_TYPER_SETTINGS: dict[str, Any] = {
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "rich",
}


@cache
def commands_of(module: str) -> dict[str, _click.Command]:
    """The top-level commands the module `uptake.commands.<module>` registers, by name."""
    registered = typer.Typer(**_TYPER_SETTINGS)
    importlib.import_module(f"uptake.commands.{module}").register(registered)
    return dict(typer.main.get_group(registered).commands)


class _CommandsOnDemand(MutableMapping[str, _click.Command]):
    """The top-level commands by name; a command's module is imported when the command is looked up."""

    def __init__(self) -> None:
        self._added: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name in self._added:
            return self._added[name]
        return commands_of(COMMANDS[name])[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._added[name] = command

    def __delitem__(self, name: str) -> None:
        del self._added[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._added if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(name not in COMMANDS for name in self._added)


class UptakeGroup(TyperGroup):
    """Typer's group, with commands loaded on demand (`uptake --help` loads them all)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _CommandsOnDemand()


app = typer.Typer(
    name="uptake",
    help="Détection proactive des droits non réclamés (Caf et communes partenaires).",
    cls=UptakeGroup,
    **_TYPER_SETTINGS,
)


@app.callback()
def _options() -> None:
    # No option of its own: a callback makes Typer build a group even before any command is loaded.
    pass


err_console = Console(stderr=True)


def main() -> None:
    """Entry point of the console script: domain errors become French messages, never tracebacks.

    Typer (standalone mode) reports usage errors and exits with their code; everything else that
    escapes a command is caught here.
    """
    try:
        app(prog_name="uptake")
    except KeyboardInterrupt:
        err_console.print("Interrompu.")
        sys.exit(130)
    except Exception as exc:
        sys.exit(_report(exc))


def _report(exc: Exception) -> int:
    """Tell the user what went wrong, in French and without a traceback; the exit code."""
    # Imported here: the command that raised has loaded them already, and a command that succeeds
    # need not load every domain package.
    from sqlalchemy.exc import OperationalError

    from detection.errors import DetectionError
    from outreach.errors import OutreachError
    from privacy.errors import PrivacyError
    from rules.errors import RulesError
    from uptake.db import DatabaseUnusable, unreachable
    from uptake.settings import load_settings

    if isinstance(exc, DetectionError | RulesError | PrivacyError | OutreachError | DatabaseUnusable):
        err_console.print(f"[bold red]Erreur :[/] {escape(str(exc))}", highlight=False)
        return int(getattr(exc, "exit_code", 1))
    if isinstance(exc, OperationalError):  # the database went away mid-command (its text may hold data)
        message = str(unreachable(load_settings().database_url))
        err_console.print(f"[bold red]Erreur :[/] {escape(message)}", highlight=False)
        return 2
    if os.environ.get("UPTAKE_DEBUG"):  # last line of defence: no traceback, no data from the message
        raise exc
    logging.getLogger("uptake").debug("unexpected error", exc_info=True)
    err_console.print(
        f"[bold red]Erreur interne[/] ({type(exc).__name__}). Relancez avec UPTAKE_DEBUG=1 "
        "pour le détail technique, et signalez-la à l'équipe.",
        highlight=False,
    )
    return 1
