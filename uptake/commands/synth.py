"""`uptake synth`: write a synthetic household extract, its contact directory and its ground truth."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from detection.reference import load_reference
from detection.synthetic import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MONTH,
    SynthesisError,
    SynthesisSpec,
    commune_table,
    write_synthetic,
)
from uptake.context import AppContext

console = Console(emoji=False)


class Scope(StrEnum):
    """Where the synthetic households live."""

    territoire = "territoire"
    national = "national"


def _month(text: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SynthesisError(
            f"mois de référence illisible « {text} »", "écrivez AAAA-MM, par exemple 2025-06"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def register(app: typer.Typer) -> None:
    """Add the `synth` command."""

    @app.command("synth")
    def synth(
        households: int = typer.Option(4_000, "--households", "-n", help="Nombre de foyers à générer."),
        out: Path = typer.Option(..., "--out", "-o", help="Extrait produit (.parquet, ou .csv)."),
        contacts: Path | None = typer.Option(
            None, "--contacts", help="Annuaire de contacts fictifs à produire (.parquet ou .csv)."
        ),
        truth: Path | None = typer.Option(
            None, "--truth", help="Vérité terrain (défaut : <extrait>.verite.parquet à côté de l'extrait)."
        ),
        seed: int = typer.Option(0, "--seed", help="Graine : même graine, mêmes fichiers."),
        scope: Scope = typer.Option(
            Scope.territoire, "--scope", help="territoire (communes configurées) ou national."
        ),
        raw: bool = typer.Option(
            False, "--raw", help="Forme brute avant pseudonymisation : `matricule` au lieu de `id_foyer`."
        ),
        month: str = typer.Option(f"{DEFAULT_MONTH:%Y-%m}", "--month", help="Mois de référence AAAA-MM."),
        chunk_size: int = typer.Option(
            DEFAULT_CHUNK_SIZE, "--chunk-size", help="Foyers par bloc (mémoire bornée par un bloc)."
        ),
        replace: bool = typer.Option(
            False, "--remplacer", help="Écraser les fichiers de sortie qui existent déjà."
        ),
    ) -> None:
        """Génère des foyers fictifs (contrat v1), leurs contacts et la vérité terrain du non-recours."""
        spec = SynthesisSpec(
            households=households, seed=seed, month=_month(month), raw=raw, chunk_size=chunk_size
        )
        reference = load_reference()
        if scope is Scope.territoire:
            territory = AppContext.from_env().territory
            communes = commune_table(reference, territory.communes)
            where = f"{territory.nom} ({len(communes)} communes)"
        else:
            communes = commune_table(reference, None)
            where = f"France entière ({len(communes)} communes)"
        console.print(f"Génération de {households:,} foyers fictifs : {where}".replace(",", " "))
        with Progress(
            TextColumn("[bold]Foyers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("synth", total=households)
            result = write_synthetic(
                spec,
                communes,
                out,
                contacts=contacts,
                truth=truth,
                progress=lambda done: progress.update(task, completed=done),
                replace=replace,
            )
        console.print(f"Extrait : [bold]{result.extract}[/] ({result.households:,} foyers)".replace(",", " "))
        console.print(f"Vérité terrain : [bold]{result.truth}[/]")
        if result.contacts is not None:
            console.print(
                f"Annuaire de contacts (données personnelles fictives) : [bold]{result.contacts}[/]"
            )
