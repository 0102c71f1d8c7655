"""Where uptake keeps its data, which database it uses and where its configuration lives."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

DATABASE_ENV = "UPTAKE_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    """Resolved locations for one process."""

    home: Path
    database_url: str
    config_dir: Path
    # Whether UPTAKE_DATABASE_URL chose the database: then a missing SQLite file is a mistyped
    # address, not a first use.
    database_given: bool = False
    # The installation's own rules and parameters (UPTAKE_REGLES, UPTAKE_PARAMETRES); None: the
    # shipped ones. Another Caf's copy of the catalogue names its own communes in the rules' cases.
    catalogue_dir: Path | None = None
    parameters_dir: Path | None = None

    @property
    def keys_dir(self) -> Path:
        """Key material: under the data folder, never in the repository or the database."""
        return self.home / "keys"


def default_config_dir() -> Path:
    """The embedded configuration: shipped in the wheel, or the repository's `config/`."""
    packaged = Path(str(resources.files("uptake"))) / "_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "config"


def _default_database(home: Path) -> Path:
    return home / "uptake.sqlite3"


def _is_default(url: str, home: Path) -> bool:
    """Whether `url` names the default database under `UPTAKE_HOME` (created on first use)."""
    path = sqlite_file(url)
    return path is not None and path.resolve() == _default_database(home)


def _in_memory(url: str) -> bool:
    """Whether `url` is an SQLite database held in memory (`sqlite://`, `sqlite:///:memory:`)."""
    return url.startswith("sqlite") and url.split("?")[0].rstrip("/").endswith(("sqlite:", ":memory:"))


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL; None for another database, an in-memory one or an unreadable URL."""
    if not url.startswith("sqlite"):
        return None  # spares loading SQLAlchemy to the commands that never open the database
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # `make_engine` says how to write the address
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri"):  # `file:` URIs: sqlite3 reads them, not a plain path
        return None
    return Path(parsed.database or "").expanduser()


def database_problem(settings: Settings, *, creating: bool = False) -> str | None:
    """Why the configured SQLite file cannot be opened as uptake's database (None when it can, or
    when the database is not an SQLite file): a folder, a file that does not exist although
    UPTAKE_DATABASE_URL names it (unless `creating` it), an emptied file in a data folder in use;
    or a data folder (UPTAKE_HOME) that is a file.

    The file itself is never opened here: closing any descriptor of an SQLite file releases every
    lock the process holds on it (POSIX locks), which would corrupt the writes of the connections a
    daemon keeps open. A file that is not a database is told when SQLite refuses it
    (`not_a_database`)."""
    if settings.home.exists() and not settings.home.is_dir():
        return (
            f"UPTAKE_HOME désigne un fichier ({settings.home}) : il doit désigner le dossier de données "
            f"d'uptake (créé au premier usage), par exemple {settings.home.parent / '.uptake'}"
        )
    path = sqlite_file(settings.database_url)
    if path is None:
        if settings.database_given and _in_memory(settings.database_url):
            return (
                f"{DATABASE_ENV} désigne une base SQLite en mémoire : rien n'y serait conservé au-delà de "
                "la commande (exécutions, drapeaux, journal d'audit) ; donnez un fichier, par exemple "
                f"sqlite:///{settings.home / 'uptake.sqlite3'}"
            )
        return None
    named = f"la base SQLite {path} ({DATABASE_ENV})" if settings.database_given else f"la base {path}"
    if path.is_dir():
        example = path / "uptake.sqlite3"
        return f"{named} est un dossier : l'adresse doit désigner un fichier, par exemple {example}"
    if settings.database_given and not creating and not path.exists():
        folder = "" if path.parent.is_dir() else f" (ni son dossier {path.parent})"
        return (
            f"{named} n'existe pas{folder} : vérifiez l'adresse, une faute de frappe créerait une base "
            "vide ; pour créer une nouvelle base à cette adresse, lancez « uptake db upgrade »"
        )
    if path.is_file() and path.stat().st_size == 0 and _in_use(settings):
        # SQLite would take the empty file for a new database, and the runs, campaigns and audit log
        # of this folder would silently start again from nothing.
        return (
            f"{named} est vide (0 octet) alors que le dossier de données {settings.home} contient des "
            "clés et des exécutions : elle a été vidée ou remplacée ; restaurez-la depuis sa sauvegarde "
            "(pour repartir de zéro en connaissance de cause, supprimez ce fichier vide)"
        )
    return None


def _in_use(settings: Settings) -> bool:
    """Whether the data folder holds what only a used database goes with: keys and runs."""
    runs = settings.home / "runs"
    has_keys = settings.keys_dir.is_dir() and any(settings.keys_dir.glob("*.key"))
    return has_keys and runs.is_dir() and any(runs.iterdir())


def not_a_database(settings: Settings) -> str:
    """What to say when SQLite refuses the configured file (`file is not a database`)."""
    path = sqlite_file(settings.database_url)
    if path is None:
        return "la base de données configurée est illisible (UPTAKE_DATABASE_URL)"
    if settings.database_given:
        return (
            f"la base SQLite {path} ({DATABASE_ENV}) n'est pas une base de données SQLite : vérifiez "
            "l'adresse, qui doit désigner la base d'uptake"
        )
    return (
        f"la base {path} n'est pas une base de données SQLite : le fichier a été remplacé ou endommagé, "
        "restaurez-le depuis sa sauvegarde"
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read `UPTAKE_HOME`, `UPTAKE_DATABASE_URL`, `UPTAKE_CONFIG`, `UPTAKE_REGLES` and
    `UPTAKE_PARAMETRES` from the environment."""
    env = os.environ if environ is None else environ
    # Empty counts as unset: `UPTAKE_HOME=` must not make the current folder the data folder.
    home = Path(env.get("UPTAKE_HOME") or ".uptake").expanduser().resolve()
    given = env.get(DATABASE_ENV) or ""
    url = given or f"sqlite:///{_default_database(home)}"
    config_dir = Path(env["UPTAKE_CONFIG"]).resolve() if env.get("UPTAKE_CONFIG") else None
    return Settings(
        home=home,
        database_url=url,
        config_dir=config_dir or default_config_dir(),
        database_given=bool(given) and not _is_default(given, home),
        catalogue_dir=_folder(env, "UPTAKE_REGLES"),
        parameters_dir=_folder(env, "UPTAKE_PARAMETRES"),
    )


def _folder(env: Mapping[str, str], name: str) -> Path | None:
    """The folder the variable `name` gives, absolute (the daemon works from another folder)."""
    return Path(env[name]).expanduser().resolve() if env.get(name) else None
