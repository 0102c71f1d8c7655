"""Who acts, as the audit log records it, and the keyring: shared by the commands that write."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from privacy.keys import Keyring
    from uptake.context import AppContext

ACTOR_ENV = "UPTAKE_ACTEUR"

ActorOption = typer.Option(
    None, "--acteur", help="Qui agit (journal d'audit) ; par défaut $UPTAKE_ACTEUR ou l'utilisateur."
)


def actor_name(given: str | None) -> str:
    """The actor recorded in the audit log."""
    return given or os.environ.get(ACTOR_ENV) or getpass.getuser()


def keyring_of(ctx: AppContext) -> Keyring:
    """The keyring of the data folder (master secret from the environment or `$UPTAKE_HOME/master.key`)."""
    return ctx.keyring
