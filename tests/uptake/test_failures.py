"""What may be told of an error: domain errors as they are, a refused file by its path and cause."""

from __future__ import annotations

import errno
from pathlib import Path

from uptake.failures import told


def test_a_refused_file_is_told_by_its_path_and_what_to_do() -> None:
    refused = PermissionError(errno.EACCES, "Permission denied", "/srv/uptake/depot/extrait.parquet")
    assert told(refused) == (
        "/srv/uptake/depot/extrait.parquet : accès refusé : donnez au compte qui lance uptake le droit "
        "d'y lire ou d'y écrire"
    )
    assert "disque plein" in (told(OSError(errno.ENOSPC, "No space left", "/srv/uptake/runs/4")) or "")


def test_other_system_errors_are_not_told_for_their_text_may_hold_anything() -> None:
    assert told(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")) is None
    assert told(OSError(errno.ENOENT, "No such file")) is None  # no path: nothing useful to say
    assert told(ValueError("valeur 0612345678 invalide")) is None


def test_a_report_that_cannot_be_written_is_told_not_an_internal_error(cli, tmp_path: Path) -> None:
    a_file = tmp_path / "fichier.txt"
    a_file.write_text("x", encoding="utf-8")
    result = cli("report", "--out", str(a_file / "rapport"))
    assert result.code == 1
    assert "Erreur interne" not in result.stderr
    assert "une partie du chemin n'est pas un dossier" in " ".join(result.stderr.split())
