"""The files a command writes at a path its user gives: checked before any work is done."""

from __future__ import annotations

from pathlib import Path

import typer

ReplaceOption = typer.Option(False, "--remplacer", help="Remplace le fichier de sortie s'il existe déjà.")


def check_new_file(path: Path, *, option: str, replace: bool = False) -> None:
    """Refuse, before anything is done, an output path that is a folder, lies in a missing folder, or
    would overwrite a file without `replace` (an extract or a report given by a slip of the
    keyboard must not be lost)."""
    if path.is_dir():
        raise typer.BadParameter(f"{path} est un dossier : donnez le chemin d'un fichier", param_hint=option)
    if not path.parent.is_dir():
        raise typer.BadParameter(
            f"le dossier {path.parent} n'existe pas : créez-le, ou donnez un autre chemin", param_hint=option
        )
    if path.exists() and not replace:
        raise typer.BadParameter(
            f"{path} existe déjà : choisissez un autre nom, ou ajoutez --remplacer pour l'écraser",
            param_hint=option,
        )


def print_files_left(left: list[str] | tuple[str, ...], home: Path, done: str) -> None:
    """Say which recorded files were left alone: another data folder wrote them outside itself, and
    this one (`home`) is a copy of it or was moved (`privacy.datafolder`). `done`: what was not done
    to them, as a past participle (« supprimé »)."""
    if not left:
        return
    typer.echo(
        f"{len(left)} fichier(s) laissé(s) en place, non {done}(s) : écrits hors du dossier de données par "
        f"un autre dossier de données, dont celui-ci ({home}) est une copie ou qu'il remplace après un "
        "déplacement. S'ils doivent disparaître, faites-le depuis le dossier d'origine, ou à la main :"
    )
    for name in left:
        typer.echo(f"  {name}")
