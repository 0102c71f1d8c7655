"""Database setup: engines for SQLite and PostgreSQL, and Alembic migrations across the domains.

Each domain package owns its tables and its migrations (an Alembic branch in `<package>/migrations`);
`upgrade` applies every branch's head.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

# Domain packages that own tables, in dependency order.
DOMAIN_PACKAGES = ("privacy", "detection", "outreach", "uptake")


class DatabaseUnusable(Exception):
    """The configured database cannot be used; `str()` names it (password hidden) and the fix."""

    exit_code = 2


def shown(url: str) -> str:
    """A database URL fit for a message: its password, if any, hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(adresse illisible)"


def _missing_database(url: str, exc: BaseException | None) -> bool:
    """Whether a PostgreSQL server answers but has no database of that name.

    The driver's refusal carries no SQLSTATE at connection and its text is in the server's language:
    the server is asked instead, through its maintenance database `postgres`."""
    if exc is None:
        return False
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.database:
            return False
        probe = create_engine(
            parsed.set(database="postgres"), poolclass=NullPool, connect_args={"connect_timeout": 5}
        )
        try:
            with probe.connect() as connection:
                found = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
                ).first()
        finally:
            probe.dispose()
    except Exception:  # the server does not answer, or this account may not read it: not known
        return False
    return found is None


def unreachable(url: str, exc: BaseException | None = None) -> DatabaseUnusable:
    """The error for a database that does not answer or refuses the operation (`exc`, the driver's
    error, tells a PostgreSQL database that does not exist: `uptake db upgrade` cannot create it).

    Called in an `except` block without `exc`, the error being handled is the one looked at."""
    if _missing_database(url, exc if exc is not None else sys.exc_info()[1]):
        parsed = make_url(url)
        name, user = parsed.database or "uptake", parsed.username or "uptake"
        host = f" -h {parsed.host}" if parsed.host else ""
        return DatabaseUnusable(
            f"la base de données {shown(url)} n'existe pas sur le serveur PostgreSQL : créez-la "
            f"(« createdb{host} -U postgres -O {user} {name} », ou en SQL « CREATE DATABASE {name} "
            f"OWNER {user}; »), puis lancez « uptake db upgrade », qui crée les tables"
        )
    if url.startswith("sqlite"):
        # A file, not a server: what refuses it is the file system (rights, a read-only disk).
        path = make_url(url).database or ""
        return DatabaseUnusable(
            f"la base SQLite {path} ne peut être ouverte ou modifiée : vérifiez que le compte qui lance "
            f"uptake peut lire et écrire ce fichier et son dossier {Path(path).parent} (droits, disque en "
            "lecture seule, disque plein)"
        )
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.username:
        # The server refuses a role it does not know as it refuses a wrong password, in its own
        # language: the command that creates the role is said with the rest.
        host = f" -h {parsed.host}" if parsed.host else ""
        return DatabaseUnusable(
            f"la base de données {shown(url)} ne répond pas ou refuse l'opération : vérifiez que le "
            f"serveur est démarré, l'adresse (UPTAKE_DATABASE_URL), que l'utilisateur {parsed.username} "
            f"existe sur le serveur (sinon : « createuser{host} -U postgres {parsed.username} ») et ses "
            "droits"
        )
    return DatabaseUnusable(
        f"la base de données {shown(url)} ne répond pas ou refuse l'opération : vérifiez que le "
        "serveur est démarré, l'adresse (UPTAKE_DATABASE_URL), l'utilisateur et ses droits"
    )


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only, in a folder of its own (0700) when the
    folder is new: the file holds pseudonymised households and the outreach history (SQLite gives
    its -wal and -shm files the database file's permissions)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnusable(
            "UPTAKE_DATABASE_URL n'est pas une adresse de base de données : écrivez par exemple "
            "postgresql+psycopg://utilisateur@hôte/base, ou laissez-la vide pour SQLite"
        ) from None
    if parsed.get_backend_name() in ("postgres", "pgsql", "psql"):  # libpq's spelling, not SQLAlchemy's
        raise DatabaseUnusable(
            f"UPTAKE_DATABASE_URL commence par « {parsed.drivername}:// » : SQLAlchemy demande "
            "« postgresql+psycopg:// » ; écrivez postgresql+psycopg://utilisateur@hôte/base"
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUnusable(
            f"UPTAKE_DATABASE_URL désigne une base {parsed.get_backend_name()}, que uptake ne prend pas "
            "en charge : utilisez PostgreSQL (postgresql+psycopg://utilisateur@hôte/base), ou laissez "
            "la variable vide pour SQLite"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError:  # a driver other than the one installed, e.g. postgresql+asyncpg
        raise DatabaseUnusable(
            f"UPTAKE_DATABASE_URL demande le pilote {parsed.get_driver_name()}, qui n'est pas installé : "
            "écrivez postgresql+psycopg://utilisateur@hôte/base"
        ) from None


def _migration_dirs() -> list[str]:
    dirs = []
    for name in DOMAIN_PACKAGES:
        module = importlib.import_module(name)
        folder = Path(str(module.__path__[0])) / "migrations"
        if name == "uptake":
            folder = folder / "versions"
        if folder.is_dir():
            dirs.append(str(folder))
    return dirs


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to `engine`, with every domain's version folder."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(_migration_dirs()))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or migrate the database to the newest schema of every domain."""
    newest = newest_revisions()
    if newest is not None and applied_revisions(engine) == newest:
        return  # the usual case, told without loading Alembic (a fifth of a command's start-up)
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")


def newest_revisions() -> frozenset[str] | None:
    """The head revision of every domain's branch, read from the migration files' `revision` and
    `down_revision` assignments (the same heads as Alembic's, a test checks it); None when a file
    does not write them as plain values, and Alembic, which runs the files, must decide."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for folder in _migration_dirs():
        for path in Path(folder).glob("*.py"):
            try:
                values = _assignments(path, ("revision", "down_revision"))
            except (SyntaxError, ValueError):  # not a literal: a computed revision
                return None
            revision, down = values.get("revision"), values.get("down_revision")
            if not isinstance(revision, str):
                return None
            revisions.add(revision)
            replaced.update([down] if isinstance(down, str) else down or ())
    return frozenset(revisions - replaced)


def _assignments(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            target, value = node.targets[0].id, node.value
        if target in names and value is not None:
            found[target] = ast.literal_eval(value)
    return found


def applied_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions recorded in the database (`alembic_version`); None when it has none yet."""
    try:
        with engine.connect() as connection:
            return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except DBAPIError:  # no such table: a new database
        return None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit (values stay readable after a commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session, committed on success and rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session
