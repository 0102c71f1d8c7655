"""`uptake pseudonymise`, `uptake keys …`, `uptake contacts …`, `uptake purge`, `uptake subjects …`.

Nothing printed here ever holds a name, a number or an address: counts, pseudonyms, file paths only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from detection.retention import FLAGS_MONTHS_BOUNDS, FLAGS_RETENTION_MONTHS
from privacy import audit, retention, subjects, vault
from privacy.keys import fingerprint, public_key_pem
from privacy.pseudonyms import DEFAULT_FINALITE, check_output, key_text, pseudonymise_file
from uptake import french
from uptake.commands.actors import ActorOption, actor_name, keyring_of
from uptake.commands.outputs import ReplaceOption, check_new_file, print_files_left
from uptake.context import AppContext
from uptake.db import transaction

console = Console(emoji=False)

MAX_ISSUES_SHOWN = 20


def _one_matricule() -> str:
    """The matricule read on the standard input: one line (more would be other households, of which
    only the first would have been answered without a word)."""
    lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
    if len(lines) > 1:
        raise typer.BadParameter(
            f"{len(lines)} lignes sur l'entrée standard : un seul matricule par demande ; traitez les "
            "autres foyers un par un"
        )
    return lines[0] if lines else ""


def register(app: typer.Typer) -> None:
    """Add the pseudonymisation, keys, contacts, purge and data-subject commands."""

    @app.command("pseudonymise")
    def pseudonymise_command(
        raw: Path = typer.Argument(
            ..., metavar="FICHIER_BRUT", help="Extrait brut (Parquet ou CSV) avec la colonne `matricule`."
        ),
        out: Path = typer.Option(..., "--out", help="Extrait pseudonymisé à écrire (.parquet ou .csv)."),
        contacts: Path | None = typer.Option(None, "--contacts", help="Annuaire brut (avec `matricule`)."),
        contacts_out: Path | None = typer.Option(
            None, "--contacts-out", help="Annuaire pseudonymisé à écrire."
        ),
        finalite: str = typer.Option(
            DEFAULT_FINALITE, "--finalite", help="Finalité : une clé distincte par finalité."
        ),
        remplacer: bool = typer.Option(
            False, "--remplacer", help="Écrase les fichiers de sortie qui existent déjà."
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Remplace le matricule par un pseudonyme à clé secrète (HMAC-SHA-256, une clé par finalité).

        Un fichier de sortie existant n'est écrasé qu'avec --remplacer, et jamais le fichier brut lui-même.
        """
        if (contacts is None) != (contacts_out is None):
            raise typer.BadParameter("--contacts et --contacts-out vont ensemble")
        if contacts_out is not None and contacts_out.resolve() == out.resolve():
            raise typer.BadParameter("--out et --contacts-out doivent être deux fichiers différents")
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        key = key_text(keyring, ctx.key_territory, finalite)
        jobs = [(raw, out, "extrait")] + (
            [(contacts, contacts_out, "annuaire")] if contacts and contacts_out else []
        )
        for src, dst, _ in jobs:  # every output checked before any is written
            check_output(src, dst, replace=remplacer)
        written = [(label, pseudonymise_file(src, dst, key, replace=remplacer)) for src, dst, label in jobs]
        with transaction(ctx.engine) as session:
            for label, result in written:
                audit.append(
                    session,
                    actor=actor_name(acteur),
                    action=f"pseudonymisation.{label}",
                    object_ref=f"fichier:{result.path.name}",
                    counts={"lignes": result.rows},
                    output_sha256=result.sha256,
                    details={"finalite": finalite, "territoire": ctx.key_territory},
                )
        for label, result in written:
            console.print(f"{label.capitalize()} pseudonymisé : {result.rows} lignes → {result.path}")

    keys = typer.Typer(
        help="Clés : empreinte de la clé du DPO, rotation des pseudonymes.", no_args_is_help=True
    )

    @keys.command("show")
    def keys_show(
        export_public: Path | None = typer.Option(
            None,
            "--exporter-cle-publique",
            help="Écrit la clé publique (PEM) pour vérifier hors de cette machine.",
        ),
        remplacer: bool = ReplaceOption,
    ) -> None:
        """Affiche l'empreinte de la clé de signature du DPO et les clés présentes (noms seulement)."""
        if export_public is not None:
            check_new_file(export_public, option="--exporter-cle-publique", replace=remplacer)
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        console.print(f"Clé de signature (Ed25519) : empreinte [bold]{fingerprint(keyring.public_key())}[/]")
        if export_public is not None:
            export_public.write_bytes(public_key_pem(keyring.public_key()))
            console.print(f"Clé publique écrite : {export_public}")
        console.print(f"Dossier des clés : {keyring.keys_dir}")
        for path in sorted(keyring.keys_dir.glob("*.key")):
            console.print(f"  {path.stem}")

    @keys.command("rotate")
    def keys_rotate(
        raw: Path = typer.Option(
            ..., "--raw", help="Extrait brut (avec `matricule`) : la liste des foyers connus."
        ),
        finalites: list[str] = typer.Option(
            [DEFAULT_FINALITE], "--finalite", help="Finalités à re-chiffrer."
        ),
        correspondance: Path | None = typer.Option(
            None,
            "--correspondance",
            help="Écrit la table ancien → nouveau pseudonyme (Parquet) pour les autres modules.",
        ),
        remplacer: bool = ReplaceOption,
        effacement_massif: bool = typer.Option(
            False,
            "--effacement-massif",
            help="Accepte d'effacer du coffre plus de la moitié de ses foyers, absents de l'extrait brut "
            "(refusé sinon : un extrait partiel ou une finalité erronée ne doit pas vider le coffre).",
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Nouvelle clé de pseudonymisation : les pseudonymes sont remplacés partout.

        Coffre, oppositions, drapeaux, campagnes, listes d'appel et résultats changent dans la même
        transaction ; les anciens pseudonymes restent en alias pour les recherches dans le journal.
        """
        from detection.rekey import rekey_flag_files, rekey_flags
        from outreach.rekey import rekey_outreach
        from privacy import rotation

        if correspondance is not None:  # checked first: once the keys have turned, too late to ask
            check_new_file(correspondance, option="--correspondance", replace=remplacer)
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        territory = ctx.key_territory
        try:
            with transaction(ctx.engine) as session:
                result = rotation.rotate(
                    session,
                    keyring,
                    raw,
                    territory=territory,
                    finalites=finalites,
                    actor=actor_name(acteur),
                    also=(rekey_flags, rekey_outreach),
                    mass_deletion=effacement_massif,
                )
        except BaseException:
            rotation.abandon(keyring, territory)
            raise
        rotation.promote(keyring, territory)
        if correspondance is not None:
            result.mapping.write_parquet(correspondance)
        console.print(
            f"Rotation faite : {french.count(result.households)} foyers ; coffre : "
            f"{french.count(result.vault_rekeyed)} re-chiffrés, "
            f"{french.count(result.vault_deleted)} supprimés (foyers absents) ; "
            f"oppositions : {french.count(result.oppositions_rekeyed)}."
        )
        replaced = [f"{done.label} : {french.count(done.rows)}" for done in result.others]
        console.print(f"Pseudonymes remplacés : {' ; '.join(replaced)}.")
        files = rekey_flag_files(ctx.engine, result.mapping, ctx.settings.home)
        console.print(f"Fichiers de drapeaux réécrits : {french.count(len(files.rewritten))}.")
        print_files_left(files.left, ctx.settings.home, "réécrit")
        console.print(
            "À faire ensuite : pseudonymiser à nouveau les extraits bruts avec la nouvelle clé "
            "(uptake pseudonymise) ; les extraits déjà pseudonymisés gardent les anciens pseudonymes."
        )

    app.add_typer(keys, name="keys")

    contacts_app = typer.Typer(help="Annuaire des contacts, chiffré.", no_args_is_help=True)

    @contacts_app.command("import")
    def contacts_import(
        file: Path = typer.Argument(
            ..., metavar="FICHIER", help="Annuaire pseudonymisé (colonne `id_foyer`), Parquet ou CSV."
        ),
        remplacer: bool = typer.Option(
            False,
            "--remplacer",
            help="Le fichier est l'annuaire complet : efface les foyers qui n'y sont plus.",
        ),
        effacement_massif: bool = typer.Option(
            False,
            "--effacement-massif",
            help="Avec --remplacer : accepte d'effacer plus de la moitié des foyers du coffre "
            "(refusé sinon, un fichier coupé ou erroné ne devant pas vider le coffre).",
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Valide l'annuaire (téléphones E.164, courriels) et le range chiffré dans le coffre.

        Une valeur invalide n'efface pas la valeur valide déjà détenue pour le foyer. Code de sortie 1
        si des enregistrements ont été rejetés (identifiant absent, mal formé ou en double).
        """
        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        with transaction(ctx.engine) as session:
            report = vault.import_contacts(
                session,
                keyring,
                file,
                territory=ctx.key_territory,
                actor=actor_name(acteur),
                replace_all=remplacer,
                mass_deletion=effacement_massif,
            )
        console.print(
            f"{report.records} enregistrements lus : {report.stored} rangés chiffrés "
            f"(dont {report.replaced} remplacés), {report.rejected} rejetés."
        )
        if report.deletion_skipped:
            console.print(
                "[bold]Aucun foyer effacé du coffre[/] : le fichier a des enregistrements rejetés, il "
                "n'est donc pas pris pour l'annuaire complet. Corrigez-le puis importez-le à nouveau "
                "avec --remplacer.",
                highlight=False,
            )
        elif remplacer:
            console.print(f"Foyers absents de l'annuaire, effacés du coffre : {report.deleted}")
        if report.dropped_columns:
            console.print(f"Colonnes hors contrat ignorées : {', '.join(report.dropped_columns)}")
        for column, count in sorted(report.issue_counts().items()):
            console.print(f"Valeurs invalides écartées en `{column}` : {count}")
        for column, count in sorted(report.kept.items()):
            console.print(f"Valeur valide déjà détenue gardée en `{column}` : {count} foyer(s)")
        for issue in report.issues[:MAX_ISSUES_SHOWN]:
            console.print(f"  enregistrement n°{issue.record}, colonne `{issue.column}` : {issue.problem}")
        if len(report.issues) > MAX_ISSUES_SHOWN:
            console.print(f"  … et {len(report.issues) - MAX_ISSUES_SHOWN} autres")
        if not report.records:
            console.print(
                "[bold]Attention[/] : le fichier ne contient aucun enregistrement (l'en-tête seul). "
                "Vérifiez que c'est bien l'annuaire exporté en entier (code de sortie 1).",
                highlight=False,
            )
            raise typer.Exit(1)
        if not report.complete:
            console.print(
                f"{report.rejected} enregistrement(s) rejeté(s) : corrigez-les dans l'annuaire puis "
                "importez-le à nouveau (code de sortie 1)."
            )
            raise typer.Exit(1)

    app.add_typer(contacts_app, name="contacts")

    @app.command("purge")
    def purge_command(
        journal_mois: int = typer.Option(
            retention.AUDIT_LOG_MONTHS,
            "--journal-mois",
            min=6,
            max=36,
            help="Conservation du journal d'audit (mois).",
        ),
        drapeaux_mois: int = typer.Option(
            FLAGS_RETENTION_MONTHS,
            "--drapeaux-mois",
            min=FLAGS_MONTHS_BOUNDS[0],
            max=FLAGS_MONTHS_BOUNDS[1],
            help="Conservation des drapeaux d'une exécution de détection (mois après sa fin) et des "
            "extraits archivés ou écartés des dossiers de dépôt (mois après leur dépôt).",
        ),
        depot: list[str] = typer.Option(  # text: an empty value must not become the current folder
            [],
            "--depot",
            metavar="DOSSIER",
            help="Dossier de dépôt non planifié dont purger archive/, rejete/ et remplace/ (ceux des "
            "planifications le sont toujours) ; peut être répété.",
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Supprime les listes échues, détruit leurs clés, efface les traces et oppositions périmées,
        les drapeaux des exécutions anciennes et les extraits archivés anciens."""
        folders = [Path(name) for name in depot]
        for name, folder in zip(depot, folders, strict=True):
            if not name.strip():
                raise typer.BadParameter(
                    "chemin vide : donnez le dossier de dépôt (celui qui contient archive/ et rejete/)",
                    param_hint="--depot",
                )
            if not folder.is_dir():
                raise typer.BadParameter(
                    f"le dossier de dépôt {folder} n'existe pas ou n'est pas un dossier", param_hint="--depot"
                )
        from uptake.jobs import purge_everything

        ctx = AppContext.from_env()
        with transaction(ctx.engine) as session:
            done = purge_everything(
                ctx,
                session,
                actor=actor_name(acteur),
                flags_months=drapeaux_mois,
                audit_months=journal_mois,
                extra_drop_folders=folders,
            )
        report, flags, extracts = done.outputs, done.flags, done.extracts
        console.print(
            f"Purge : {report.outputs} sortie(s) échue(s), {report.files_deleted} fichier(s) supprimé(s), "
            f"{report.keys_destroyed} clé(s) détruite(s) ; {report.exchanges} échange(s) de plus de 36 mois, "
            f"{report.oppositions} opposition(s) échue(s) effacés."
        )
        console.print(
            f"Détection : drapeaux de {french.count(flags.runs)} exécution(s) terminée(s) avant le "
            f"{flags.kept_until:%d/%m/%Y} ({french.count(flags.flags)} drapeau(x), "
            f"{french.count(flags.files_deleted)} fichier(s)) et {french.count(extracts.files_deleted)} "
            "fichier(s) d'extraits archivés supprimés."
        )
        history = done.history
        console.print(
            f"Campagnes : {french.count(history.notes)} note(s) de plus de 12 mois effacée(s), "
            f"{french.count(history.call_lines)} ligne(s) d'appel de plus de 12 mois et l'historique de "
            f"{french.count(history.launches)} lancement(s) de plus de 36 mois "
            f"({french.count(history.rows)} ligne(s)) supprimés."
        )
        print_files_left([*report.files_left, *flags.files_left], ctx.settings.home, "supprimé")
        for path in extracts.not_deleted:
            console.print(
                f"[bold red]Non supprimé[/] (droits insuffisants ?) : {path} — supprimez-le, ou donnez "
                "au compte qui lance la purge le droit d'écrire dans ce dossier."
            )
        if report.audit_entries is None:
            console.print(
                "[bold red]Journal d'audit altéré[/] : il n'a pas été élagué (uptake audit verify)."
            )
        else:
            console.print(
                f"Journal d'audit : {report.audit_entries} entrée(s) de plus de {journal_mois} mois retirées."
            )

    subjects_app = typer.Typer(help="Droits des personnes : opposition, accès.", no_args_is_help=True)

    @subjects_app.command("oppose")
    def subjects_oppose(
        pseudonyme: str | None = typer.Argument(
            None, metavar="PSEUDONYME", help="Pseudonyme du foyer (`id_foyer`), si on le connaît."
        ),
        matricule: str | None = typer.Option(
            None,
            "--matricule",
            help="Matricule Caf du foyer, à la place du pseudonyme (jamais enregistré ni journalisé) ; "
            "`-` : lu sur l'entrée standard.",
        ),
        source: str = typer.Option("courrier", "--source", help="Comment l'opposition a été reçue."),
        mois: int = typer.Option(
            subjects.DEFAULT_OPPOSITION_MONTHS, "--mois", help="Conservation (12 à 24 mois)."
        ),
        acteur: str | None = ActorOption,
    ) -> None:
        """Enregistre l'opposition d'un foyer au contact proactif (RGPD art. 21).

        Le foyer est désigné par son pseudonyme, ou par son matricule (`--matricule -`, lu sur l'entrée
        standard pour qu'il ne reste pas dans l'historique), dont le pseudonyme est calculé avec la clé.
        """
        if (pseudonyme is None) == (matricule is None):
            raise typer.BadParameter("donnez le pseudonyme du foyer, ou son matricule avec --matricule")
        from uptake.subject_sections import TYPO, household_known, opposition_notice

        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        if matricule is not None:
            if matricule == "-":
                matricule = _one_matricule()
            pseudonyme = subjects.pseudonym_for(
                keyring, matricule, territory=ctx.key_territory, finalite=DEFAULT_FINALITE
            )
        assert pseudonyme is not None
        with transaction(ctx.engine) as session:
            known = household_known(session, [pseudonyme])
            recorded = subjects.record_opposition(
                session, pseudonyme, source=source, actor=actor_name(acteur), months=mois
            )
            listed = retention.already_listed_notice(retention.outputs_holding(session, pseudonyme))
        console.print(opposition_notice(recorded), highlight=False)
        if listed:
            console.print(f"[bold]Attention[/] : {listed}", highlight=False)
        if not known:
            # Kept all the same: the household may appear in a later extract, and will be honoured.
            console.print(
                "[bold]Attention[/] : aucun foyer n'est connu aujourd'hui sous cet identifiant (ni "
                "repérage, ni campagne, ni liste d'appel, ni coordonnées dans le coffre). L'opposition "
                "s'appliquera s'il apparaît dans un prochain extrait. Vérifiez l'identifiant (matricule "
                f"ou pseudonyme) : {TYPO}.",
                highlight=False,
            )

    @subjects_app.command("access")
    def subjects_access(
        matricule: str = typer.Argument(
            ...,
            metavar="MATRICULE",
            help="Matricule Caf du foyer (jamais enregistré ni journalisé) ; `-` : lu sur l'entrée standard.",
        ),
        out: Path | None = typer.Option(None, "--out", help="Fichier du rapport ; sinon affiché."),
        format_: str | None = typer.Option(
            None, "--format", help="texte ou html (défaut : html pour un fichier .html, texte sinon)."
        ),
        finalites: list[str] = typer.Option([DEFAULT_FINALITE], "--finalite", help="Finalités à rechercher."),
        remplacer: bool = ReplaceOption,
        acteur: str | None = ActorOption,
    ) -> None:
        """Rapport d'accès (RGPD art. 15) : tout ce qui est détenu sur le foyer, et son journal."""
        if format_ is None:  # the file's name says the form it is meant to have
            format_ = "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "texte"
        if format_ not in ("texte", "html"):
            raise typer.BadParameter("format : texte ou html")
        if out is not None:
            check_new_file(out, option="--out", replace=remplacer)
        if matricule == "-":  # keeps the matricule out of the shell history
            matricule = _one_matricule()
        from uptake.audit_labels import action_label
        from uptake.subject_sections import (
            REGISTER_MISSING,
            TYPO,
            campaign_titles,
            context_sections,
            data_held,
            output_label,
        )

        ctx = AppContext.from_env()
        keyring = keyring_of(ctx)
        with transaction(ctx.engine) as session:
            report = subjects.access_report(
                session,
                keyring,
                matricule,
                territory=ctx.key_territory,
                finalites=finalites,
                actor=actor_name(acteur),
                extra=context_sections(session, ctx),
                operation_label=action_label,
                output_label=output_label(campaign_titles(ctx.settings.config_dir)),
            )
            held = data_held(session, list(report.pseudonyms.values()))
        text = subjects.render_html(report) if format_ == "html" else subjects.render_text(report)
        if out is None:
            console.print(text, highlight=False, markup=False)
        else:
            out.write_text(text, encoding="utf-8")
            console.print(f"Rapport d'accès écrit : {out}")
        if not report.register_codes:
            console.print(f"[bold]Attention[/] : {REGISTER_MISSING}.", highlight=False)
        if not held:
            others = [f for f in finalites if f != DEFAULT_FINALITE]
            # A purpose no pseudonymisation used finds nothing either: the matricule is not the only
            # suspect, and a DPO must not answer « nothing held » for want of the right purpose.
            purpose = (
                f" ; et la finalité ({', '.join(others)}) : les extraits et le coffre sont pseudonymisés "
                f"pour la finalité « {DEFAULT_FINALITE} » sauf choix contraire"
                if others
                else ""
            )
            console.print(
                "[bold]Attention[/] : aucune donnée n'est détenue sous cet identifiant (ni repérage, ni "
                f"contact, ni coordonnées, ni opposition). Vérifiez le matricule : {TYPO}{purpose}.",
                highlight=False,
            )

    app.add_typer(subjects_app, name="subjects")
