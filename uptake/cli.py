"""The `uptake` command: the data team's daily tool. Every message a user reads is in French."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from detection.errors import DetectionError
from outreach.errors import OutreachError
from privacy.errors import PrivacyError
from rules.errors import RulesError
from uptake import cli_wording
from uptake.db import DatabaseUnusable, unreachable
from uptake.settings import load_settings

cli_wording.install()

app = typer.Typer(
    name="uptake",
    help="Détection proactive des droits non réclamés (Caf et communes partenaires).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module of `uptake.commands` adds its commands to `app` with a `register(app)` function.
COMMAND_MODULES = (
    "database",
    "demo",
    "users",
    "serve",
    "extract",
    "synth",
    "run",
    "runs",
    "territory",
    "schedule",
    "rules",
    "privacy",
    "exchanges",
    "audit",
    "campaigns",
    "outcomes",
    "report",
)

DOMAIN_ERRORS = (DetectionError, RulesError, PrivacyError, OutreachError, DatabaseUnusable)

err_console = Console(stderr=True)

for _name in COMMAND_MODULES:
    importlib.import_module(f"uptake.commands.{_name}").register(app)


def main() -> None:
    """Entry point of the console script: domain errors become French messages, never tracebacks.

    Typer (standalone mode) reports usage errors and exits with their code; everything else that
    escapes a command is caught here.
    """
    try:
        app(prog_name="uptake")
    except DOMAIN_ERRORS as exc:
        err_console.print(f"[bold red]Erreur :[/] {escape(str(exc))}", highlight=False)
        sys.exit(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        err_console.print("Interrompu.")
        sys.exit(130)
    except OperationalError:  # the database went away during the command (its text may hold data)
        message = str(unreachable(load_settings().database_url))
        err_console.print(f"[bold red]Erreur :[/] {escape(message)}", highlight=False)
        sys.exit(2)
    except Exception as exc:  # last line of defence: no traceback, no data from the message
        if os.environ.get("UPTAKE_DEBUG"):
            raise
        logging.getLogger("uptake").debug("unexpected error", exc_info=True)
        err_console.print(
            f"[bold red]Erreur interne[/] ({type(exc).__name__}). Relancez avec UPTAKE_DEBUG=1 "
            "pour le détail technique, et signalez-la à l'équipe.",
            highlight=False,
        )
        sys.exit(1)
