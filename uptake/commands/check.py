"""`uptake check`: is this installation ready (database, configuration, rules, keys, schedules)?"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from uptake.health import check_installation
from uptake.settings import load_settings

console = Console(emoji=False)


def register(app: typer.Typer) -> None:
    """Add the `check` command."""

    @app.command("check", epilog="Code de sortie : 0 si tout est prêt, 1 sinon.")
    def check() -> None:
        """Vérifie l'installation sans rien modifier : base de données, territoire, règles et paramètres,
        campagnes, registre, comptes, clés, planifications, police des courriers.

        Chaque partie est vérifiée même si une autre échoue ; ce qui n'est pas prêt est dit avec la
        façon d'y remédier.
        """
        findings = check_installation(load_settings())
        # A grid so that a long finding (a file path, a fix) wraps under its text, not under the mark.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for finding in findings:
            mark = "[green]✓[/]" if finding.ready else "[bold red]✗[/]"
            grid.add_row(mark, f"[bold]{finding.part}[/] : {escape(finding.said)}")
        console.print(grid, highlight=False)
        missing = [f.part for f in findings if not f.ready]
        if missing:
            console.print(f"À corriger : {', '.join(missing)}.", style="bold")
            raise typer.Exit(1)
        console.print("Tout est prêt.", style="bold green")
