"""`uptake runs list|show`: the record of detection runs, in French tables."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from detection.errors import DetectionError
from detection.records import STATUS_LABELS, STEP_LABELS, SUCCEEDED, RunRecord, get_run, list_runs
from detection.recovery import recover_interrupted_runs
from detection.reference import load_reference
from uptake import french
from uptake.commands.tables import compact_table
from uptake.context import AppContext
from uptake.db import transaction
from uptake.limits import RECORD_ID_MAX, ROWS_MAX

console = Console(emoji=False)


class RunNotFound(DetectionError):
    """No run has this id."""

    exit_code = 2

    def __init__(self, run_id: int) -> None:
        super().__init__(f"aucune exécution n° {run_id} : voyez la liste avec « uptake runs list »")


def runs_table(records: list[RunRecord]) -> Table:
    """One line per run, newest first.

    Fits an 80-column terminal: the file name folds, the households left out of the territory are
    in `runs show`.
    """
    table = compact_table("Exécutions de la détection")
    table.add_column("N°", justify="right", no_wrap=True)
    table.add_column("Statut", no_wrap=True)
    table.add_column("Extrait", overflow="fold", min_width=8)
    table.add_column("Mois", no_wrap=True)
    table.add_column("Foyers", justify="right", no_wrap=True)
    table.add_column("Drapeaux", justify="right", no_wrap=True)
    table.add_column("Début", no_wrap=True)
    table.add_column("Durée", justify="right", no_wrap=True)
    for r in records:
        table.add_row(
            str(r.id),
            r.status_label,
            r.extract_name,
            r.mois_reference.strftime("%m/%Y") if r.mois_reference else french.MISSING,
            french.count(r.households_total),
            french.count(r.flags_count),
            french.moment(r.started_at, short=True),
            french.duration(r.seconds),
        )
    return table


def _flags_file_text(record: RunRecord, home: Path) -> str:
    """The run's flags file as this data folder has it: a restored copy shows its own file, and says
    so when the file was written outside the folder it copied (another folder's, never touched)."""
    if record.flags_path is None:
        return "—"
    own = record.flags_file(home)
    if own is None:
        return (
            f"{record.flags_path}, écrit par un autre dossier de données ({record.data_folder}) : "
            "ce dossier-ci ne le lit ni ne le supprime"
        )
    return str(own)


# Communes listed by default: a national run flags households in some 35,000 of them.
COMMUNES_SHOWN = 30


def print_run(record: RunRecord, home: Path, out: Console, communes_shown: int = COMMUNES_SHOWN) -> None:
    """Everything about one run seen from the data folder `home`: its identity, its counts per rule,
    per commune (the `communes_shown` with most flags; 0 for all) and its timings."""
    facts = Table(title=f"Exécution n° {record.id}", show_header=False, title_justify="left")
    facts.add_column("", style="bold")
    facts.add_column("", overflow="fold")  # paths and hashes are read (and copied) whole
    facts.add_row("Statut", record.status_label + (" (relance forcée)" if record.forced else ""))
    facts.add_row("Déclenchement", record.trigger_label)
    facts.add_row("Extrait", record.extract_name)
    facts.add_row("Empreinte de l'extrait (SHA-256)", record.extract_sha256 or "—")
    facts.add_row("Mois de référence", french.month(record.mois_reference))
    if record.dropped_columns is not None:  # names only: no value of the extract is shown
        facts.add_row("Colonnes hors contrat ignorées", ", ".join(record.dropped_columns) or "aucune")
    facts.add_row("Empreinte des paramètres", record.parameters_fingerprint or "—")
    facts.add_row("Foyers dans l'extrait", french.count(record.households_total))
    facts.add_row("Foyers du territoire", french.count(record.households_in_territory))
    facts.add_row("Foyers hors territoire (écartés)", french.count(record.households_out_of_territory))
    facts.add_row("Drapeaux", french.count(record.flags_count))
    if record.flags_purged_at is not None:
        purged = french.moment(record.flags_purged_at)
        facts.add_row("Fichier des drapeaux", f"supprimé avec les drapeaux le {purged} (fin de conservation)")
    elif record.status != SUCCEEDED:
        # A run that did not succeed published nothing: its planned file does not exist.
        facts.add_row("Fichier des drapeaux", f"aucun (statut : {record.status_label} ; rien n'a été publié)")
    else:
        facts.add_row("Fichier des drapeaux", _flags_file_text(record, home))
    facts.add_row("Début", french.moment(record.started_at))
    facts.add_row("Durée", french.duration(record.seconds))
    if record.error_summary:
        facts.add_row("Motif", record.error_summary)
    out.print(facts)

    if record.rule_versions:
        published = record.status == SUCCEEDED
        title = "Drapeaux par règle" if published else "Règles demandées (aucun drapeau publié)"
        rules = Table(title=title, title_justify="left")
        rules.add_column("Règle")
        rules.add_column("Version")
        rules.add_column("Empreinte du contenu")
        rules.add_column("Drapeaux", justify="right")
        for rule, version in sorted(record.rule_versions.items()):
            flagged = french.count(record.counts_by_rule.get(rule, 0)) if published else "—"
            rules.add_row(rule, version, record.rule_digests.get(rule, "—"), flagged)
        out.print(rules)
    for sentence in record.left_out_texts:
        out.print(f"Attention : {sentence}.", highlight=False)
    print_kept_parameters(record, out)
    if record.counts_by_commune:
        reference = load_reference()
        communes = Table(title="Drapeaux par commune", title_justify="left")
        communes.add_column("Code")
        communes.add_column("Commune")
        communes.add_column("Drapeaux", justify="right")
        ranked = sorted(record.counts_by_commune.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ranked if communes_shown == 0 else ranked[:communes_shown]
        for code, count in shown:
            communes.add_row(code, reference.get(code).nom if code in reference else "?", french.count(count))
        out.print(communes)
        if len(shown) < len(ranked):
            rest = ranked[len(shown) :]
            out.print(
                f"… et {french.count(len(rest))} autres communes ({french.count(sum(n for _, n in rest))} "
                f"drapeaux) : « uptake runs show {record.id} --communes 0 » les liste toutes."
            )
    if record.timings:
        steps = Table(title="Durée des étapes", title_justify="left")
        steps.add_column("Étape")
        steps.add_column("Durée", justify="right")
        for step, seconds in record.timings.items():
            steps.add_row(STEP_LABELS.get(step, step), french.duration(seconds))
        out.print(steps)


def print_kept_parameters(record: RunRecord, out: Console) -> None:
    """The parameter values and rule settings the run used, as it kept them (the rules' files may
    have changed since)."""
    if record.parameters_used:
        parameters = Table(title="Paramètres utilisés", title_justify="left")
        # A parameter's name (what the rules write) and its date are read whole where the terminal
        # leaves room; the value and the source take the wrapping.
        parameters.add_column("Paramètre", no_wrap=out.width >= 100, overflow="fold")
        parameters.add_column("Valeur", overflow="fold")
        parameters.add_column("En vigueur depuis", min_width=10)
        parameters.add_column("Source", overflow="fold")
        for kept in french.kept_parameters(record.parameters_used):
            parameters.add_row(*kept)
        out.print(parameters)
    if record.settings_used:
        settings = Table(title="Réglages des règles", title_justify="left")
        for column in ("Règle", "Réglage", "Valeur"):
            settings.add_column(column, overflow="fold")
        for setting in french.kept_settings(record.settings_used):
            settings.add_row(*setting)
        out.print(settings)


def register(app: typer.Typer) -> None:
    """Add the `runs` command group."""
    runs = typer.Typer(help="Historique des exécutions de la détection.", no_args_is_help=True)

    @runs.command("list")
    def list_command(
        limit: int = typer.Option(
            30, "--limit", "-n", min=1, max=ROWS_MAX, help="Nombre d'exécutions affichées."
        ),
        status: str | None = typer.Option(
            None,
            "--statut",
            help=f"Seulement les exécutions de ce statut : {', '.join(STATUS_LABELS.values())}.",
            show_default=False,
        ),
    ) -> None:
        """Liste les exécutions, de la plus récente à la plus ancienne."""
        codes = {label: code for code, label in STATUS_LABELS.items()}
        code = codes.get(status) if status else None
        if status and code is None:
            raise typer.BadParameter(
                f"« {status} » n'est pas un statut (statuts : {', '.join(codes)}).", param_hint="--statut"
            )
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine, ctx.settings.home)
        records = list_runs(ctx.engine, limit=limit, status=code)
        if not records:
            if status:
                console.print(f"Aucune exécution au statut « {status} ».")
            else:
                console.print("Aucune exécution enregistrée. Lancez « uptake run --extract FICHIER ».")
            return
        console.print(runs_table(records))

    @runs.command("show")
    def show_command(
        run_id: int = typer.Argument(
            ..., metavar="ID", min=1, max=RECORD_ID_MAX, help="Numéro de l'exécution."
        ),
        communes: int = typer.Option(
            COMMUNES_SHOWN,
            "--communes",
            min=0,
            help="Communes listées (celles qui ont le plus de drapeaux ; 0 : toutes).",
        ),
    ) -> None:
        """Affiche une exécution : statut, empreintes, drapeaux par règle et par commune, durées."""
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine, ctx.settings.home)
        with transaction(ctx.engine) as session:
            record = get_run(session, run_id)
        if record is None:
            raise RunNotFound(run_id)
        print_run(record, ctx.settings.home, console, communes)

    app.add_typer(runs, name="runs")
