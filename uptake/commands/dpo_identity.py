"""Who the DPO is, for the commands only the DPO may run (exchange decisions, log attestation)."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from uptake.commands.users import read_password
from uptake.users import confirm_password, list_accounts

console = Console(emoji=False)
DPO_ROLE = "dpo"

DpoPasswordOption = typer.Option(
    False,
    "--password-stdin",
    help="Lire sur l'entrée standard le mot de passe du compte DPO qui décide (demandé sinon).",
)


def check_dpo(session: Session, dpo: str, password_stdin: bool, *, example: str) -> bool:
    """Whether `dpo` is checked against the web application's DPO accounts.

    When active DPO accounts exist, `--dpo` must name one of them and the decision is confirmed by that
    account's password, as in the web application: a name typed on a command line would otherwise let
    anyone with a shell decide in the DPO's name. When none exist (a CLI-only installation), the name
    is taken as given and the caller warns that it was not checked. `example` is the command line shown
    when the password is expected on standard input.
    """
    logins = sorted(a.login for a in list_accounts(session) if a.role == DPO_ROLE and a.active)
    if not logins:
        return False
    if dpo.strip() not in logins:
        raise typer.BadParameter(
            f"« {dpo} » n'est pas un compte DPO actif de l'application : nommez le DPO qui décide par "
            f"son identifiant ({', '.join(logins)})",
            param_hint="--dpo",
        )
    password = read_password(password_stdin, prompt="Mot de passe du DPO : ", example=example)
    confirm_password(session, dpo.strip(), password)
    return True


def warn_unchecked_dpo(dpo: str) -> None:
    """Tell that `dpo` could not be checked, for want of a DPO account, and how to create one."""
    console.print(
        f"[bold]Attention[/] : aucun compte DPO n'existe dans l'application web, « {dpo} » n'a donc pas "
        "pu être vérifié. Créez le compte du DPO (uptake users add IDENTIFIANT --role dpo "
        "--password-stdin) pour que seules ses décisions soient acceptées.",
        highlight=False,
    )
