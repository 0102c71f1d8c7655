"""`uptake runs list|show`: the record of detection runs, in French tables."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from detection.errors import DetectionError
from detection.records import RunRecord, get_run, list_runs
from detection.reference import load_reference
from detection.runs import STEP_LABELS, recover_interrupted_runs
from uptake.context import AppContext
from uptake.db import transaction

console = Console()


class RunNotFound(DetectionError):
    """No run has this id."""

    exit_code = 2

    def __init__(self, run_id: int) -> None:
        super().__init__(f"aucune exécution n° {run_id} : voyez la liste avec « uptake runs list »")


def _when(record: RunRecord) -> str:
    return record.started_at.astimezone().strftime("%d/%m/%Y %H:%M:%S")


def _duration(record: RunRecord) -> str:
    if record.finished_at is None:
        return "—"
    return f"{(record.finished_at - record.started_at).total_seconds():.1f} s"


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", " ")


def runs_table(records: list[RunRecord]) -> Table:
    """One line per run, newest first."""
    table = Table(title="Exécutions de la détection", title_justify="left")
    for header in ("N°", "Statut", "Déclenchement", "Extrait", "Mois", "Foyers", "Hors territoire"):
        table.add_column(header, justify="right" if header in ("N°", "Foyers", "Hors territoire") else "left")
    table.add_column("Drapeaux", justify="right")
    table.add_column("Début")
    table.add_column("Durée", justify="right")
    for r in records:
        table.add_row(
            str(r.id),
            r.status_label,
            r.trigger,
            r.extract_name,
            r.mois_reference.strftime("%m/%Y") if r.mois_reference else "—",
            _number(r.households_total),
            _number(r.households_out_of_territory),
            _number(r.flags_count),
            _when(r),
            _duration(r),
        )
    return table


def print_run(record: RunRecord, out: Console) -> None:
    """Everything about one run: its identity, its counts per rule and per commune, its timings."""
    facts = Table(title=f"Exécution n° {record.id}", show_header=False, title_justify="left")
    facts.add_column("", style="bold")
    facts.add_column("")
    facts.add_row("Statut", record.status_label + (" (relance forcée)" if record.forced else ""))
    facts.add_row("Déclenchement", record.trigger)
    facts.add_row("Extrait", record.extract_name)
    facts.add_row("Empreinte de l'extrait (SHA-256)", record.extract_sha256 or "—")
    facts.add_row("Mois de référence", record.mois_reference.isoformat() if record.mois_reference else "—")
    facts.add_row("Empreinte des paramètres", record.parameters_fingerprint or "—")
    facts.add_row("Foyers dans l'extrait", _number(record.households_total))
    facts.add_row("Foyers du territoire", _number(record.households_in_territory))
    facts.add_row("Foyers hors territoire (écartés)", _number(record.households_out_of_territory))
    facts.add_row("Drapeaux", _number(record.flags_count))
    facts.add_row("Fichier des drapeaux", record.flags_path or "—")
    facts.add_row("Début", _when(record))
    facts.add_row("Durée", _duration(record))
    if record.error_summary:
        facts.add_row("Motif", record.error_summary)
    out.print(facts)

    if record.rule_versions:
        rules = Table(title="Drapeaux par règle", title_justify="left")
        rules.add_column("Règle")
        rules.add_column("Version")
        rules.add_column("Drapeaux", justify="right")
        for rule, version in sorted(record.rule_versions.items()):
            rules.add_row(rule, version, _number(record.counts_by_rule.get(rule, 0)))
        out.print(rules)
    if record.counts_by_commune:
        reference = load_reference()
        communes = Table(title="Drapeaux par commune", title_justify="left")
        communes.add_column("Code")
        communes.add_column("Commune")
        communes.add_column("Drapeaux", justify="right")
        for code, count in sorted(record.counts_by_commune.items(), key=lambda kv: (-kv[1], kv[0])):
            communes.add_row(code, reference.get(code).nom if code in reference else "?", _number(count))
        out.print(communes)
    if record.timings:
        steps = Table(title="Durée des étapes", title_justify="left")
        steps.add_column("Étape")
        steps.add_column("Durée", justify="right")
        for step, seconds in record.timings.items():
            steps.add_row(STEP_LABELS.get(step, step), f"{seconds:.2f} s")
        out.print(steps)


def register(app: typer.Typer) -> None:
    """Add the `runs` command group."""
    runs = typer.Typer(help="Historique des exécutions de la détection.", no_args_is_help=True)

    @runs.command("list")
    def list_command(
        limit: int = typer.Option(30, "--limit", "-n", min=1, help="Nombre d'exécutions affichées."),
    ) -> None:
        """Liste les exécutions, de la plus récente à la plus ancienne."""
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine)
        records = list_runs(ctx.engine, limit=limit)
        if not records:
            console.print("Aucune exécution enregistrée. Lancez « uptake run --extract FICHIER ».")
            return
        console.print(runs_table(records))

    @runs.command("show")
    def show_command(run_id: int = typer.Argument(..., metavar="ID", help="Numéro de l'exécution.")) -> None:
        """Affiche une exécution : statut, empreintes, drapeaux par règle et par commune, durées."""
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine)
        with transaction(ctx.engine) as session:
            record = get_run(session, run_id)
        if record is None:
            raise RunNotFound(run_id)
        print_run(record, console)

    app.add_typer(runs, name="runs")
