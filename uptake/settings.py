"""Where uptake keeps its data, which database it uses and where its configuration lives."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Resolved locations for one process."""

    home: Path
    database_url: str
    config_dir: Path

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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read `UPTAKE_HOME`, `UPTAKE_DATABASE_URL` and `UPTAKE_CONFIG` from the environment."""
    env = os.environ if environ is None else environ
    home = Path(env.get("UPTAKE_HOME", ".uptake")).expanduser().resolve()
    url = env.get("UPTAKE_DATABASE_URL") or f"sqlite:///{home / 'uptake.sqlite3'}"
    config_dir = Path(env["UPTAKE_CONFIG"]).resolve() if env.get("UPTAKE_CONFIG") else None
    return Settings(home=home, database_url=url, config_dir=config_dir or default_config_dir())
