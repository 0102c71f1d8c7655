"""`uptake run`: one detection run on an extract, with a progress display and a French summary."""

from __future__ import annotations

import errno
import tempfile
from contextlib import suppress
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column

from detection.errors import OutputUnusable
from detection.records import STEP_LABELS
from detection.runs import INTERRUPTED_BY_USER, DetectionRunner, RunRequest
from detection.validation import ExtractRejected
from uptake import french
from uptake.commands.actors import actor_name
from uptake.commands.rules import CatalogueOption, ParametersOption
from uptake.commands.runs import print_run
from uptake.context import AppContext

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


# What the counts shown on a step's line are.
COUNTED = {"evaluation": "foyers lus", "enregistrement": "drapeaux enregistrés"}


class _Steps:
    """Shows each step of the run as a line that ticks when the next one starts; the evaluation's
    and storing lines count the households read and the flags stored (called from the reading's
    threads: rich's tasks are locked)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.current: TaskID | None = None
        self.step = ""

    def __call__(self, step: str) -> None:
        self.finish()
        self.step = step
        self.current = self.progress.add_task(STEP_LABELS.get(step, step), total=1, detail="")

    def rows(self, done: int, total: int) -> None:
        if self.current is not None and self.step in COUNTED:
            share = f" ({100 * done // total}\u202f%)" if total else ""
            detail = f"{french.count(done)} / {french.count(total)} {COUNTED[self.step]}{share}"
            self.progress.update(self.current, detail=detail)

    def finish(self) -> None:
        if self.current is not None:
            self.progress.update(self.current, completed=1)


# Why the system refused to create or write the output folder, by error number.
_REFUSALS = {
    errno.EACCES: "droits insuffisants",
    errno.EPERM: "droits insuffisants",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "disque plein",
    errno.ENOTDIR: "une partie du chemin est un fichier",
    errno.EEXIST: "un fichier porte déjà ce nom",
}


def check_output_writable(folder: Path) -> None:
    """Refuse, before the run starts, an output folder that cannot be created or written to: the run
    would otherwise read the whole extract and then fail, recorded as an internal error. The folders
    created for the test are removed (the run creates them again)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        cause = _REFUSALS.get(exc.errno or 0, "le système refuse d'y créer un fichier")
        raise OutputUnusable(
            str(folder),
            f"impossible d'y écrire ({cause})",
            "indiquez un dossier où le compte qui lance uptake peut écrire (--out)",
        ) from None
    finally:
        for created in missing:
            with suppress(OSError):
                created.rmdir()


def _rule_ids(values: list[str]) -> tuple[str, ...]:
    ids = tuple(part.strip() for value in values for part in value.split(",") if part.strip())
    if values and not ids:
        # `--rules "$REGLES"` with an empty variable would otherwise run every rule of the catalogue.
        raise typer.BadParameter(
            "aucune règle donnée : nommez-en au moins une (uptake rules check les liste), ou retirez "
            "--rules pour appliquer tout le catalogue",
            param_hint="--rules",
        )
    return ids


def register(app: typer.Typer) -> None:
    """Add the `run` command."""

    @app.command(
        "run",
        # For whoever wraps the command in a script or a cron job.
        epilog="Codes de sortie : 0 drapeaux publiés (ou extrait déjà traité), 2 extrait refusé, "
        "catalogue de règles ou paramètres invalides, cas de test d'une règle en échec, ou option "
        "invalide, 1 échec (rien n'est publié), 130 interruption (Ctrl-C ou arrêt demandé).",
    )
    def run(
        extract: Path = typer.Option(
            ...,
            "--extract",
            "-e",
            help="Extrait des foyers (Parquet ou CSV, contrat v1).",
            show_default=False,
        ),
        rules: list[str] = typer.Option(
            [],
            "--rules",
            "-r",
            help="Règles à appliquer (identifiants, répétables ou séparés par des virgules).",
        ),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Dossier de sortie de flags.parquet (défaut : $UPTAKE_HOME/runs/<n°>/)."
        ),
        force: bool = typer.Option(
            False, "--force", help="Relancer même si cet extrait a déjà été traité avec les mêmes règles."
        ),
        catalogue: CatalogueOption = None,
        parametres: ParametersOption = None,
    ) -> None:
        """Détecte les droits non réclamés dans un extrait : validation, règles, géographie, drapeaux.

        Avant de lire l'extrait, chaque règle appliquée est vérifiée par ses propres cas de test (une
        seule fois tant que la règle, ses cas, ses paramètres et le territoire ne changent pas) : si
        des cas échouent, rien n'est exécuté (code de sortie 2) et « uptake rules test --regle X » en
        montre le détail. Un cas écrit pour un autre territoire (il nomme une commune hors du territoire
        configuré, ou dépend de son éloignement, de ses distances, de ses périmètres) ne bloque pas.
        """
        ctx = AppContext.from_env()
        check_output_writable(out or ctx.settings.home / "runs")
        request = RunRequest(
            extract=extract,
            rule_ids=_rule_ids(rules),
            out_dir=out,
            force=force,
            actor=actor_name(None),
            catalogue_dir=catalogue or ctx.settings.catalogue_dir,
            parameters_dir=parametres or ctx.settings.parameters_dir,
        )
        with Progress(
            SpinnerColumn(finished_text="✓"),
            # On a narrow terminal the step's name wraps, the count of households read stays whole.
            TextColumn("{task.description}", table_column=Column(overflow="fold")),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}", table_column=Column(no_wrap=True)),
            console=err_console,
        ) as progress:
            steps = _Steps(progress)
            runner = DetectionRunner(
                ctx.engine,
                ctx.geography,
                ctx.settings.home,
                progress=steps,
                rows_progress=steps.rows,
            )
            try:
                outcome = runner.run(request)
            except ExtractRejected as rejected:
                progress.stop()
                err_console.print(rejected.report(), highlight=False, markup=False)
                err_console.print("Aucun drapeau n'a été écrit (exécution enregistrée comme rejetée).")
                raise typer.Exit(2) from None
            except KeyboardInterrupt:
                progress.stop()
                err_console.print(f"Exécution {INTERRUPTED_BY_USER}.", highlight=False)
                raise typer.Exit(130) from None
            steps.finish()
        if outcome.reused:
            earlier = outcome.run
            console.print(
                f"Cet extrait a déjà été traité avec les mêmes règles, paramètres et territoire : "
                f"exécution n° {earlier.id} du {french.moment(earlier.started_at)} "
                f"({french.count(earlier.flags_count or 0)} drapeaux). Aucun nouveau drapeau. "
                f"Voir « uptake runs show {earlier.id} », ou relancer avec --force.",
                highlight=False,
            )
            return
        print_run(outcome.run, ctx.settings.home, console)
