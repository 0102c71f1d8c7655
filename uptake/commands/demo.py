"""`uptake demo`: the main job on embedded defaults, end to end, on a synthetic territory."""

from __future__ import annotations

import typer
from rich.console import Console

from uptake.context import AppContext

console = Console()


def register(app: typer.Typer) -> None:
    """Add the `demo` command."""

    @app.command("demo")
    def demo() -> None:
        """Démonstration complète sur un territoire synthétique (SQLite, données fictives)."""
        ctx = AppContext.from_env()
        geography = ctx.geography
        console.print(f"Territoire : [bold]{ctx.territory.nom}[/] ({len(ctx.territory.communes)} communes)")
        console.print(geography.communes)
