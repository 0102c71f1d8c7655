"""`uptake db …`: create or migrate the database."""

from __future__ import annotations

import typer
from rich.console import Console

from uptake.context import AppContext
from uptake.settings import load_settings

console = Console(emoji=False)


def register(app: typer.Typer) -> None:
    """Add the `db` command group."""
    db = typer.Typer(help="Base de données : création et migrations.", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade_command() -> None:
        """Crée la base de données ou la met à jour vers le schéma le plus récent."""
        ctx = AppContext(load_settings(), creates_database=True)
        _ = ctx.engine
        console.print(f"Base de données à jour : [bold]{ctx.engine.url.render_as_string()}[/]")

    app.add_typer(db, name="db")
