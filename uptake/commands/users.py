"""`uptake users …`: accounts of the web application (passwords read from standard input only)."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from uptake import french
from uptake.commands.actors import ActorOption, actor_name
from uptake.context import AppContext
from uptake.db import transaction
from uptake.users import (
    DORMANT_AFTER,
    ROLES,
    AccountError,
    add_user,
    disable_dormant,
    dormant_sweeps,
    list_accounts,
    parse_sectors,
    reset_password,
    review_accounts,
    set_active,
    set_sectors,
)

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)
# Module-level: typer reads the commands' annotations from this module's names.
final_option = typer.Option(
    "--mot-de-passe-definitif",
    help="Le mot de passe a été choisi par la personne elle-même : il n'est pas à remplacer à sa "
    "première connexion (sinon il est provisoire).",
)
sector_option = typer.Option(
    "--secteur",
    help="Code INSEE d'une commune du secteur (répétable, ou plusieurs séparés par des virgules).",
)


def read_password(from_stdin: bool, *, prompt: str | None = None, example: str = "uptake users add …") -> str:
    """The password given on standard input (`--password-stdin`), or typed in a terminal when a
    `prompt` is given; never an argument, which would stay in the shell's history."""
    if not from_stdin and prompt is not None and sys.stdin.isatty():
        password = getpass.getpass(prompt)
    elif not from_stdin:
        raise AccountError(
            "Le mot de passe se lit sur l'entrée standard : ajoutez --password-stdin "
            f"(par exemple : printf '%s' \"$MOT_DE_PASSE\" | {example})."
        )
    else:
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
        secteur: Annotated[list[str] | None, sector_option] = None,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
        ] = False,
        final: Annotated[bool, final_option] = False,
        acteur: str | None = ActorOption,
    ) -> None:
        """Crée un compte (travailleur social, équipe données, DPO ou administrateur).

        Son mot de passe est provisoire : la personne le remplace par le sien à sa première connexion
        (« Mon compte »), sauf avec --mot-de-passe-definitif."""
        ctx = AppContext.from_env()
        try:
            password = read_password(password_stdin)
            with transaction(ctx.engine) as session:
                account = add_user(
                    session,
                    login,
                    role=role,
                    password=password,
                    actor=actor_name(acteur),
                    secteurs=parse_sectors(secteur or ()),
                    known_communes=ctx.territory.communes,
                    temporary=not final,
                )
        except AccountError as exc:
            raise _fail(exc) from None
        sectors = f", secteurs : {', '.join(account.secteurs)}" if account.secteurs else ""
        console.print(f"Compte créé : [bold]{account.login}[/] ({account.role_label}{sectors}).")
        if account.password_temporary:
            console.print("Mot de passe provisoire : à remplacer à la première connexion (« Mon compte »).")

    @users.command("sectors")
    def sectors_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
        secteur: Annotated[list[str], sector_option],
        acteur: str | None = ActorOption,
    ) -> None:
        """Remplace les secteurs d'un travailleur social (sa liste d'appels suit dès sa page suivante)."""
        ctx = AppContext.from_env()
        try:
            with transaction(ctx.engine) as session:
                change = set_sectors(
                    session,
                    login,
                    parse_sectors(secteur),
                    actor=actor_name(acteur),
                    known_communes=ctx.territory.communes,
                )
        except AccountError as exc:
            raise _fail(exc) from None
        sectors = ", ".join(change.account.secteurs)
        if change.changed:
            console.print(f"Secteurs de [bold]{login}[/] : {sectors}.")
        else:
            console.print(f"Rien à changer : les secteurs de [bold]{login}[/] sont déjà {sectors}.")

    def _set_active(login: str, active: bool, acteur: str | None) -> None:
        ctx = AppContext.from_env()
        try:
            with transaction(ctx.engine) as session:
                change = set_active(session, login, active, actor=actor_name(acteur))
        except AccountError as exc:
            raise _fail(exc) from None
        state = "réactivé" if active else "désactivé"
        if change.changed:
            console.print(f"Compte {state} : [bold]{login}[/].")
        else:
            console.print(f"Rien à changer : le compte [bold]{login}[/] est déjà {state}.")
        if not active and change.account.role == "admin":
            with transaction(ctx.engine) as session:
                admins_left = [a for a in list_accounts(session) if a.role == "admin" and a.active]
            if not admins_left:
                console.print(
                    "[bold]Attention[/] : plus aucun compte administrateur actif. Personne ne peut plus "
                    "gérer les comptes depuis l'application web ; réactivez-en un "
                    f"(uptake users enable {login}) ou créez-en un (uptake users add … --role admin).",
                    highlight=False,
                )

    @users.command("disable")
    def disable_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
        acteur: str | None = ActorOption,
    ) -> None:
        """Désactive un compte : plus de connexion, sessions ouvertes fermées."""
        _set_active(login, False, acteur)

    @users.command("disable-dormant")
    def disable_dormant_command(
        jours: Annotated[
            int,
            typer.Option(
                "--jours",
                min=30,
                max=3650,
                help="Désactiver les comptes sans connexion depuis plus de ce nombre de jours.",
            ),
        ] = DORMANT_AFTER.days,
        acteur: str | None = ActorOption,
    ) -> None:
        """Désactive les comptes sans connexion depuis plus de 90 jours (sauf le dernier administrateur).

        Un compte créé, réactivé ou dont le mot de passe a été remplacé depuis compte à partir de ce
        moment-là. Pour le faire chaque jour : uptake schedule add … --job comptes_inactifs."""
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            sweep = disable_dormant(session, actor=actor_name(acteur), after=timedelta(days=jours))
        if sweep.disabled:
            what = "compte désactivé" if len(sweep.disabled) == 1 else "comptes désactivés"
            console.print(
                f"{french.count(len(sweep.disabled))} {what} : [bold]{', '.join(sweep.disabled)}[/]."
            )
        else:
            console.print(f"Aucun compte sans connexion depuis plus de {jours} jours : rien à désactiver.")
        if sweep.admin_kept is not None:
            console.print(
                f"[bold yellow]Gardé actif :[/] [bold]{sweep.admin_kept}[/], le dernier administrateur "
                f"actif, sans connexion depuis plus de {jours} jours. Vérifiez qu'il sert encore, ou créez "
                "un autre administrateur avant de le désactiver."
            )

    @users.command("enable")
    def enable_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
        acteur: str | None = ActorOption,
    ) -> None:
        """Réactive un compte désactivé, avec le mot de passe qu'il avait."""
        _set_active(login, True, acteur)

    @users.command("reset-password")
    def reset_command(
        login: Annotated[str, typer.Argument(metavar="IDENTIFIANT", help="Identifiant du compte.")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
        ] = False,
        final: Annotated[bool, final_option] = False,
        acteur: str | None = ActorOption,
    ) -> None:
        """Remplace le mot de passe d'un compte (ses sessions ouvertes prennent fin).

        Le nouveau est provisoire, sauf avec --mot-de-passe-definitif."""
        ctx = AppContext.from_env()
        try:
            password = read_password(password_stdin)
            with transaction(ctx.engine) as session:
                account = reset_password(
                    session, login, password, actor=actor_name(acteur), temporary=not final
                )
        except AccountError as exc:
            raise _fail(exc) from None
        provisional = (
            " (provisoire : à remplacer à la prochaine connexion)" if account.password_temporary else ""
        )
        console.print(f"Mot de passe remplacé pour [bold]{account.login}[/]{provisional}.")

    @users.command("list")
    def list_command() -> None:
        """Liste les comptes : rôle, secteurs, état et dernière connexion.

        Les comptes actifs sans connexion depuis plus de 90 jours sont signalés, ou depuis le délai de
        la planification qui les désactive (tâche comptes_inactifs) s'il y en a une."""
        from uptake.scheduler import list_schedules

        ctx = AppContext.from_env()
        now = datetime.now(UTC)
        with transaction(ctx.engine) as session:
            reviews = review_accounts(session)
        # The accounts told are those the next scheduled sweep will disable, as on the DPO's page.
        sweep = next(iter(dormant_sweeps(list_schedules(ctx.engine))), None)
        days = sweep[1] if sweep else DORMANT_AFTER.days
        table = Table("Identifiant", "Rôle", "Secteurs", "État", "Dernière connexion")
        for r in reviews:
            a = r.account
            last = french.moment(r.last_sign_in_at) if r.last_sign_in_at else "jamais"
            state = (
                f"{a.state_label}, sans connexion depuis plus de {days} jours"
                if r.dormant(now, timedelta(days=days))
                else a.state_label
            )
            table.add_row(a.login, a.role_label, ", ".join(a.secteurs) or "—", state, last)
        console.print(table)

    app.add_typer(users, name="users")
