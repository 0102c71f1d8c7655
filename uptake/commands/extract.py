"""`uptake validate FILE`: check a household extract against contract v1 and record the import."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from detection.imports import record_import
from detection.validation import ExtractRejected, ValidatedExtract, validate_extract
from rules.french import french_month
from uptake.context import AppContext
from uptake.db import transaction

console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)


def register(app: typer.Typer) -> None:
    """Add the `validate` command."""

    @app.command("validate")
    def validate(
        file: Path = typer.Argument(
            ..., metavar="FICHIER", help="Extrait des foyers (Parquet ou CSV UTF-8), contrat v1."
        ),
    ) -> None:
        """Vérifie un extrait des foyers contre le contrat v1 et enregistre l'import (accepté ou refusé).

        Code de sortie 0 si l'extrait est valide, 2 s'il est refusé (le rapport liste chaque problème).
        """
        ctx = AppContext.from_env()
        try:
            with err_console.status("Validation de l'extrait…"):
                result: ValidatedExtract | ExtractRejected = validate_extract(file)
        except ExtractRejected as rejected:
            result = rejected
        # The verdict first: it stays on screen even if the database cannot record it.
        if isinstance(result, ExtractRejected):
            err_console.print(result.report(), markup=False, soft_wrap=True)
        else:
            console.print(summary(result), markup=False, soft_wrap=True)
        with transaction(ctx.engine) as session:
            import_id = record_import(session, result)
        outcome = "refusé" if isinstance(result, ExtractRejected) else "accepté"
        console.print(f"Import n° {import_id} enregistré comme {outcome}.", markup=False, soft_wrap=True)
        if isinstance(result, ExtractRejected):
            raise typer.Exit(result.exit_code)


def summary(extract: ValidatedExtract) -> str:
    """The French summary of an accepted extract."""
    month = french_month(extract.mois_reference)
    dropped = ", ".join(f"`{name}`" for name in extract.dropped_columns) or "aucune"
    lines = [
        f"Extrait valide : {extract.path.name}",
        f"  format : {'Parquet' if extract.file_format == 'parquet' else 'CSV'}",
        f"  foyers : {extract.rows:,}".replace(",", "\u202f"),
        f"  mois de référence : {month} ({extract.mois_reference.isoformat()})",
        f"  colonnes hors contrat ignorées : {dropped}",
        f"  empreinte SHA-256 : {extract.content_hash}",
    ]
    return "\n".join(lines)
