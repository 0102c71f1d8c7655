"""`uptake schedule …` (planned jobs) and `uptake scheduler` (the daemon that runs them)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from uptake import french
from uptake.commands.tables import compact_table
from uptake.context import AppContext
from uptake.jobs import JOBS, ScheduleError, jobs_described
from uptake.logs import configure_json_logging
from uptake.scheduler import (
    OUTCOME_LABELS,
    SUCCEEDED,
    ScheduleInfo,
    add_schedule,
    daemon_sentence,
    daemons,
    failure_sentences,
    list_schedules,
    missed_sentences,
    never_sentences,
    next_run_text,
    pause_schedule,
    purge_sentence,
    remove_schedule,
    resume_schedule,
    rezone_schedule,
    run_daemon,
    run_schedule_now,
    zone_sentences,
)

console = Console(emoji=False)
# Below this width the list of schedules is written as paragraphs, not a table.
NARROW = 100


def _params(inbox: Path | None, pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ScheduleError(f"paramètre « {pair} » mal formé : écrivez --param nom=valeur")
        if key.strip() in params:  # the last would win without a word
            raise ScheduleError(
                f"paramètre « {key.strip()} » donné deux fois ({params[key.strip()]} et {value.strip()}) : "
                "gardez une seule valeur"
            )
        params[key.strip()] = value.strip()
    if inbox is not None:
        if "inbox" in params:  # one of them would be dropped without a word
            raise ScheduleError(
                f"dossier de dépôt donné deux fois (--inbox {inbox} et --param inbox={params['inbox']}) : "
                "gardez seulement --inbox"
            )
        params["inbox"] = str(inbox)
    # Relative paths are made absolute when the job's parameters are checked (`JobSpec.checked`).
    return params


def _last(info: ScheduleInfo) -> str:
    """The last execution a daemon started, and how it ended (« en cours » while it runs); what a
    success found to say with it (« rien de nouveau à traiter »), a failure's cause being told below
    the table."""
    started = french.moment(info.last_claimed, short=True)
    label = OUTCOME_LABELS.get(info.last_outcome or "") or ("en cours" if info.last_claimed else "")
    if label and info.last_outcome == SUCCEEDED and info.last_message:
        label = f"{label} : {info.last_message}"
    return f"{started}\n{label}" if label else started


def register(app: typer.Typer) -> None:
    """Add the `schedule` command group and the `scheduler` daemon command."""
    schedule = typer.Typer(help="Planification des tâches (détection mensuelle…).", no_args_is_help=True)

    @schedule.command("add", epilog=f"Tâches\n\n{jobs_described()}")
    def add_command(
        name: str = typer.Argument(..., metavar="NOM", help="Nom de la planification."),
        cron: str = typer.Option(
            ...,
            "--cron",
            help="Expression cron standard, à l'heure de la Caf (UPTAKE_FUSEAU, Europe/Paris par défaut ; "
            'ex. "0 6 5 * *" : le 5 du mois à 6 h ; '
            '"30 7 * * 1-5" : du lundi au vendredi à 7 h 30 ; 0 ou 7 = dimanche).',
        ),
        job: str = typer.Option(..., "--job", help=f"Tâche : {', '.join(sorted(JOBS))}."),
        inbox: Path | None = typer.Option(
            None,
            "--inbox",
            help="Dossier de dépôt des fichiers à traiter (tâches "
            + ", ".join(sorted(name for name, spec in JOBS.items() if "inbox" in spec.required))
            + ").",
        ),
        param: list[str] = typer.Option(
            [],
            "--param",
            help="Autre paramètre de la tâche : nom=valeur, répétable (paramètres de chaque tâche "
            "ci-dessous ; detection : min_age_s=60, âge minimal en secondes d'un fichier déposé, plus "
            "récent il peut être encore en cours de copie).",
        ),
    ) -> None:
        """Ajoute une planification (conservée en base : elle survit aux redémarrages)."""
        ctx = AppContext.from_env()
        info = add_schedule(ctx.engine, name, cron=cron, job=job, params=_params(inbox, param))
        console.print(f"Planification « {info.name} » ajoutée : prochaine exécution {next_run_text(info)}.")

    @schedule.command("list")
    def list_command() -> None:
        """Liste les planifications et leur prochaine exécution."""
        ctx = AppContext.from_env()
        infos = list_schedules(ctx.engine)
        unpurged = purge_sentence(infos)
        if not infos:
            console.print("Aucune planification. Ajoutez-en une avec « uptake schedule add ».")
            console.print(unpurged, style="bold")
            return
        if console.width < NARROW:
            # Six columns do not fit: dates and parameters would be cut. One paragraph each instead.
            console.print("Planifications", style="bold")
            for info in infos:
                params = ", ".join(f"{k}={v}" for k, v in sorted(info.params.items())) or "aucun"
                last = _last(info).replace("\n", " ") or "—"
                console.print(
                    f"• {info.name} ({info.job}) : cron « {info.cron} » ; prochaine : "
                    f"{next_run_text(info, short=True)} ; dernière : {last} ; paramètres : {params}",
                    highlight=False,
                )
        else:
            console.print(_table(infos))
        sentences = never_sentences(infos) + zone_sentences(infos) + missed_sentences(infos)
        for sentence in sentences + failure_sentences(infos):
            console.print(sentence, style="bold")
        if unpurged:
            console.print(unpurged, style="bold")
        console.print(daemon_sentence(daemons(ctx.engine)))

    def _table(infos: list[ScheduleInfo]) -> Table:
        table = compact_table("Planifications")
        table.add_column("Nom", overflow="fold", min_width=8)
        table.add_column("Tâche", no_wrap=True)
        table.add_column("Cron", no_wrap=True)
        table.add_column("Prochaine", no_wrap=True)
        # The last execution a daemon started; a success's note (« rien de nouveau… ») is read whole.
        table.add_column("Dernière", overflow="fold", min_width=14)
        table.add_column("Paramètres", overflow="fold", min_width=12)  # a folder path is read whole
        for info in infos:
            params = ", ".join(f"{k}={v}" for k, v in sorted(info.params.items()))
            table.add_row(
                info.name,
                info.job,
                info.cron,
                next_run_text(info, short=True),
                _last(info),
                params,
            )
        return table

    @schedule.command("pause")
    def pause_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Suspend une planification."""
        info = pause_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » en pause.")

    @schedule.command("resume")
    def resume_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Reprend une planification suspendue."""
        info = resume_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » reprise : prochaine exécution {next_run_text(info)}.")

    @schedule.command("run")
    def run_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Demande une exécution immédiate (faite par le démon « uptake scheduler »)."""
        engine = AppContext.from_env().engine
        known = [s for s in list_schedules(engine) if s.name == name]
        was_paused = any(s.paused for s in known)
        running = next((s for s in known if s.last_claimed and s.last_outcome is None), None)
        alive = any(d.alive for d in daemons(engine))
        if running is not None and running.last_claimed is not None and alive:
            # One execution at a time: a second request now would be dropped by the daemon.
            console.print(
                f"Planification « {name} » : une exécution est en cours depuis le "
                f"{french.moment(running.last_claimed)} ; rien n'est demandé en plus. Relancez une fois "
                "qu'elle est finie (« uptake schedule list » dit quand)."
            )
            return
        info = run_schedule_now(engine, name)
        if alive:
            console.print(
                f"Planification « {info.name} » : exécution demandée, le démon la lancera sous peu."
            )
        else:
            # Asked all the same: it runs as soon as a daemon starts, which must be said.
            console.print(
                f"Planification « {info.name} » : exécution demandée, mais elle ne se fera qu'au démarrage "
                f"du démon. {daemon_sentence(daemons(engine))}"
            )
        if was_paused:
            console.print(
                "Elle était en pause : après cette exécution, elle suit de nouveau son rythme ; "
                f"« uptake schedule pause {info.name} » la suspend encore."
            )

    @schedule.command("fuseau")
    def rezone_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Passe une planification au fuseau de l'installation (UPTAKE_FUSEAU), aux mêmes heures."""
        info, before = rezone_schedule(AppContext.from_env().engine, name)
        if before == info.zone:
            console.print(f"Planification « {info.name} » : déjà dans le fuseau {info.zone}, rien à changer.")
            return
        console.print(
            f"Planification « {info.name} » : heures lues dans le fuseau {info.zone} "
            f"(et non plus {before}) ; prochaine exécution {next_run_text(info)}."
        )

    @schedule.command("remove")
    def remove_command(name: str = typer.Argument(..., metavar="NOM")) -> None:
        """Supprime une planification."""
        info = remove_schedule(AppContext.from_env().engine, name)
        console.print(f"Planification « {info.name} » supprimée.")

    app.add_typer(schedule, name="schedule")

    @app.command("scheduler")
    def scheduler_command() -> None:
        """Démon de planification : exécute les tâches planifiées (arrêt propre sur SIGTERM)."""
        from detection.recovery import recover_interrupted_runs

        configure_json_logging()
        ctx = AppContext.from_env()
        recover_interrupted_runs(ctx.engine, ctx.settings.home)
        run_daemon(ctx.engine)
