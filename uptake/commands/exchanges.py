"""`uptake exchanges …` (requests and DPO decisions) and `uptake register …` (GDPR art. 30 register)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from privacy import exchanges, retention
from privacy import register as processing_register
from privacy.canonical import caf_day, caf_stamp_text, utc_now
from privacy.models import Exchange
from uptake.commands.actors import ActorOption, actor_name, keyring_of
from uptake.commands.dpo_identity import DpoPasswordOption, check_dpo, warn_unchecked_dpo
from uptake.commands.outputs import ReplaceOption, check_new_file, print_files_left
from uptake.context import AppContext
from uptake.db import transaction
from uptake.limits import RECORD_ID_MAX

console = Console(emoji=False)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):  # well written, but no such day
            raise typer.BadParameter(
                f"le {text} n'existe pas dans le calendrier : vérifiez le jour"
            ) from None
        raise typer.BadParameter(f"date « {text} » illisible : écrivez AAAA-MM-JJ") from None


def _status(exchange: Exchange, without_entry: set[int]) -> str:
    status = exchanges.STATUS_LABELS.get(exchange.status, exchange.status)
    return f"{status} — {exchanges.REGISTER_ENTRY_REMOVED}" if exchange.id in without_entry else status


def _show(exchange: Exchange, without_entry: set[int]) -> None:
    lines = [
        f"Échange n°{exchange.id} — {_status(exchange, without_entry)}",
        f"Demandeur : {exchange.requester}",
        f"Destinataire : {exchange.recipient}",
        f"Finalité : {exchange.purpose}",
        f"Fiche du registre : {exchange.register_code}",
        f"Champs : {', '.join(exchange.fields)}",
        f"Base légale : {exchange.legal_basis}",
        f"Conservation : {exchange.retention_days} jours",
        f"Expire le : {exchange.expires_on:%d/%m/%Y}",
        f"Demandé le : {caf_stamp_text(exchange.requested_at)}",
    ]
    if exchange.decided_at:
        lines += [
            f"Décision du DPO ({exchange.dpo}) le {caf_stamp_text(exchange.decided_at)}",
            f"Avis : {exchange.avis}",
        ]
        lines += [f"Recommandation : {r}" for r in exchange.recommandations or []]
    if exchange.signature:
        lines.append(f"Signée (Ed25519), clé {exchange.key_fingerprint}")
    if exchange.revoked_at:
        lines += [
            f"Révoquée par le DPO ({exchange.revoked_by}) le {caf_stamp_text(exchange.revoked_at)}",
            f"Motif de la révocation : {exchange.revocation_reason}",
        ]
    console.print("\n".join(lines), highlight=False, markup=False)


def register_commands(app: typer.Typer) -> None:
    """Add the `exchanges` group."""
    group = typer.Typer(help="Échanges de données personnelles et décisions du DPO.", no_args_is_help=True)

    @group.command("request")
    def request_command(
        destinataire: str = typer.Option(..., "--destinataire", help="Organisme destinataire."),
        finalite: str = typer.Option(..., "--finalite", help="Pourquoi ces données sont nécessaires."),
        registre: str = typer.Option(..., "--registre", help="Code de la fiche du registre des traitements."),
        champs: str = typer.Option(
            ...,
            "--champs",
            help=(
                f"Champs, séparés par des virgules : {','.join(exchanges.EXCHANGE_FIELDS)} "
                "(droits_presumes : les droits visés ; motifs : montant estimé et motifs de la détection ; "
                "`uptake campaigns check` dit ceux d'une campagne)"
            ),
        ),
        base_legale: str = typer.Option(..., "--base-legale", help="Base légale de l'échange."),
        conservation: int = typer.Option(
            ..., "--conservation-jours", help="Durée de conservation (≤ 365 jours)."
        ),
        expire: str = typer.Option(..., "--expire-le", help="Fin de validité de l'approbation (AAAA-MM-JJ)."),
        acteur: str | None = ActorOption,
    ) -> None:
        """Demande un échange de données ; il attend la décision du DPO."""
        ctx = AppContext.from_env()
        wanted = exchanges.ExchangeRequest(
            requester=actor_name(acteur),
            recipient=destinataire,
            purpose=finalite,
            register_code=registre,
            fields=tuple(f.strip() for f in champs.split(",") if f.strip()),
            legal_basis=base_legale,
            retention_days=conservation,
            expires_on=_parse_date(expire),
        )
        with transaction(ctx.engine) as session:
            exchange = exchanges.request(session, wanted)
        console.print(f"Échange n°{exchange.id} demandé ; il attend la décision du DPO.")

    @group.command("list")
    def list_command(
        statut: str | None = typer.Option(
            None, "--statut", help=f"Seulement ceux d'un statut : {', '.join(exchanges.STATUS_LABELS)}."
        ),
    ) -> None:
        """Liste les échanges, du plus récent au plus ancien."""
        if statut is not None and statut not in exchanges.STATUS_LABELS:
            raise typer.BadParameter(
                f"statut « {statut} » inconnu : {', '.join(exchanges.STATUS_LABELS)}", param_hint="--statut"
            )
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            rows = exchanges.list_exchanges(session, statut)
            without_entry = exchanges.without_register_entry(session, rows)
        table = Table("N°", "Statut", "Destinataire", "Champs", "Expire le", title="Échanges")
        for e in rows:
            table.add_row(
                str(e.id),
                _status(e, without_entry),
                e.recipient,
                ", ".join(e.fields),
                f"{e.expires_on:%d/%m/%Y}",
            )
        console.print(table)

    @group.command("show")
    def show_command(
        exchange_id: int = typer.Argument(
            ..., metavar="N", min=1, max=RECORD_ID_MAX, help="Numéro de l'échange."
        ),
    ) -> None:
        """Affiche un échange et la décision du DPO."""
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            exchange = exchanges.get(session, exchange_id)
            _show(exchange, exchanges.without_register_entry(session, [exchange]))

    @group.command("approve")
    def approve_command(
        exchange_id: int = typer.Argument(
            ..., metavar="N", min=1, max=RECORD_ID_MAX, help="Numéro de l'échange."
        ),
        dpo: str = typer.Option(..., "--dpo", help="Nom du DPO qui décide."),
        avis: str = typer.Option(..., "--avis", help="Avis du DPO."),
        recommandation: list[str] = typer.Option([], "--recommandation", help="Recommandation (répétable)."),
        password_stdin: bool = DpoPasswordOption,
    ) -> None:
        """Le DPO approuve l'échange : la décision est signée (Ed25519) et vérifiée à chaque usage."""
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        with transaction(ctx.engine) as session:
            checked = check_dpo(session, dpo, password_stdin, example="uptake exchanges …")
            exchange = exchanges.approve(
                session, keyring, exchange_id, dpo=dpo, avis=avis, recommandations=recommandation
            )
        if not checked:
            warn_unchecked_dpo(dpo)
        console.print(f"Échange n°{exchange.id} approuvé et signé (clé {exchange.key_fingerprint}).")

    @group.command("refuse")
    def refuse_command(
        exchange_id: int = typer.Argument(
            ..., metavar="N", min=1, max=RECORD_ID_MAX, help="Numéro de l'échange."
        ),
        dpo: str = typer.Option(..., "--dpo", help="Nom du DPO qui décide."),
        avis: str = typer.Option(..., "--avis", help="Motif du refus."),
        password_stdin: bool = DpoPasswordOption,
    ) -> None:
        """Le DPO refuse l'échange, avec son motif."""
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            checked = check_dpo(session, dpo, password_stdin, example="uptake exchanges …")
            exchanges.refuse(session, exchange_id, dpo=dpo, avis=avis)
        if not checked:
            warn_unchecked_dpo(dpo)
        console.print(f"Échange n°{exchange_id} refusé.")

    @group.command("revoke")
    def revoke_command(
        exchange_id: int = typer.Argument(
            ..., metavar="N", min=1, max=RECORD_ID_MAX, help="Numéro de l'échange."
        ),
        dpo: str = typer.Option(..., "--dpo", help="Nom du DPO qui révoque."),
        motif: str = typer.Option(..., "--motif", help="Pourquoi l'échange est révoqué."),
        purger: bool = typer.Option(
            False,
            "--purger-sorties",
            help="Détruire aussi maintenant les listes et fichiers déjà produits sous cet échange.",
        ),
        password_stdin: bool = DpoPasswordOption,
    ) -> None:
        """Le DPO révoque un échange approuvé : plus aucune liste, relance ni fiche d'appel ne l'utilise.

        La révocation prend effet aussitôt, avant l'expiration de l'approbation. Les fichiers déjà
        produits sous cet échange sont gardés jusqu'à la fin de leur durée de conservation, sauf avec
        --purger-sorties (fichiers supprimés, clés détruites, journalisé).
        """
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        with transaction(ctx.engine) as session:
            checked = check_dpo(session, dpo, password_stdin, example="uptake exchanges …")
            exchanges.revoke(session, exchange_id, dpo=dpo, motif=motif)
            purged = (
                retention.purge_exchange_outputs(session, keyring, exchange_id, actor=dpo) if purger else None
            )
            held = retention.held_outputs(session, exchange_id)
        if not checked:
            warn_unchecked_dpo(dpo)
        console.print(f"Échange n°{exchange_id} révoqué : plus aucune sortie ne peut l'utiliser.")
        if purged is not None:
            console.print(
                f"{purged.outputs} sortie(s) produite(s) sous cet échange purgée(s) (fichiers et clés)."
            )
            print_files_left(purged.files_left, ctx.settings.home, "supprimé")
        elif held:
            last = max(record.retention_until for record in held)
            console.print(
                f"{len(held)} sortie(s) déjà produite(s) sous cet échange restent conservées, jusqu'au "
                f"{last:%d/%m/%Y} au plus tard ; pour les détruire maintenant : "
                f"uptake exchanges purge-outputs {exchange_id}"
            )

    @group.command("purge-outputs")
    def purge_outputs_command(
        exchange_id: int = typer.Argument(
            ...,
            metavar="N",
            min=1,
            max=RECORD_ID_MAX,
            help="Numéro de l'échange révoqué, ou dont l'approbation a expiré.",
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Détruit maintenant les fichiers produits sous un échange révoqué ou expiré (et leurs clés).

        Sans attendre la fin de leur durée de conservation ; chaque destruction est journalisée. Une
        approbation encore valide se révoque d'abord (uptake exchanges revoke N --purger-sorties).
        """
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        with transaction(ctx.engine) as session:
            purged = retention.purge_exchange_outputs(session, keyring, exchange_id, actor=actor_name(acteur))
        console.print(
            f"{purged.outputs} sortie(s) de l'échange n°{exchange_id} purgée(s) "
            f"({purged.files_deleted} fichier(s) supprimé(s))."
        )
        print_files_left(purged.files_left, ctx.settings.home, "supprimé")

    app.add_typer(group, name="exchanges")


def _stranded_exchanges(session: Session, removed: list[str]) -> list[int]:
    """The exchanges pending or in force whose register entry was just removed (oldest first)."""
    live = (exchanges.REQUESTED, exchanges.APPROVED)
    return sorted(
        e.id
        for e in exchanges.list_exchanges(session)
        if e.register_code in removed and e.status in live and e.expires_on >= caf_day(utc_now())
    )


def _print_register_changes(changes: processing_register.RegisterChanges) -> None:
    lines = [f"Ajoutée : {code}" for code in changes.added]
    lines += [f"Modifiée : {code} ({', '.join(fields)})" for code, fields in changes.changed.items()]
    lines += [f"Retirée (absente du dossier) : {code}" for code in changes.removed]
    console.print("\n".join(lines) or "Aucune fiche n'a changé.", highlight=False, markup=False)


def register_register(app: typer.Typer) -> None:
    """Add the `register` group."""
    group = typer.Typer(help="Registre des activités de traitement (RGPD art. 30).", no_args_is_help=True)

    @group.command("load")
    def load_command(
        dossier: Path | None = typer.Option(
            None, "--dossier", help="Dossier des fiches ; par défaut config/registre."
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Charge les fiches TOML du registre dans la base : le registre devient celui du dossier.

        Les fiches nouvelles sont ajoutées, les fiches modifiées mises à jour et celles qui ne sont
        plus dans le dossier retirées ; le journal d'audit dit lesquelles, et quels champs ont changé.
        """
        ctx = AppContext.from_env()
        folder = dossier or ctx.settings.config_dir / processing_register.REGISTER_DIR
        entries = processing_register.load_dir(folder)
        with transaction(ctx.engine) as session:
            changes = processing_register.save(session, entries, actor=actor_name(acteur), source=str(folder))
            stranded = _stranded_exchanges(session, changes.removed)
        console.print(f"{len(entries)} fiche(s) du registre chargée(s) depuis {folder}.", highlight=False)
        _print_register_changes(changes)
        if stranded:
            console.print(
                f"[bold]Attention[/] : {len(stranded)} échange(s) en attente ou en vigueur "
                f"(n°{', n°'.join(map(str, stranded))}) relève(nt) d'une fiche retirée : ils ne peuvent "
                "plus servir tant qu'elle n'est pas rechargée.",
                highlight=False,
            )

    @group.command("list")
    def list_command() -> None:
        """Liste les fiches du registre."""
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            rows = processing_register.entries(session)
        table = Table("Référence", "Traitement", "Conservation", title="Registre des traitements")
        for row in rows:
            table.add_row(row.code, row.nom, row.conservation)
        console.print(table)

    @group.command("export")
    def export_command(
        out: Path = typer.Option(..., "--out", help="Fichier à écrire (.html ou .csv)."),
        remplacer: bool = ReplaceOption,
    ) -> None:
        """Exporte le registre en HTML ou en CSV (français) pour le DPO."""
        if out.suffix.lower() not in (".html", ".htm", ".csv"):
            raise typer.BadParameter(
                f"format « {out.suffix or 'sans extension'} » non pris en charge : donnez un fichier .html "
                "ou .csv",
                param_hint="--out",
            )
        check_new_file(out, option="--out", replace=remplacer)
        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            rows = processing_register.entries(session)
            as_csv = out.suffix.lower() == ".csv"
            text = processing_register.to_csv(rows) if as_csv else processing_register.to_html(rows)
        out.write_text(text, encoding="utf-8")
        console.print(f"Registre exporté ({len(rows)} fiche(s)) : {out}")

    app.add_typer(group, name="register")


def register(app: typer.Typer) -> None:
    """Add the `exchanges` and `register` command groups."""
    register_commands(app)
    register_register(app)
