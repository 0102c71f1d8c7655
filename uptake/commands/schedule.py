"""`uptake schedule …` (planned jobs) and `uptake scheduler` (the daemon that runs them)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from detection.runs import recover_interrupted_runs
from uptake.context import AppContext
from uptake.jobs import JOBS, ScheduleError
from uptake.logs import configure_json_logging
from uptake.scheduler import (
    ScheduleInfo,
    add_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
    run_daemon,
    run_schedule_now,
)

console = Console()


def _params(inbox: Path | None, pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ScheduleError(f"paramètre « {pair} » mal formé : écrivez --param nom=valeur")
        params[key.strip()] = value.strip()
    if inbox is not None:
        params["inbox"] = str(inbox.expanduser().resolve())
    return params


def _next(info: ScheduleInfo) -> str:
    return "en pause" if info.next_run is None else f"{info.next_run:%d/%m/%Y %H:%M %Z}"


def register(app: typer.Typer) -> None:
    """Add the `schedule` command group and the `scheduler` daemon command."""
    schedule = typer.Typer(help="Planification des tâches (détection mensuelle…).", no_args_is_help=True)

    @schedule.command("add")
    def add_command(
        name: str = typer.Argument(..., metavar="NOM", help="Nom de la planification."),
        cron: str = typer.Option(
            ..., "--cron", help='Expression cron, heure de Paris (ex. "0 6 5 * *" : le 5 du mois à 6 h).'
        ),
        job: str = typer.Option(..., "--job", help=f"Tâche : {', '.join(sorted(JOBS))}."),
        inbox: Path | None = typer.Option(
            None, "--inbox", help="Dossier de dépôt des extraits (tâche detection)."
        ),
        param: list[str] = typer.Option([], "--param", help="Autre paramètre de la tâche : nom=valeur."),
    ) -> None:
        """Ajoute une planification (conservée en base : elle survit aux redémarrages)."""
        ctx = AppContext.from_env()
        info = add_schedule(ctx.engine, name, cron=cron, job=job, params=_params(inbox, param))
        console.print(f"Planification « {info.name} » ajoutée : prochaine exécution {_next(info)}.")

    @schedule.command("list")
    def list_command() -> None:
        """Liste les planifications et leur prochaine exécution."""
        ctx = AppContext.from_env()
        infos = list_schedules(ctx.engine)
        if not infos:
            console.print("Aucune planification. Ajoutez-en une avec « uptake schedule add ».")
            return
        table = Table(title="Planifications", title_justify="left")
        for header in ("Nom", "Tâche", "Cron", "Prochaine exécution"):
            table.add_column(header, no_wrap=header != "Nom")
        table.add_column("Paramètres", overflow="fold")  # a folder path is read whole
        for info in infos:
            params = ", ".join(f"{k}={v}" for k, v in sorted(info.params.items()))
            table.add_row(info.name, info.job, info.cron, _next(info), params)
        console.print(table)

    @schedule.command("pause")
    def pause_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Suspend une planification."""
        info = pause_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » en pause.")

    @schedule.command("resume")
    def resume_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Reprend une planification suspendue."""
        info = resume_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » reprise : prochaine exécution {_next(info)}.")

    @schedule.command("run")
    def run_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Demande une exécution immédiate (faite par le démon « uptake scheduler »)."""
        info = run_schedule_now(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » : exécution demandée, le démon la lancera sous peu.")

    @schedule.command("remove")
    def remove_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Supprime une planification."""
        info = remove_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » supprimée.")

    app.add_typer(schedule, name="schedule")

    @app.command("scheduler")
    def scheduler_command() -> None:
        """Démon de planification : exécute les tâches planifiées (arrêt propre sur SIGTERM)."""
        configure_json_logging()
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine)
        run_daemon(ctx.engine)
