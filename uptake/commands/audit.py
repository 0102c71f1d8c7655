"""`uptake audit …`: verify the tamper-evident log, read its last entries, attest its unsigned tail."""

from __future__ import annotations

import difflib
import re
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import caf_stamp_text
from privacy.directory import PSEUDONYM_PATTERN
from privacy.keys import fingerprint, load_public_key_pem
from privacy.models import AuditEntry
from uptake import french
from uptake.audit_labels import ACTION_LABELS, action_label, attested_range, entry_pairs
from uptake.audit_review import review
from uptake.commands.actors import keyring_of
from uptake.commands.dpo_identity import DpoPasswordOption, check_dpo, warn_unchecked_dpo
from uptake.commands.tables import compact_table
from uptake.context import AppContext
from uptake.db import transaction
from uptake.limits import ROWS_MAX

console = Console(emoji=False)
# Below this many columns, `uptake audit show` writes an entry's day above its time.
NARROW_WIDTH = 100
# A pseudonym is shown by its first characters, on one line (as the web's call lists do): enough to
# tell the entries of one household from another's, in an 80-column terminal.
SHORT_PSEUDONYM = 12
_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)
# The answers that confirm an attestation; anything else (or no answer) leaves the log as it is.
YES = ("o", "oui")


# The options `verify` and `attester` share: the log is checked the same way before it is attested.
PublicKeyOption = typer.Option(
    None,
    "--cle-publique",
    exists=True,
    dir_okay=False,
    readable=True,
    help="Clé publique du DPO (PEM, voir `uptake keys show`) : ne se fie pas au trousseau local.",
)
LandmarkOption = typer.Option(
    None,
    "--repere",
    help="Repère noté hors de la base à une vérification précédente (N:EMPREINTE) : détecte des "
    "entrées retirées à la fin du journal avec leurs points de contrôle.",
)


