"""`uptake report`: the indicators of actions 2.2 and 7.1, as an HTML page with charts and CSV tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from privacy.disclosure import DEFAULT_THRESHOLD, ThresholdBelowConfigured, publication_threshold
from uptake.commands.actors import actor_name
from uptake.context import AppContext
from uptake.reporting import produce_report, report_mailing

console = Console(emoji=False)


def register(app: typer.Typer) -> None:
    """Add the `report` command."""

    @app.command("report")
    def report(
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Dossier du rapport (défaut : $UPTAKE_HOME/rapport/)."
        ),
        seuil: int | None = typer.Option(
            None,
            "--seuil",
            min=1,
            max=1000,
            help="Secret statistique : effectifs masqués en dessous de ce seuil (défaut : "
            f"UPTAKE_SEUIL_SECRET, sinon {DEFAULT_THRESHOLD}) ; il peut être plus élevé, jamais plus bas.",
        ),
        acteur: str | None = typer.Option(None, "--acteur", help="Nom inscrit au journal d'audit."),
        envoyer_a: str = typer.Option(
            "",
            "--envoyer-a",
            help="Adresses (séparées par des virgules) auxquelles envoyer le rapport et ses tableaux.",
        ),
        smtp: str = typer.Option(
            "", "--smtp", help="Relais de messagerie de la Caf, HOTE ou HOTE:PORT (défaut : UPTAKE_SMTP)."
        ),
    ) -> None:
        """Rapport des indicateurs : contactés, droits ouverts, montant moyen, effet mesuré sur le témoin.

        Il ne contient que des effectifs soumis au secret statistique ; avec --envoyer-a, il est aussi
        envoyé par courriel (page HTML et tableaux CSV joints), et l'envoi est journalisé.
        """
        try:
            # Checked before anything is written or sent.
            publication_threshold(seuil)
        except ThresholdBelowConfigured as exc:
            raise typer.BadParameter(str(exc), param_hint="--seuil") from None
        try:
            mailing = report_mailing(envoyer_a, smtp, relay_hint="--smtp HOTE:PORT")
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--envoyer-a / --smtp") from None
        ctx = AppContext.from_env()
        files = produce_report(
            ctx,
            out or ctx.settings.home / "rapport",
            actor=actor_name(acteur),
            threshold=seuil or None,
            mailing=mailing,
        )
        console.print(f"Rapport : [bold]{files.html}[/]", soft_wrap=True)  # a path is copied whole
        if files.csv:
            console.print(f"Tableaux CSV, dans le même dossier : {', '.join(p.name for p in files.csv)}")
        if mailing:
            console.print(f"Envoyé à {len(mailing.recipients)} destinataire(s).")
