"""`uptake campaigns …`: list, check, launch, follow up, send and reconcile outreach campaigns."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from outreach.campaigns import (
    TEMPLATES_DIR,
    Campaign,
    KnownNames,
    campaign_paths,
    find_campaign,
    load_campaign,
    reference_problems,
)
from outreach.channels import SmtpSettings
from outreach.charts import percent
from outreach.errors import CampaignNotFound, OutreachError
from outreach.models import ABANDONED, ELSEWHERE, RESERVED, Contact, Launch
from outreach.selection import EXCLUSION_REASONS
from outreach.templates import CHANNEL_NAMES, Renderer, check_campaign, format_euros
from uptake import french
from uptake.commands.actors import actor_name
from uptake.commands.tables import compact_table
from uptake.context import AppContext
from uptake.health import campaign_names
from uptake.limits import RECORD_ID_MAX
from uptake.relay import caf_relay

if TYPE_CHECKING:
    from outreach.attempts import AttemptReport
    from outreach.reconcile import ReconciliationReport
    from outreach.sending import SendReport

console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)
logger = logging.getLogger("uptake.jobs")


# Options shared by the commands that produce lists (launch and follow-ups).
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Dossier des listes (défaut : $UPTAKE_HOME/campagnes/<campagne>/)."),
]
ExchangeOption = Annotated[
    int | None,
    typer.Option("--echange", min=1, max=RECORD_ID_MAX, help="Numéro de l'échange approuvé par le DPO."),
]
SmtpOption = Annotated[
    str | None, typer.Option("--smtp", help="Remettre les courriels à ce serveur (HOTE:PORT).")
]
ActorOption = Annotated[str | None, typer.Option("--acteur", help="Nom inscrit au journal d'audit.")]


def _smtp(value: str | None) -> SmtpSettings | None:
    return caf_relay(value) if value else None


def print_attempts(attempts: tuple[AttemptReport, ...] | list[AttemptReport]) -> None:
    """One line per attempt produced, then where each output is."""
    for attempt in attempts:
        planned = attempt.prevu_le.strftime("%d/%m/%Y %H:%M")
        line = (
            f"Tentative {attempt.tentative} ({CHANNEL_NAMES[attempt.canal]}) : "
            f"[bold]{attempt.foyers}[/] foyer(s), envoi prévu le {planned}"
        )
        if attempt.sans_contact_valide:
            line += f" ; {attempt.sans_contact_valide} sans coordonnée valide (non contactés)"
        if attempt.courriels_envoyes is not None:
            line += f" ; {attempt.courriels_envoyes} courriel(s) remis au serveur SMTP"
        console.print(line)
        for output in attempt.outputs:
            console.print(f"  {output.label} : {output.path}")
        if attempt.echec_envoi is not None:
            unsent = attempt.foyers - (attempt.courriels_envoyes or 0)
            prepared = ", ".join(str(o.path) for o in attempt.outputs)
            err_console.print(
                f"[red]Envoi incomplet[/] : {unsent} courriel(s) non pris par le serveur SMTP — "
                f"{attempt.echec_envoi}. Les messages préparés (.eml) sont dans {prepared}. Une fois le "
                "problème réglé, « uptake campaigns send CAMPAGNE --launch N --smtp HOTE:PORT » envoie "
                "ceux qui restent à envoyer (jamais deux fois le même)."
            )


def failed_delivery(attempts: tuple[AttemptReport, ...] | list[AttemptReport]) -> bool:
    """True when some prepared e-mail did not reach the SMTP server (the command then exits 1)."""
    return any(a.echec_envoi is not None for a in attempts)


def print_sending(report: SendReport) -> None:
    """What one sending did, and what is left."""
    if not report.tried and not report.withdrawn:
        console.print(f"Lancement n°{report.launch_id} : aucun courriel n'attend d'envoi.")
    else:
        line = (
            f"Lancement n°{report.launch_id} : {report.tried} courriel(s) donné(s) au serveur SMTP, "
            f"[bold]{report.sent}[/] pris"
        )
        if report.refused:
            line += f", {report.refused} adresse(s) refusée(s) (comptées « courriel non distribué »)"
        if report.rejected:
            line += f", {report.rejected} message(s) refusé(s) définitivement"
        if report.withdrawn:
            line += (
                f" ; {report.withdrawn} retiré(s) avant l'envoi (opposition, contact clos, adresse "
                "inutilisable)"
            )
        console.print(line + ".")
    if report.uncertain:
        console.print(
            f"{report.uncertain} courriel(s) d'un envoi arrêté brutalement : le serveur a pu les prendre, "
            "ils ne sont pas renvoyés. Vérifiez auprès du relais, puis « --reprendre » pour les envoyer."
        )
    if report.problem is not None:
        err_console.print(f"[red]Envoi incomplet[/] : {report.problem}.")
    if report.waiting:
        err_console.print(
            f"{report.waiting} courriel(s) restent à envoyer : relancez la même commande une fois le "
            "problème réglé (seuls ceux que le serveur n'a pas pris partiront), ou « --abandonner »."
        )


def print_reconciliation(report: ReconciliationReport) -> None:
    """The reconciliation's counts, by arm."""
    console.print(
        f"Rapprochement avec l'extrait de {report.mois_reference:%m/%Y} : "
        f"{report.launches} lancement(s) antérieur(s)."
    )
    for arm, label in (("contacte", "foyers contactés"), ("temoin", "groupe témoin")):
        opened = report.rights_opened.get(arm, 0)
        amount = report.amount_opened.get(arm, 0.0)
        console.print(f"  {label} : {opened} droit(s) ouvert(s), {format_euros(amount)} par mois au total")