def register(app: typer.Typer) -> None:
    """Add the `audit` command group."""
    group = typer.Typer(
        help="Journal d'audit : vérification, consultation, attestation par le DPO.", no_args_is_help=True
    )

    @group.command("verify")
    def verify_command(
        public_key: Path | None = PublicKeyOption,
        repere: str | None = LandmarkOption,
    ) -> None:
        """Vérifie la chaîne et les signatures du journal d'audit.

        Code de sortie 1, avec la première anomalie, si le journal est altéré ; 4 si la clé donnée
        n'est pas celle qui a signé le journal. Affiche à la fin le repère à noter hors de la base,
        à redonner avec --repere à la vérification suivante.
        """
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        public = load_public_key_pem(public_key.read_bytes()) if public_key else keyring.public_key()
        with transaction(ctx.engine) as session:
            result = audit.verify(session, public)
            if result.ok and repere is not None:
                try:
                    cut = audit.landmark_problem(session, repere)
                except ValueError as exc:
                    raise typer.BadParameter(str(exc), param_hint="--repere") from None
                result = replace(result, problem=cut)
            if result.ok:  # a log found cut is not signed again at its new end
                audit.checkpoint(session, keyring)
            noted = audit.landmark(session)
        if result.problem is not None and result.problem.kind == "autre_cle":
            # Not the log's fault: told apart so that a DPO does not raise a tampering alarm for a key.
            console.print(f"[bold red]Clé différente[/] : {result.problem.message}.", highlight=False)
            raise typer.Exit(4)
        if not result.ok and result.problem is not None:
            console.print(f"[bold red]Journal altéré[/] : {result.problem.message}.", highlight=False)
            console.print(f"{result.entries} entrées, {result.checkpoints} point(s) de contrôle signé(s).")
            if result.problem.kind == "non_signee":
                console.print(
                    "Si la chaîne est par ailleurs intacte, le DPO les accepte après examen : "
                    "`uptake audit attester --dpo IDENTIFIANT`.",
                    highlight=False,
                )
            raise typer.Exit(1)
        console.print(
            f"Journal intact : {result.entries} entrées chaînées, {result.checkpoints} point(s) de contrôle "
            f"signé(s) par la clé {fingerprint(public)}.",
            highlight=False,
        )
        if noted is not None:
            console.print(
                "Repère à noter hors de la base, pour la prochaine vérification (--repere) : "
                f"[bold]{noted}[/]",
                highlight=False,
            )

    @group.command("show")
    def show_command(
        dernieres: int = typer.Option(
            20, "--dernieres", min=1, max=ROWS_MAX, help="Nombre d'entrées à afficher."
        ),
        operation: str | None = typer.Option(
            None,
            "--operation",
            help="Seulement les entrées d'une opération, par son code (par exemple echange.approbation).",
        ),
        entiers: bool = typer.Option(
            False,
            "--pseudonymes-entiers",
            help=f"Pseudonymes en entier (sinon, leurs {SHORT_PSEUDONYM} premiers caractères).",
        ),
    ) -> None:
        """Affiche les dernières entrées du journal (pseudonymes et comptes seulement).

        Chaque opération est dite en clair, avec son code (celui que prend --operation) et ses comptes.
        """
        if operation is not None and operation not in ACTION_LABELS:
            close = difflib.get_close_matches(operation, ACTION_LABELS, n=3)
            raise typer.BadParameter(
                f"opération « {operation} » inconnue"
                + (f" ; vouliez-vous dire {', '.join(close)} ?" if close else "")
                + f" (codes : {', '.join(sorted(ACTION_LABELS))})",
                param_hint="--operation",
            )
        ctx = AppContext.from_env()
        query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(dernieres)
        if operation:
            query = query.where(AuditEntry.action == operation)
        with transaction(ctx.engine) as session:
            rows = list(session.scalars(query))
        title = f"Journal d'audit : {action_label(operation)}" if operation else "Journal d'audit"
        table = compact_table(title)
        table.add_column("N°", justify="right", no_wrap=True)
        table.add_column("Date", no_wrap=True)
        table.add_column("Acteur", overflow="fold")
        # The label as the web journal shows it, the code below it (what --operation takes) never cut,
        # and the counts below: one column rather than two, for an 80-column terminal.
        table.add_column("Opération", min_width=len(max(ACTION_LABELS, key=len)))
        table.add_column("Objet", overflow="fold")
        shortened = False
        for row in reversed(rows):
            shown = row.object_ref or ""
            if not entiers and _PSEUDONYM.match(shown) and len(shown) > SHORT_PSEUDONYM:
                shown, shortened = shown[:SHORT_PSEUDONYM] + "…", True
            table.add_row(
                str(row.seq),
                # In a narrow terminal, the day above the time rather than an actor cut to 5 letters.
                caf_stamp_text(row.at).replace(" ", "\n" if console.width < NARROW_WIDTH else " "),
                row.actor,
                _operation_text(row.action, row.counts, row.details),
                escape(shown),
            )
        console.print(table)
        if shortened:
            console.print(
                f"Pseudonymes abrégés à leurs {SHORT_PSEUDONYM} premiers caractères : "
                "--pseudonymes-entiers pour les lire en entier.",
                highlight=False,
            )

    @group.command("attester")
    def attest_command(
        dpo: str = typer.Option(..., "--dpo", help="Identifiant du DPO qui atteste."),
        jusqu_a: int | None = typer.Option(
            None,
            "--jusqu-a",
            min=1,
            help="N'attester que jusqu'à l'entrée N (les suivantes restent à examiner).",
        ),
        oui: bool = typer.Option(False, "--oui", help="Attester sans demander de confirmation."),
        public_key: Path | None = PublicKeyOption,
        repere: str | None = LandmarkOption,
        password_stdin: bool = DpoPasswordOption,
    ) -> None:
        """Le DPO atteste les entrées qu'aucun point de contrôle signé n'atteste, après les avoir examinées.

        Refusé si la chaîne est altérée (code de sortie 1, ou 4 si la clé donnée n'a pas signé le
        journal) : rien n'est écrit. Sinon, affiche les entrées à attester et demande confirmation
        (sauf --oui), puis inscrit l'attestation au journal et signe un point de contrôle.
        """
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        public = load_public_key_pem(public_key.read_bytes()) if public_key else keyring.public_key()
        audit.require_signer(keyring, public)
        with transaction(ctx.engine) as session:
            try:
                reviewed = audit.unattested(session, public, noted=repere, up_to=jusqu_a)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--repere") from None
            if reviewed is None:
                console.print(
                    "Journal intact : toutes ses entrées sont attestées par un point de contrôle signé. "
                    "Rien à attester.",
                    highlight=False,
                )
                return
            checked = check_dpo(session, dpo, password_stdin, example="uptake audit attester …")
            _show_unattested(session, reviewed)
        if not oui and not _confirmed(f"Attester ces {french.count(reviewed.count)} entrée(s) ?"):
            console.print("Rien n'a été attesté.")
            raise typer.Exit(1)
        with transaction(ctx.engine) as session:
            done = audit.attest(session, keyring, reviewed, dpo=dpo.strip(), public_key=public, noted=repere)
        if not checked:
            warn_unchecked_dpo(dpo)
        console.print(
            f"Entrées n°{reviewed.first} à n°{reviewed.last} attestées par {escape(dpo.strip())} "
            f"(attestation inscrite au journal, entrée n°{done.entry.seq}), point de contrôle signé par la "
            f"clé {fingerprint(public)}.",
            highlight=False,
        )
        if done.left is not None:
            console.print(
                f"Les entrées n°{done.left.first} à n°{done.left.last} (dont cette attestation, qui les "
                "suit dans la chaîne) restent à attester : `uptake audit verify` les signale jusque-là.",
                highlight=False,
            )

    app.add_typer(group, name="audit")


