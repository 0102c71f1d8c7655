"""`uptake users …`: accounts of the web application (passwords read from standard input only)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from uptake.context import AppContext
from uptake.db import transaction
from uptake.users import ROLES, AccountError, add_user, disable_user, list_accounts, reset_password

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def _read_password(from_stdin: bool) -> str:
    if not from_stdin:
        raise AccountError(
            "Le mot de passe se lit sur l'entrée standard : ajoutez --password-stdin "
            "(par exemple : printf '%s' \"$MOT_DE_PASSE\" | uptake users add …)."
        )
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise AccountError("Aucun mot de passe reçu sur l'entrée standard.")
    return password


def _fail(exc: AccountError) -> typer.Exit:
    err_console.print(f"[bold red]Erreur :[/] {exc}", highlight=False)
    return typer.Exit(exc.exit_code)


def register(app: typer.Typer) -> None:
    """Add the `users` command group."""
    users = typer.Typer(help="Comptes de l'application web.", no_args_is_help=True)

    @users.command("add")
    def add_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant de connexion.")],
        role: Annotated[str, typer.Option("--role", help=f"Rôle : {', '.join(ROLES)}.")],
        secteur: Annotated[
            list[str] | None,
            typer.Option("--secteur", help="Code INSEE d'une commune du secteur (répétable)."),
        ] = None,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
        ] = False,
    ) -> None:
        """Crée un compte (travailleur social, équipe données, DPO ou administrateur)."""
        ctx = AppContext.from_env()
        try:
            password = _read_password(password_stdin)
            with transaction(ctx.engine) as session:
                account = add_user(
                    session,
                    login,
                    role=role,
                    password=password,
                    secteurs=secteur or (),
                    known_communes=ctx.territory.communes,
                )
        except AccountError as exc:
            raise _fail(exc) from None
        sectors = f", secteurs : {', '.join(account.secteurs)}" if account.secteurs else ""
        console.print(f"Compte créé : [bold]{account.login}[/] ({account.role_label}{sectors}).")

    @users.command("disable")
    def disable_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
    ) -> None:
        """Désactive un compte : plus de connexion, sessions ouvertes fermées."""
        ctx = AppContext.from_env()
        try:
            with transaction(ctx.engine) as session:
                account = disable_user(session, login)
        except AccountError as exc:
            raise _fail(exc) from None
        console.print(f"Compte désactivé : [bold]{account.login}[/].")

    @users.command("reset-password")
    def reset_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
        ] = False,
    ) -> None:
        """Remplace le mot de passe d'un compte."""
        ctx = AppContext.from_env()
        try:
            password = _read_password(password_stdin)
            with transaction(ctx.engine) as session:
                account = reset_password(session, login, password)
        except AccountError as exc:
            raise _fail(exc) from None
        console.print(f"Mot de passe remplacé pour [bold]{account.login}[/].")

    @users.command("list")
    def list_command() -> None:
        """Liste les comptes, leur rôle, leurs secteurs et leur état."""
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            accounts = list_accounts(session)
        table = Table("Identifiant", "Rôle", "Secteurs", "État")
        for a in accounts:
            table.add_row(
                a.login, a.role_label, ", ".join(a.secteurs) or "—", "actif" if a.active else "désactivé"
            )
        console.print(table)

    app.add_typer(users, name="users")
