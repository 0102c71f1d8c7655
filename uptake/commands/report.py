"""`uptake report`: the indicators of actions 2.2 and 7.1, as an HTML page with charts and CSV tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from outreach.report import write_report
from privacy.disclosure import DEFAULT_THRESHOLD
from uptake.commands.privacy import actor_name
from uptake.context import AppContext

console = Console()


def register(app: typer.Typer) -> None:
    """Add the `report` command."""

    @app.command("report")
    def report(
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Dossier du rapport (défaut : $UPTAKE_HOME/rapport/)."
        ),
        seuil: int = typer.Option(
            DEFAULT_THRESHOLD,
            "--seuil",
            min=1,
            help="Secret statistique : effectifs masqués en dessous de ce seuil.",
        ),
        acteur: str | None = typer.Option(None, "--acteur", help="Nom inscrit au journal d'audit."),
    ) -> None:
        """Rapport des indicateurs : contactés, droits ouverts, montant moyen, effet mesuré sur le témoin."""
        ctx = AppContext.from_env()
        communes = dict(ctx.geography.communes.select("code_commune", "nom").iter_rows())
        files = write_report(
            ctx.engine,
            out or ctx.settings.home / "rapport",
            communes=communes,
            actor=actor_name(acteur),
            threshold=seuil,
        )
        console.print(f"Rapport : [bold]{files.html}[/]", soft_wrap=True)  # a path is copied whole
        if files.csv:
            console.print(f"Tableaux CSV, dans le même dossier : {', '.join(p.name for p in files.csv)}")