def _show_unattested(session: Session, reviewed: audit.Unattested) -> None:
    """What the DPO is about to attest: the range, its dates, and each operation with its count."""
    facts = review(session, reviewed)
    console.print(
        f"Entrées à attester : n°{reviewed.first} à n°{reviewed.last} ({french.count(reviewed.count)} "
        f"entrée(s)), écrites du {caf_stamp_text(facts.first_at)} au {caf_stamp_text(facts.last_at)}.",
        highlight=False,
    )
    table = compact_table("Opérations à attester")
    table.add_column("Opération", min_width=len(max(ACTION_LABELS, key=len)))
    table.add_column("Entrées", justify="right", no_wrap=True)
    table.add_column("Acteurs", overflow="fold")
    table.add_column("Première", no_wrap=True)
    table.add_column("Dernière", no_wrap=True)
    for operation in facts.operations:
        table.add_row(
            _operation_text(operation.action, None, None),
            french.count(operation.entries),
            escape(operation.actors_shown),
            caf_stamp_text(operation.first_at),
            caf_stamp_text(operation.last_at),
        )
    console.print(table)
    if reviewed.last < facts.end:
        console.print(
            f"Les entrées n°{reviewed.last + 1} à n°{facts.end} ne sont pas attestées ici (--jusqu-a) : "
            "elles resteront signalées par `uptake audit verify`.",
            highlight=False,
        )
    console.print(
        "Aucun point de contrôle ne les atteste : écrites hors d'uptake, ou réécrites après suppression de "
        "leurs points de contrôle. Examinez-les (uptake audit show) avant de les attester : une fois "
        "attestées, elles ne sont plus signalées.",
        highlight=False,
    )


def _confirmed(question: str) -> bool:
    """Whether the DPO answers « oui »; no answer (end of input) is a « non »."""
    try:
        answer = typer.prompt(f"{question} (oui/non)", default="non", show_default=False, prompt_suffix=" : ")
    except typer.Abort:
        return False
    return str(answer).strip().lower() in YES


def _operation_text(action: str, counts: str | None, details: str | None) -> str:
    """An entry's operation in words, its code, then its counts (`foyers 1 234, lignes —`), as markup;
    for an attestation, the range of entries it covers instead of its count alone."""
    lines = (
        [escape(action_label(action)), f"[dim]{escape(action)}[/]"]
        if action in ACTION_LABELS
        else [escape(action)]
    )
    pairs = attested_range(action, details) or ", ".join(
        f"{key} {value}" for key, value in entry_pairs(counts)
    )
    return "\n".join([*lines, escape(pairs)] if pairs else lines)
