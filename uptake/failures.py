"""Which errors may be told as they are: the domain errors, whose French messages carry no personal
data, and the file system's refusals, told by their path and cause."""

from __future__ import annotations

import errno

# What the file system said, by error number, and what to do about it.
_FILE_PROBLEMS = {
    errno.ENOENT: "fichier ou dossier introuvable : vérifiez le chemin (le dossier doit exister)",
    errno.EACCES: "accès refusé : donnez au compte qui lance uptake le droit d'y lire ou d'y écrire",
    errno.EPERM: "opération non permise : donnez au compte qui lance uptake les droits nécessaires",
    errno.EISDIR: "c'est un dossier : donnez un chemin de fichier",
    errno.ENOTDIR: "une partie du chemin n'est pas un dossier : vérifiez le chemin",
    errno.ENOSPC: "disque plein : libérez de la place puis relancez",
    errno.EROFS: "système de fichiers en lecture seule : choisissez un autre dossier",
    # Seen when a folder is to be made where a file is (`--out extrait.parquet` for a report's folder).
    errno.EEXIST: (
        "existe déjà : là où un dossier est attendu (--out d'un rapport, de listes, d'une documentation), "
        "donnez le chemin d'un dossier, nouveau ou existant"
    ),
}


def file_problem(exc: OSError) -> str | None:
    """The French sentence for a file the system refused (`/srv/x : accès refusé : …`), or None for
    an error that is not about a named file."""
    cause = _FILE_PROBLEMS.get(exc.errno or 0)
    if cause is None or exc.filename is None:
        return None
    return f"{exc.filename} : {cause}"


def told(exc: BaseException) -> str | None:
    """The French message of a domain error (it names the input and the fix, never household data) or
    of a file the system refused (its path and the cause); None for any other error, whose message
    may quote a value and is shown by its type only."""
    # Imported here: the command line loads the domain packages only when a command needs them.
    from detection.errors import DetectionError
    from outreach.errors import OutreachError
    from privacy.errors import PrivacyError
    from rules.errors import RulesError
    from uptake.alerts import AlertsMisconfigured
    from uptake.db import DatabaseUnusable
    from uptake.users import AccountError

    domain = (
        DetectionError
        | RulesError
        | PrivacyError
        | OutreachError
        | DatabaseUnusable
        | AlertsMisconfigured
        | AccountError
    )
    if isinstance(exc, domain):
        return str(exc)
    if isinstance(exc, OSError):
        return file_problem(exc)
    return None
