"""`uptake outcomes import|questionnaires|stop|bounces FILE.csv`: outcomes, returned questionnaires,
STOP replies and bounced e-mail addresses, from a spreadsheet or a provider, all or nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from outreach.delivery_reports import is_mailbox
from outreach.outcome_import import import_outcome_file, no_line
from outreach.provider_returns import import_bounces, import_stop_replies
from outreach.questionnaire_answers import import_questionnaires
from uptake.commands.actors import actor_name, keyring_of
from uptake.context import AppContext

console = Console(emoji=False)


def register(app: typer.Typer) -> None:
    """Add the `outcomes` command group."""
    group = typer.Typer(
        help="Résultats, questionnaires retournés, réponses STOP et courriels en échec : import.",
        no_args_is_help=True,
    )

    @group.command("import")
    def import_command(
        file: Path = typer.Argument(
            ...,
            metavar="FICHIER",
            help="Classeur Excel (.xlsx, sa première feuille) ou fichier CSV (séparateur ; , ou "
            "tabulation, en UTF-8), avec une ligne d'en-tête.",
        ),
        acteur: str | None = typer.Option(
            None, "--acteur", help="Auteur par défaut des lignes sans `acteur`."
        ),
    ) -> None:
        """Importe des résultats : chaque ligne est vérifiée ; une seule ligne fausse et rien n'est importé.

        Colonnes : id_foyer ou reference (celle imprimée sur le courrier, par exemple Q-12-345),
        resultat, date (obligatoires), montant (pour droit_ouvert), acteur, canal, commentaire, lancement
        (son numéro : le résultat est rattaché à ce lancement ; sans lui, au dernier lancement du foyer).
        Résultats possibles : a_contacter, injoignable, message_laisse, joint, refus, demarche_engagee,
        droit_ouvert, non_eligible, accompagnement_engage, questionnaire_envoye, questionnaire_retourne,
        pli_non_distribue (courrier revenu : son adresse n'est plus utilisée), courriel_non_distribue
        (de même pour l'adresse électronique), opposition.

        La liste d'appels produite par uptake (.xlsx ou CSV) se réimporte telle quelle, une fois remplie
        (colonnes « Résultat (à remplir) », « Date de l'appel (à remplir) », « Montant ouvert »). Chaque
        ligne porte sa campagne et son numéro de lancement : les listes de deux lancements fusionnées à
        la main se réimportent, chaque résultat rattaché au lancement de sa ligne. Une liste écrite avant
        ces colonnes se réimporte comme avant (chaque résultat au dernier lancement du foyer).

        Un import peut être relancé : un résultat déjà enregistré à l'identique (même foyer, lancement,
        résultat, jour et montant) est compté, pas enregistré deux fois. Un fichier qui contient deux
        fois le même résultat est refusé.
        """
        ctx = AppContext.from_env()
        with Session(ctx.engine) as session, session.begin():
            done = import_outcome_file(session, file, actor=actor_name(acteur))
            if not done.lines:
                raise no_line(file)
        console.print(
            f"{done.recorded} résultat(s) importé(s) depuis {file} ; {done.already_recorded} déjà "
            "enregistré(s) à l'identique, non repris."
        )

    @group.command("questionnaires")
    def questionnaires_command(
        file: Path = typer.Argument(
            ...,
            metavar="FICHIER",
            help="Classeur Excel (.xlsx, sa première feuille) ou fichier CSV (séparateur ; , ou "
            "tabulation, en UTF-8), avec une ligne d'en-tête.",
        ),
        acteur: str | None = typer.Option(None, "--acteur", help="Qui a saisi les réponses."),
    ) -> None:
        """Importe les questionnaires de pré-diagnostic retournés (action 7.1), tout ou rien.

        Une ligne par questionnaire : reference (imprimée sur le questionnaire, par exemple Q-12-345),
        date (de réception), puis une colonne par question, nommée par son identifiant dans
        config/questionnaires/ (oui, non, un nombre entier, ou rien) : toutes celles du questionnaire
        envoyé, même vides. Chaque questionnaire est enregistré une fois, avec le résultat
        « questionnaire retourné ». Un foyer qui demande un travailleur social est remis sur la liste
        d'appels de sa campagne ; l'import donne sa référence.
        """
        ctx = AppContext.from_env()
        with Session(ctx.engine) as session, session.begin():
            done = import_questionnaires(session, file, ctx.settings.config_dir, actor=actor_name(acteur))
            if not done.questionnaires:
                raise no_line(file)
        console.print(
            f"{done.questionnaires} questionnaire(s) importé(s) depuis {file} ({done.answers} réponse(s))."
        )
        if done.to_call_back:
            console.print(
                f"{len(done.to_call_back)} foyer(s) demandent à être contactés par un travailleur social :",
                style="bold",
            )
            for refs, said in (
                (done.called_back, "remis sur la liste d'appels de leur campagne"),
                (
                    done.no_call_line,
                    "sans ligne dans la liste d'appels (pas de téléphone au lancement), à joindre autrement",
                ),
                (
                    done.opposed,
                    "opposition au contact en vigueur, à voir avec le délégué à la protection des données",
                ),
            ):
                if refs:
                    console.print(f"  {said} : {', '.join(refs)}")

    @group.command("stop")
    def stop_command(
        file: Path = typer.Argument(
            ...,
            metavar="FICHIER",
            help="Réponses STOP du prestataire SMS : CSV avec une colonne telephone (et date, message).",
        ),
        acteur: str | None = typer.Option(None, "--acteur", help="Qui enregistre les oppositions."),
    ) -> None:
        """Enregistre une opposition pour chaque foyer dont le numéro a répondu STOP à un SMS.

        Avec une colonne message, seules les réponses qui demandent l'arrêt (STOP, ARRET, STOP SMS…,
        sans égard aux majuscules, aux accents ni à la ponctuation) comptent ; les autres sont
        comptées à part. Les numéros sont cherchés parmi les foyers qui ont reçu un SMS (déchiffrés en
        mémoire, seule la correspondance est gardée ; journalisé). Chaque opposition vaut pour toutes
        les listes suivantes ; un foyer déjà opposé par une réponse STOP est compté, pas enregistré de
        nouveau. Rien n'est affiché des numéros : seulement les nombres de réponses, de foyers et de
        numéros inconnus de l'annuaire.
        """
        ctx = AppContext.from_env()
        with Session(ctx.engine) as session, session.begin():
            done = import_stop_replies(session, keyring_of(ctx), file, actor=actor_name(acteur))
            if not done.lines:
                raise no_line(file)
        console.print(
            f"{done.replies} réponse(s) STOP : {done.households} foyer(s) opposé(s) désormais à tout contact "
            f"proactif ; {done.already_opposed} déjà opposé(s) par une réponse STOP précédente ; "
            f"{done.unknown_numbers} numéro(s) inconnu(s) des foyers qui ont reçu un SMS."
        )
        if done.other_messages:
            lines = ", ".join(str(n) for n in done.other_lines)
            console.print(
                f"{done.other_messages} réponse(s) qui ne sont pas une simple demande d'arrêt (« STOP », "
                "« stop svp », « Arrêtez, merci »…), non enregistrée(s) comme opposition : lisez-les, lignes "
                f"{lines} du fichier (l'en-tête est la ligne 1) ; pour celles qui demandent tout de même "
                "l'arrêt, remplacez leur message par « STOP » et importez à nouveau le fichier (les "
                "oppositions déjà enregistrées ne le sont pas deux fois)."
            )
        # The register says the provider's file is deleted once processed: the scheduled job does it,
        # a file given by hand is the operator's.
        console.print(
            f"Le fichier {file} contient des numéros de téléphone : supprimez-le une fois "
            f"{'ces lignes lues' if done.other_messages else 'traité'} (la tâche planifiée `stop` le fait "
            "d'elle-même)."
        )

    @group.command("bounces")
    def bounces_command(
        file: Path = typer.Argument(
            ...,
            metavar="FICHIER",
            help=(
                "Courriels non distribués : les avis de non-distribution renvoyés par le relais (dossier "
                "Maildir, fichier .mbox ou .eml), ou la liste des adresses en échec (CSV avec une colonne "
                "email, et date, statut)."
            ),
        ),
        acteur: str | None = typer.Option(None, "--acteur", help="Qui enregistre les échecs."),
    ) -> None:
        """Enregistre « courriel non distribué » pour chaque foyer dont l'adresse est en échec.

        Seuls les échecs définitifs (statut 5.x.x) comptent : un retard ou une boîte pleine (4.x.x) ne
        dit rien de l'adresse ; une liste CSV sans colonne statut ne donne que des échecs définitifs.
        Un foyer dont l'adresse n'est déjà plus utilisée est compté, pas enregistré de nouveau. Les
        adresses sont cherchées parmi les foyers qui ont reçu un courriel (déchiffrées en mémoire,
        seule la correspondance est gardée ; journalisé). L'adresse du foyer n'est plus utilisée
        ensuite ; ses relances passent par ses autres canaux. Rien n'est affiché des adresses. La boîte
        n'est pas modifiée : la tâche planifiée `courriels_en_echec` vide un dossier Maildir.
        """
        ctx = AppContext.from_env()
        with Session(ctx.engine) as session, session.begin():
            done = import_bounces(session, keyring_of(ctx), file, actor=actor_name(acteur))
            if not is_mailbox(file) and not done.lines:
                raise no_line(file)
        if done.reports or done.other_messages:
            console.print(
                f"{len(done.reports)} avis de non-distribution lu(s) ; "
                f"{done.temporary} échec(s) temporaire(s) non retenu(s)."
            )
        elif done.temporary:
            console.print(f"{done.temporary} échec(s) temporaire(s) (statut 4.x.x) non retenu(s).")
        console.print(
            f"{done.addresses} adresse(s) en échec : {done.households} foyer(s) dont l'adresse n'est plus "
            f"utilisée ; {done.already_unusable} dont l'adresse n'était déjà plus utilisée ; "
            f"{done.unknown_addresses} adresse(s) inconnue(s) des foyers qui ont reçu un courriel."
        )
        if done.other_messages:
            console.print(
                f"{len(done.other_messages)} message(s) de la boîte ne sont pas des avis de non-distribution "
                "(réponse automatique…) : non lus, à voir par une personne."
            )
        console.print(
            f"{file} contient des adresses électroniques : supprimez les avis et listes une fois traités (la "
            "tâche planifiée `courriels_en_echec` le fait d'elle-même)."
        )

    app.add_typer(group, name="outcomes")
