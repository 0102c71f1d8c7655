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
