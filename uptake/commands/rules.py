"""`uptake rules …`: check, test and explain the catalogue of rules (the front door wires the contract in)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA, ContractSummary
from rules.cases import run_cases
from rules.catalogue import Catalogue, load_catalogue
from rules.docs import write_docs
from rules.language import unparse
from rules.parameters import load_parameters
from uptake.context import AppContext

console = Console()


def _catalogue(ctx: AppContext) -> Catalogue:
    summary = ContractSummary()
    return load_catalogue(
        columns=summary.column_kinds,
        enums=summary.enum_values,
        perimeters=ctx.geography.perimeter_names(),
    )


def _month(text: str | None) -> datetime.date:
    if text is None:
        return datetime.date.today().replace(day=1)
    try:
        year, month = text.split("-")
        return datetime.date(int(year), int(month), 1)
    except ValueError:
        raise typer.BadParameter(f"mois invalide `{text}` : écrivez AAAA-MM, par exemple 2024-06") from None


def register(app: typer.Typer) -> None:
    """Add the `rules` command group."""
    group = typer.Typer(
        help="Règles d'éligibilité : vérification, cas de test, explications.", no_args_is_help=True
    )

    @group.command("check")
    def check_command() -> None:
        """Analyse et vérifie le catalogue de règles contre le contrat d'extrait et les paramètres."""
        catalogue = _catalogue(AppContext.from_env())
        console.print(f"Catalogue valide : {len(catalogue.rules)} règles.", highlight=False)
        for rule in catalogue.rules:
            console.print(
                f"  {rule.id} (v{rule.version}, action {rule.action}) : {rule.titre}", highlight=False
            )
        console.print(f"Colonnes lues : {', '.join(sorted(catalogue.columns_read))}", highlight=False)

    @group.command("test")
    def test_command() -> None:
        """Exécute les cas de test de chaque règle ; code de sortie 1 si un cas échoue."""
        ctx = AppContext.from_env()
        catalogue = _catalogue(ctx)
        defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
        results = run_cases(catalogue, load_parameters(), ctx.geography, defaults, HOUSEHOLD_SCHEMA)
        failed = [r for r in results if not r.passed]
        for result in failed:
            console.print(f"[red]ÉCHEC[/] {result.rule_id} — {result.name}", highlight=False)
            for difference in result.differences:
                console.print(f"    {difference}", highlight=False, markup=False)
        console.print(f"{len(results) - len(failed)} cas réussis, {len(failed)} en échec.", highlight=False)
        if failed:
            raise typer.Exit(1)

    @group.command("explain")
    def explain_command(
        rule_id: Annotated[str, typer.Argument(help="Identifiant de la règle, ex. ppa_non_recours")],
        mois: Annotated[str | None, typer.Option("--mois", help="Mois des paramètres (AAAA-MM)")] = None,
    ) -> None:
        """Montre une règle, ses conditions et les paramètres en vigueur le mois donné avec leurs sources."""
        catalogue = _catalogue(AppContext.from_env())
        rule = catalogue.get(rule_id)
        month = _month(mois)
        parameters = load_parameters()
        console.print(f"[bold]{rule.titre}[/] ({rule.id}, version {rule.version}, action {rule.action})")
        if rule.description:
            console.print(rule.description, highlight=False)
        console.print("\n[bold]Base légale[/]")
        for basis in rule.base_legale:
            console.print(f"  - {basis.texte} {basis.reference}", highlight=False, markup=False)
        console.print("\n[bold]Conditions (toutes requises)[/]")
        for condition in rule.conditions:
            console.print(
                f"  - {condition.label}  [{condition.expression.source}]", highlight=False, markup=False
            )
        for name, expression in rule.values:
            console.print(f"  {name} = {unparse(expression.node)}", highlight=False, markup=False)
        if rule.montant is not None:
            console.print(f"\n[bold]Montant estimé[/] : {rule.montant.source}", highlight=False)
        if rule.montant_minimum is not None:
            console.print(f"[bold]Minimum versé[/] : {rule.montant_minimum.source}", highlight=False)
        console.print(f"\n[bold]Paramètres en vigueur en {month:%m/%Y}[/]")
        for name in sorted(rule.parameters_used):
            version = parameters.at(name, month)
            console.print(
                f"  {name} = {version.value} (depuis le {version.since:%d/%m/%Y}) — "
                f"{version.source} {version.reference}",
                highlight=False,
                markup=False,
            )
        for name, value in rule.settings.items():
            console.print(f"  réglage {name} = {value}", highlight=False, markup=False)
        if rule.simplifications:
            console.print("\n[bold]Simplifications[/]")
            for text in rule.simplifications:
                console.print(f"  - {text}", highlight=False, markup=False)

    @group.command("doc")
    def doc_command(
        out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les pages HTML")],
        mois: Annotated[str | None, typer.Option("--mois", help="Mois des paramètres (AAAA-MM)")] = None,
    ) -> None:
        """Écrit une page HTML par règle (conditions, formules, paramètres et sources, cas de test)."""
        ctx = AppContext.from_env()
        catalogue = _catalogue(ctx)
        written = write_docs(catalogue, load_parameters(), _month(mois), ctx.geography, out)
        console.print(f"{len(written)} pages écrites dans {out}", highlight=False)

    app.add_typer(group, name="rules")
