"""`uptake rules …`: check, test, explain and document the catalogue of rules.

The front door wires the contract and the configured territory into the `rules` package, which
knows neither.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA
from detection.runs import load_rules
from detection.verification import verify_catalogue
from privacy.canonical import caf_day, utc_now
from rules.areas import EVERYWHERE, areas_text
from rules.cases import run_cases
from rules.catalogue import Catalogue
from rules.compiler import compile_catalogue
from rules.docs import french_value, setting_text, write_docs
from rules.language import unparse
from rules.parameters import Parameters
from uptake.context import AppContext
from uptake.db import DatabaseUnusable
from uptake.health import verified_cases

console = Console(emoji=False)

CatalogueOption = Annotated[
    Path | None,
    typer.Option(
        "--catalogue", help="Dossier des règles (par défaut : $UPTAKE_REGLES, sinon le catalogue livré)"
    ),
]
ParametersOption = Annotated[
    Path | None,
    typer.Option(
        "--parametres",
        help="Dossier des paramètres datés (par défaut : $UPTAKE_PARAMETRES, sinon ceux livrés)",
    ),
]
MonthOption = Annotated[
    str | None, typer.Option("--mois", help="Mois des paramètres, AAAA-MM (défaut : ce mois)")
]


@dataclass
class _Loaded:
    """The context, the parameters and the checked catalogue of one command."""

    ctx: AppContext
    parameters: Parameters
    catalogue: Catalogue


def _load(catalogue_dir: Path | None, parameters_dir: Path | None) -> _Loaded:
    ctx = AppContext.from_env()
    catalogue, parameters = load_rules(
        ctx.geography,
        catalogue_dir=catalogue_dir or ctx.settings.catalogue_dir,
        parameters_dir=parameters_dir or ctx.settings.parameters_dir,
    )
    return _Loaded(ctx, parameters, catalogue)


def _month(text: str | None) -> datetime.date:
    if text is None:
        return caf_day(utc_now()).replace(day=1)
    try:
        year, month = text.split("-")
        return datetime.date(int(year), int(month), 1)
    except ValueError:
        raise typer.BadParameter(f"mois invalide `{text}` : écrivez AAAA-MM, par exemple 2024-06") from None


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add the `rules` command group."""
    group = typer.Typer(
        help="Règles d'éligibilité : vérification, cas de test, explications, documentation.",
        no_args_is_help=True,
    )

    @group.command("check")
    def check_command(catalogue: CatalogueOption = None, parametres: ParametersOption = None) -> None:
        """Vérifie le catalogue contre le contrat d'extrait et les paramètres, puis exécute ses cas de test.

        Code de sortie 1 si un cas échoue, 2 si le catalogue est invalide."""
        loaded = _load(catalogue, parametres)
        _say(f"Catalogue valide : {len(loaded.catalogue.rules)} règles.")
        for rule in loaded.catalogue.rules:
            where = "" if rule.areas == EVERYWHERE else f" — signale en : {areas_text(rule.areas)}"
            _say(f"  {rule.id} (v{rule.version}, action {rule.action}) : {rule.titre}{where}")
        _say(f"Colonnes lues : {', '.join(sorted(loaded.catalogue.columns_read))}")
        # A rule whose own cases fail computes something else than its author meant: said here, where
        # the author checks a change, and by `uptake check` before the scheduled runs.
        untested = [rule.id for rule in loaded.catalogue.rules if not rule.cases]
        if untested:
            _say(f"Attention : règle(s) sans cas de test : {', '.join(untested)} (section `cas`).")
        for warning in loaded.catalogue.warnings:  # the author decides: the catalogue stays valid
            _say(f"Attention : {warning}.")
        # Recorded in the database, when there is one: the runs and `uptake check` need not run them again.
        try:
            verdict = verified_cases(
                loaded.ctx.settings, loaded.catalogue, loaded.parameters, loaded.ctx.geography
            )
        except DatabaseUnusable:  # the author's check does not need the database: run, not recorded
            verdict = verify_catalogue(loaded.catalogue, loaded.parameters, loaded.ctx.geography, None)
        failed = [v.rule_id for v in verdict.rules if v.failed]
        if failed:
            _say(
                f"{verdict.failed} cas de test en échec, règle(s) {', '.join(failed)} : le détail avec "
                f"`uptake rules test {' '.join(f'--regle {rule}' for rule in failed)}` ; corrigez la règle "
                "ou ses cas"
                + (" : d'ici là, les exécutions qui l'appliquent sont refusées." if verdict.wrong else ".")
            )
            if verdict.elsewhere:
                # The shipped cases name the shipped territory's communes: the rule may well be right.
                _say(
                    f"Parmi eux, {verdict.elsewhere} cas nomment une commune hors du territoire configuré "
                    "ou dépendent de sa géographie (éloignement, distances, périmètres) : écrits pour un "
                    "autre territoire, ils ne bloquent pas les exécutions et s'adaptent dans "
                    "une copie du catalogue désignée par UPTAKE_REGLES (README, « Adapter uptake à votre "
                    "territoire »)."
                )
            raise typer.Exit(1)
        _say(f"{verdict.cases} cas de test réussis.")

    @group.command("test")
    def test_command(
        catalogue: CatalogueOption = None,
        parametres: ParametersOption = None,
        regle: Annotated[
            list[str] | None,
            typer.Option("--regle", help="N'exécuter que les cas de cette règle (option répétable)"),
        ] = None,
    ) -> None:
        """Exécute les cas de test de chaque règle ; code de sortie 1 si un cas échoue."""
        loaded = _load(catalogue, parametres)
        selected = loaded.catalogue.select(regle) if regle else loaded.catalogue
        defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
        results = run_cases(selected, loaded.parameters, loaded.ctx.geography, defaults, HOUSEHOLD_SCHEMA)
        failed = [r for r in results if not r.passed]
        for result in failed:
            console.print(f"[red]ÉCHEC[/] {result.rule_id} — {result.name} ({result.where})", highlight=False)
            for difference in result.differences:
                _say(f"    {difference}")
        _say(f"{len(results) - len(failed)} cas réussis, {len(failed)} en échec.")
        if failed:
            raise typer.Exit(1)

    @group.command("explain")
    def explain_command(
        rule_id: Annotated[
            str, typer.Argument(metavar="REGLE", help="Identifiant de la règle, ex. ppa_non_recours")
        ],
        mois: MonthOption = None,
        catalogue: CatalogueOption = None,
        parametres: ParametersOption = None,
    ) -> None:
        """Montre une règle, ses conditions et les paramètres en vigueur le mois donné avec leurs sources."""
        loaded = _load(catalogue, parametres)
        rule = loaded.catalogue.get(rule_id)
        month = _month(mois)
        # Before anything is printed: a parameter without a value that month is said alone.
        compiled = compile_catalogue(
            loaded.catalogue.select([rule.id]), loaded.parameters, month, loaded.ctx.geography
        )
        console.print(f"[bold]{rule.titre}[/] ({rule.id}, version {rule.version}, action {rule.action})")
        if rule.description:
            _say(rule.description)
        console.print("\n[bold]Base légale[/]")
        for basis in rule.base_legale:
            _say(f"  - {basis.texte} {basis.reference}".rstrip())
        if rule.areas_note():
            console.print("\n[bold]Territoires[/]")
            _say(f"  {rule.areas_note()}")
        console.print("\n[bold]Conditions (toutes requises)[/]")
        for condition in rule.conditions:
            _say(f"  - {condition.label}  [{condition.expression.source}]")
        console.print("\n[bold]Valeurs calculées[/]")
        for name, expression in loaded.catalogue.shared.values:
            if name in rule.shared_used:
                _say(f"  {name} = {unparse(expression.node)}")
        for name, expression in rule.values:
            _say(f"  {name} = {unparse(expression.node)}")
        if rule.montant is not None:
            _say(f"\nMontant estimé : {rule.montant.source}")
        if rule.montant_minimum is not None:
            _say(f"Minimum versé : {rule.montant_minimum.source}")
        console.print(f"\n[bold]Paramètres en vigueur en {month:%m/%Y}[/]")
        today = datetime.date.today()
        if (month.year, month.month) > (today.year, today.month):
            # Dated parameters hold what is known today: a revaluation to come is not in them.
            _say(
                "  (mois à venir : les valeurs sont les dernières connues aujourd'hui ; une revalorisation "
                "d'ici là n'y figure pas)"
            )
        for name in sorted(rule.parameters_used):
            version = loaded.parameters.at(name, month)
            value = french_value(version.value, loaded.parameters.get(name).unit)
            _say(
                f"  {name} = {value} (depuis le {version.since:%d/%m/%Y}) — "
                f"{version.source} {version.reference}".rstrip()
            )
        for name, setting in rule.settings.items():
            _say(f"  réglage {name} = {setting_text(setting)}")
        _say(
            f"\nEmpreinte des paramètres (cette règle seule) : {compiled.fingerprint} ; "
            f"empreinte du contenu de la règle : {compiled.rule_digests[rule.id]}"
        )
        if rule.simplifications:
            console.print("\n[bold]Simplifications[/]")
            for text in rule.simplifications:
                _say(f"  - {text}")

    @group.command("doc")
    def doc_command(
        out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les pages HTML")],
        mois: MonthOption = None,
        catalogue: CatalogueOption = None,
        parametres: ParametersOption = None,
    ) -> None:
        """Écrit une page HTML par règle (conditions, formules, paramètres et sources, cas de test)."""
        loaded = _load(catalogue, parametres)
        written = write_docs(loaded.catalogue, loaded.parameters, _month(mois), loaded.ctx.geography, out)
        _say(f"{len(written)} pages écrites dans {out}")

    app.add_typer(group, name="rules")
