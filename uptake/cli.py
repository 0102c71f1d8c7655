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
from typing import Any, NamedTuple

import typer
from rich.console import Console
from rich.markup import escape
from typer import _click
from typer.core import TyperCommand, TyperGroup

from uptake import cli_wording
from uptake.allocator import tune_allocator

# Before any command loads polars: the allocator reads its settings when the library is loaded.
tune_allocator()
cli_wording.install()


class Entry(NamedTuple):
    """Where a top-level command is registered, and the line `uptake --help` shows for it."""

    module: str
    summary: str


# Each top-level command: the module of `uptake.commands` whose `register(app)` adds it, and the
# first paragraph of its help, so that `uptake --help` loads no command; the order is the one of
# the help. (A test checks this table against what the modules register and the help they give.)
COMMANDS: dict[str, Entry] = {
    "demo": Entry(
        "demo",
        "Démonstration complète sur un territoire synthétique (SQLite, données fictives) : extrait → "
        "pseudonymisation → détection → campagnes → listes → résultats → rapport.",
    ),
    "serve": Entry("serve", "Lance l'application web (même base de données que la ligne de commande)."),
    "check": Entry(
        "check",
        "Vérifie l'installation sans rien modifier : base de données, territoire, règles et "
        "paramètres, campagnes, registre, comptes, clés, planifications, police des courriers.",
    ),
    "validate": Entry(
        "extract",
        "Vérifie un extrait des foyers contre le contrat v1 et enregistre l'import (accepté ou refusé).",
    ),
    "synth": Entry(
        "synth",
        "Génère des foyers fictifs (contrat v1), leurs contacts et la vérité terrain du non-recours.",
    ),
    "run": Entry(
        "run",
        "Détecte les droits non réclamés dans un extrait : validation, règles, géographie, drapeaux.",
    ),
    "territory": Entry(
        "territory",
        "Territoire configuré : communes, distance aux points de service, communes éloignées, "
        "périmètres OPAH/PIG (config/territoire.toml).",
    ),
    "scheduler": Entry(
        "schedule",
        "Démon de planification : exécute les tâches planifiées (arrêt propre sur SIGTERM).",
    ),
    "pseudonymise": Entry(
        "privacy",
        "Remplace le matricule par un pseudonyme à clé secrète (HMAC-SHA-256, une clé par finalité).",
    ),
    "purge": Entry(
        "privacy",
        "Supprime les listes échues, détruit leurs clés, efface les traces et oppositions périmées, "
        "les drapeaux des exécutions anciennes et les extraits archivés anciens.",
    ),
    "report": Entry(
        "report",
        "Rapport des indicateurs : contactés, droits ouverts, montant moyen, effet mesuré sur le témoin.",
    ),
    "db": Entry("database", "Base de données : création et migrations."),
    "users": Entry("users", "Comptes de l'application web."),
    "runs": Entry("runs", "Historique des exécutions de la détection."),
    "schedule": Entry("schedule", "Planification des tâches (détection mensuelle…)."),
    "rules": Entry("rules", "Règles d'éligibilité : vérification, cas de test, explications, documentation."),
    "keys": Entry("privacy", "Clés : empreinte de la clé du DPO, rotation des pseudonymes."),
    "contacts": Entry("privacy", "Annuaire des contacts, chiffré."),
    "subjects": Entry("privacy", "Droits des personnes : opposition, accès."),
    "exchanges": Entry("exchanges", "Échanges de données personnelles et décisions du DPO."),
    "register": Entry("exchanges", "Registre des activités de traitement (RGPD art. 30)."),
    "audit": Entry("audit", "Journal d'audit : vérification, consultation, attestation par le DPO."),
    "campaigns": Entry(
        "campaigns",
        "Campagnes de contact : liste, vérification, lancement, relances, rapprochement.",
    ),
    "outcomes": Entry(
        "outcomes",
        "Résultats, questionnaires retournés, réponses STOP et courriels en échec : import.",
    ),
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
        return commands_of(COMMANDS[name].module)[name]

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
    """Typer's group, with commands loaded on demand; `uptake --help` lists them from the table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _CommandsOnDemand()

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The group's help, listing each command by its summary without importing it."""
        loaded = self.commands
        self.commands = {
            name: TyperCommand(name, short_help=entry.summary) for name, entry in COMMANDS.items()
        }
        try:
            super().format_help(ctx, formatter)
        finally:
            self.commands = loaded


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


err_console = Console(stderr=True, emoji=False)


def main() -> None:
    """Entry point of the console script: domain errors become French messages, never tracebacks.

    Typer (standalone mode) reports usage errors and exits with their code; everything else that
    escapes a command is caught here.
    """
    # Every file uptake writes may hold personal data (flags, pseudonymised extracts, access reports,
    # exports): readable by the service's own account only, whatever the shell's umask.
    os.umask(0o077)
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

    from uptake.db import unreachable
    from uptake.failures import told
    from uptake.settings import load_settings

    message = told(exc)
    if message is not None:
        err_console.print(f"[bold red]Erreur :[/] {escape(message)}", highlight=False)
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