def _checked(ctx: AppContext, path: Path, known: KnownNames) -> list[str]:
    """The lines telling that the campaign of `path` is correct; `OutreachError` for its first
    template problem, `_Broken` for its campaign-file problems (all of them)."""
    from outreach.launch import campaign_fields

    config = ctx.settings.config_dir
    campaign = load_campaign(path, config / TEMPLATES_DIR)
    problems = reference_problems(campaign, known)
    if problems:
        raise _Broken([str(p) for p in problems])
    lines = check_campaign(campaign, config / TEMPLATES_DIR)
    fields = campaign_fields(Renderer(config / TEMPLATES_DIR, campaign))
    return [
        f"[green]✓[/] {campaign.id} : {escape(campaign.campagne.titre)}",
        *(escape(line) for line in lines),
        f"  champs que son échange doit couvrir (approbation du DPO) : {','.join(fields)}",
    ]


class _Broken(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(messages)
        self.messages = messages


def _sequence(campaign: Campaign) -> str:
    return " → ".join(
        f"{CHANNEL_NAMES[a.canal]}{f' J+{a.delai_jours}' if a.delai_jours else ''}"
        for a in campaign.tentatives
    )


def register(app: typer.Typer) -> None:
    """Add the `campaigns` command group."""
    group = typer.Typer(
        help="Campagnes de contact : liste, vérification, lancement, relances, rapprochement."
    )

    @group.command("list")
    def list_command() -> None:
        """Liste les campagnes configurées et les derniers lancements."""
        ctx = AppContext.from_env()
        table = compact_table("Campagnes (config/campaigns/)")
        table.add_column("Campagne", overflow="fold", min_width=22)  # its name is typed in commands
        table.add_column("Action", no_wrap=True)
        table.add_column("Règles", overflow="fold", max_width=19)
        table.add_column("Séquence", max_width=18)
        table.add_column("Témoin", justify="right", no_wrap=True)
        broken: list[str] = []
        for path in campaign_paths(ctx.settings.config_dir):
            # One broken file must not hide the other campaigns, nor the launches already made.
            try:
                c = load_campaign(path)
            except OutreachError as exc:
                broken.append(str(exc))
                continue
            table.add_row(
                c.id, c.campagne.action, ", ".join(c.campagne.regles), _sequence(c), percent(c.temoin.part, 0)
            )
        console.print(table)
        for message in broken:
            err_console.print(
                f"[red]✗ Fichier de campagne à corriger[/] : {escape(message)}", highlight=False
            )
        if broken:
            err_console.print("Vérifiez-les avec `uptake campaigns check` après correction.")
        with Session(ctx.engine) as session:
            launches = session.scalars(select(Launch).order_by(Launch.id.desc()).limit(20)).all()
            # A result has `keys()`: `dict()` would read it as a mapping, not as pairs.
            waiting = dict(
                list(
                    session.execute(
                        select(Contact.launch_id, func.count())
                        .where(
                            Contact.launch_id.in_([launch.id for launch in launches]),
                            Contact.canal == "email",
                            # Reserved by a sending killed since: the next sending takes them.
                            or_(Contact.envoi.is_(None), Contact.envoi == RESERVED),
                        )
                        .group_by(Contact.launch_id)
                    ).tuples()
                )
            )
        if launches:
            done = compact_table("Derniers lancements")
            done.add_column("N°", justify="right", no_wrap=True)
            done.add_column("Campagne", overflow="fold", min_width=12)
            done.add_column("Exéc.", justify="right", no_wrap=True)  # the detection run
            done.add_column("Lancé le", no_wrap=True)
            for column in ("Signalés", "Contactés", "Témoins", "Écartés"):
                done.add_column(column, justify="right", no_wrap=True)
            for launch in launches:
                done.add_row(
                    str(launch.id),
                    launch.campagne,
                    str(launch.run_id),
                    french.moment(launch.lance_le, short=True),
                    french.count(launch.nb_signales),
                    french.count(launch.nb_contactes),
                    french.count(launch.nb_temoins),
                    french.count(launch.nb_exclus),
                )
            console.print(done)
        for launch in launches:
            if waiting.get(launch.id):
                console.print(
                    f"Lancement n°{launch.id} : {french.count(waiting[launch.id])} courriel(s) que le "
                    f"serveur SMTP n'a pas pris : « uptake campaigns send {launch.campagne} --launch "
                    f"{launch.id} --smtp HOTE:PORT »."
                )

    @group.command("check")
    def check_command(
        campagne: str | None = typer.Argument(
            None, metavar="CAMPAGNE", help="Nom de la campagne (toutes par défaut)."
        ),
    ) -> None:
        """Vérifie les fichiers de campagne, leurs règles, leur fiche du registre et leurs modèles.

        Pour les SMS : encodage et nombre de segments.
        """
        ctx = AppContext.from_env()
        config = ctx.settings.config_dir
        paths = campaign_paths(config)
        if campagne is not None:
            paths = [p for p in paths if p.stem == campagne]
            if not paths:
                raise CampaignNotFound(campagne, [p.stem for p in campaign_paths(config)])
        known = campaign_names(ctx.settings)
        broken = 0
        # Every file is checked, whatever the previous one gave: the data team fixes them all at once.
        for path in paths:
            try:
                lines = _checked(ctx, path, known)
            except _Broken as problems:
                broken += 1
                for message in problems.messages:
                    err_console.print(f"[red]✗[/] {path.stem} : {escape(message)}", highlight=False)
                continue
            except OutreachError as exc:
                broken += 1
                err_console.print(f"[red]✗[/] {path.stem} : {escape(str(exc))}", highlight=False)
                continue
            for line in lines:
                console.print(line)
        if broken:
            err_console.print(
                f"{broken} fichier(s) de campagne sur {len(paths)} à corriger : corrigez chaque problème "
                "ci-dessus, puis relancez `uptake campaigns check`."
            )
            raise typer.Exit(2)

    @group.command("launch")
    def launch_command(
        campagne: str = typer.Argument(
            ..., metavar="CAMPAGNE", help="Nom de la campagne (fichier config/campaigns/NOM.toml)."
        ),
        run: int = typer.Option(
            ...,
            "--run",
            min=1,
            max=RECORD_ID_MAX,
            help="Numéro de l'exécution de détection (voir `uptake runs list`).",
        ),
        out: OutOption = None,
        echange: ExchangeOption = None,
        smtp: SmtpOption = None,
        acteur: ActorOption = None,
    ) -> None:
        """Lance une campagne sur une exécution : sélection, groupe témoin, listes du premier contact."""
        from outreach.launch import launch_campaign

        ctx = AppContext.from_env()
        campaign = ctx.launchable_campaign(campagne)
        out_dir = out or ctx.campaign_dir(campaign)
        report = launch_campaign(
            ctx.outreach_env(actor_name(acteur)),
            campaign,
            run,
            out_dir=out_dir,
            exchange_id=echange,
            smtp=_smtp(smtp),
        )
        console.print(
            f"Lancement n°[bold]{report.launch_id}[/] de {campaign.id} sur l'exécution {run} : "
            f"{report.signales} foyer(s) signalé(s), [bold]{report.contactes}[/] à contacter, "
            f"{report.temoins} dans le groupe témoin (graine {campaign.temoin.graine})."
        )
        for reason, count in sorted(report.exclusions.items(), key=lambda kv: -kv[1]):
            console.print(f"  écartés — {EXCLUSION_REASONS[reason]} : {count}")
        print_attempts(report.attempts)
        if failed_delivery(report.attempts):
            raise typer.Exit(1)

    @group.command("followup")
    def followup_command(
        campagne: str = typer.Argument(..., metavar="CAMPAGNE", help="Nom de la campagne."),
        lancement: int = typer.Option(
            ...,
            "--launch",
            min=1,
            max=RECORD_ID_MAX,
            help="Numéro du lancement (voir `uptake campaigns list`).",
        ),
        out: OutOption = None,
        echange: ExchangeOption = None,
        smtp: SmtpOption = None,
        acteur: ActorOption = None,
    ) -> None:
        """Produit les relances arrivées à échéance (délai écoulé, condition remplie, plafonds respectés)."""
        from outreach.launch import followups_awaiting_email, run_followups

        ctx = AppContext.from_env()
        campaign = ctx.launchable_campaign(campagne)
        out_dir = out or ctx.campaign_dir(campaign)
        attempts = run_followups(
            ctx.outreach_env(actor_name(acteur)),
            campaign,
            lancement,
            out_dir=out_dir,
            exchange_id=echange,
            smtp=_smtp(smtp),
        )
        if not attempts:
            console.print("Aucune relance à produire aujourd'hui.")
        print_attempts(attempts)
        awaiting = followups_awaiting_email(ctx.engine, lancement)
        if awaiting:
            console.print(
                f"{awaiting} foyer(s) attendent que leur courriel précédent parte avant toute relance : "
                f"« uptake campaigns send {campaign.id} --launch {lancement} --smtp HOTE:PORT » l'envoie "
                "(ou --envoyes-ailleurs s'il est parti par un autre outil, --abandonner pour passer à la "
                "tentative suivante)."
            )
        if failed_delivery(attempts):
            raise typer.Exit(1)

    @group.command("send")
    def send_command(
        campagne: str = typer.Argument(..., metavar="CAMPAGNE", help="Nom de la campagne."),
        lancement: int = typer.Option(
            ...,
            "--launch",
            min=1,
            max=RECORD_ID_MAX,
            help="Numéro du lancement (voir `uptake campaigns list`).",
        ),
        smtp: SmtpOption = None,
        reprendre: bool = typer.Option(
            False,
            "--reprendre",
            help="Envoyer aussi les courriels d'un envoi arrêté brutalement (le serveur a pu les prendre).",
        ),
        abandonner: bool = typer.Option(
            False, "--abandonner", help="Ne plus envoyer les courriels en attente de ce lancement."
        ),
        ailleurs: bool = typer.Option(
            False,
            "--envoyes-ailleurs",
            help="Les courriels en attente ont été envoyés par un autre outil : les noter comme tels.",
        ),
        acteur: ActorOption = None,
    ) -> None:
        """Envoie les courriels d'un lancement que le serveur SMTP n'a pas encore pris.

        Lancement préparé sans --smtp, envoi interrompu, refus temporaire : chaque courriel part une
        seule fois, jamais à un foyer opposé ou dont le contact est clos depuis."""
        from sqlalchemy.orm import Session

        from outreach.sending import launch_of, send_pending_emails, set_aside

        ctx = AppContext.from_env()
        campaign = find_campaign(ctx.settings.config_dir, campagne)
        env = ctx.outreach_env(actor_name(acteur))
        if abandonner or ailleurs:
            if abandonner and ailleurs:
                raise typer.BadParameter("--abandonner ou --envoyes-ailleurs, pas les deux.")
            marked = set_aside(env, campaign, lancement, ABANDONED if abandonner else ELSEWHERE)
            said = "abandonné(s)" if abandonner else "noté(s) comme envoyé(s) par un autre outil"
            console.print(f"Lancement n°{lancement} : {marked} courriel(s) en attente {said}.")
            return
        with Session(env.engine) as session:  # an unknown launch is told before a missing relay
            launch_of(session, campaign, lancement)
        if smtp is None:
            raise typer.BadParameter("donnez le serveur SMTP de la Caf : --smtp HOTE:PORT.")
        report = send_pending_emails(env, campaign, lancement, caf_relay(smtp), resume=reprendre)
        print_sending(report)
        if report.problem is not None:
            raise typer.Exit(1)

    @group.command("reconcile")
    def reconcile_command(
        extract: Path = typer.Option(..., "--extract", "-e", help="Extrait du mois suivant (contrat v1)."),
        acteur: str | None = typer.Option(None, "--acteur", help="Nom inscrit dans les résultats."),
    ) -> None:
        """Rapproche les foyers signalés (contactés et témoins) avec l'extrait du mois suivant."""
        from outreach.reconcile import reconcile_extract

        ctx = AppContext.from_env()
        print_reconciliation(reconcile_extract(ctx.engine, extract, actor=actor_name(acteur)))

    app.add_typer(group, name="campaigns")
