"""`uptake demo`: the main job on embedded defaults, end to end, on a synthetic territory.

synthetic raw extract and contacts → pseudonymisation → contact vault → processing register →
detection run (with its quality against the generator's ground truth) → exchange approved by the
(demo) DPO → both campaigns of the convention over one simulated month (lists, follow-ups,
simulated outcomes, next month's extract, reconciliation) → indicators report → audit verification.

Everything goes into one new folder (its own SQLite database, keys and outputs), named at the end,
so that the demo never touches the data team's real data folder.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import textwrap
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from detection.quality import rule_quality
from detection.records import STEP_LABELS, load_flags
from detection.reference import load_reference
from detection.runs import DetectionRunner, RunRequest
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from outreach.charts import percent
from outreach.demo import run_demo_outreach
from privacy import audit, exchanges, vault
from privacy import register as processing_register
from privacy.canonical import caf_day, caf_time_zone, utc_now
from privacy.pseudonyms import key_text, pseudonymise_file
from uptake import french
from uptake.commands.actors import keyring_of
from uptake.commands.runs import print_run
from uptake.context import AppContext
from uptake.db import transaction
from uptake.settings import load_settings

console = Console(emoji=False)
# French typography: no line starts with the punctuation that a space precedes.
_FRENCH_PUNCTUATION = re.compile(r" ([;:!?»])")

DEMO_ACTOR = "demo"
REGISTER_CODE = "CTG-FORCALQUIER-DROITS"


def _step(number: int, text: str) -> None:
    # A grid, so that a step's title wider than the terminal wraps under its text.
    title = Table.grid(padding=(0, 1))
    title.add_column(no_wrap=True)
    title.add_column()
    title.add_row(f"[bold cyan]{number}.[/]", f"[bold]{text}[/]")
    console.print()
    console.print(title)


def _say(text: str) -> None:
    """One line of a step, indented under its title (and so are its wrapped lines). Wrapped here,
    not by rich: rich breaks lines at no-break spaces too, and a line would start with « ; »."""
    tied = _FRENCH_PUNCTUATION.sub("\u00a0\\1", text)
    width = max(console.width - 3, 40)
    lines = textwrap.wrap(tied, width, break_long_words=False, break_on_hyphens=False)
    console.print(Padding("\n".join(lines), (0, 0, 0, 3), expand=False))


def _new_folder(base: Path) -> Path:
    # The Caf's local time, as every date the demo prints (the machine may run on UTC).
    stamp = dt.datetime.now(caf_time_zone()).strftime("%Y%m%d-%H%M%S")
    folder = base / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = base / f"{stamp}-{suffix}"
    folder.mkdir(parents=True)
    return folder


def register(app: typer.Typer) -> None:
    """Add the `demo` command."""

    @app.command("demo")
    def demo(
        out: Path = typer.Option(
            Path("demo-output"), "--out", help="Dossier sous lequel la démonstration crée son dossier daté."
        ),
        households: int = typer.Option(
            4000, "--foyers", min=100, max=200_000, help="Nombre de foyers fictifs du territoire."
        ),
        seed: int = typer.Option(1, "--graine", help="Graine du générateur (même graine, mêmes données)."),
    ) -> None:
        """Démonstration complète sur un territoire synthétique (SQLite, données fictives) :
        extrait → pseudonymisation → détection → campagnes → listes → résultats → rapport."""
        folder = _new_folder(out.resolve())
        home = folder / ".uptake"
        os.environ["UPTAKE_HOME"] = str(home)
        os.environ.pop("UPTAKE_DATABASE_URL", None)
        ctx = AppContext(load_settings())
        data = folder / "donnees"
        territory = ctx.territory
        console.print(
            f"[bold]Démonstration uptake[/] : {territory.nom} ({len(territory.communes)} communes), "
            f"{french.count(households)} foyers fictifs, base SQLite {home / 'uptake.sqlite3'}"
        )

        _step(1, "Extrait brut et annuaire de contacts fictifs (générateur, graine fixe)")
        raw = write_synthetic(
            SynthesisSpec(households, seed=seed, raw=True),
            commune_table(load_reference(), territory.communes),
            data / "brut" / "extrait-brut.parquet",
            contacts=data / "brut" / "contacts-bruts.csv",
            truth=data / "brut" / "verite-brute.parquet",
        )
        _say(f"{french.count(raw.households)} foyers écrits (forme brute, avec matricule).")

        _step(2, "Pseudonymisation (HMAC-SHA-256, clé du territoire et de la finalité)")
        keyring = keyring_of(ctx)
        key = key_text(keyring, ctx.key_territory, "droits")
        extract = pseudonymise_file(raw.extract, data / "extrait.parquet", key).path
        contacts = pseudonymise_file(data / "brut" / "contacts-bruts.csv", data / "contacts.csv", key).path
        truth = pseudonymise_file(raw.truth, data / "verite.parquet", key).path
        console.print(f"   Extrait pseudonymisé : {extract}", soft_wrap=True)

        _step(3, "Registre des traitements et coffre chiffré des contacts")
        with transaction(ctx.engine) as session:
            processing_register.save(
                session,
                processing_register.load_dir(ctx.settings.config_dir / "registre"),
                actor=DEMO_ACTOR,
                source="config/registre",
            )
            report = vault.import_contacts(
                session, keyring, contacts, territory=ctx.key_territory, actor=DEMO_ACTOR
            )
        # The clear directory lives on only inside the encrypted vault.
        contacts.unlink()
        (data / "brut" / "contacts-bruts.csv").unlink()
        invalid = ", ".join(f"{column} : {n}" for column, n in sorted(report.issue_counts().items()))
        _say(
            f"{french.count(report.stored)} fiches chiffrées sur {french.count(report.records)}"
            + (f" ; valeurs invalides écartées ({invalid})" if invalid else "")
        )

        _step(4, "Détection : validation de l'extrait, catalogue de règles, géographie")
        runner = DetectionRunner(
            ctx.engine,
            ctx.geography,
            home,
            progress=lambda step: _say(f"· {STEP_LABELS.get(step, step)}"),
        )
        run = runner.run(RunRequest(extract=extract, trigger="demo", actor=DEMO_ACTOR)).run
        print_run(run, home, console)
        quality = Table(title="Qualité des règles face à la vérité du générateur", title_justify="left")
        for column in ("prestation", "signalés", "non-recourants", "précision", "rappel"):
            quality.add_column(column, justify="right")
        # A rule that does not flag part of the territory is measured where it does.
        areas = {item.rule_id: frozenset(item.areas) for item in run.left_out}
        places = pl.read_parquet(extract, columns=["id_foyer", "code_commune"]) if areas else None
        measured = rule_quality(load_flags(ctx.engine, run.id), pl.read_parquet(truth), places, areas)
        for q in measured:
            # Nothing to measure where the whole territory is outside the rule's `champ`.
            unmeasured = q.outside and not (q.actual or q.flagged)
            rates = ("—", "—") if unmeasured else (percent(q.precision), percent(q.recall))
            quality.add_row(q.benefit.upper(), str(q.flagged), str(q.actual), *rates)
        console.print(quality)
        for q in measured:
            if q.outside:
                _say(
                    f"{q.benefit.upper()} : {french.count(q.outside)} non-recourant(s) hors du champ de "
                    f"{q.rule} (voir ci-dessus), non comptés."
                )

        _step(5, "Échange de données personnelles soumis au DPO, approuvé (signature Ed25519)")
        with transaction(ctx.engine) as session:
            exchange = exchanges.request(
                session,
                exchanges.ExchangeRequest(
                    requester="Équipe données de la Caf (démo)",
                    recipient="Caf des Alpes-de-Haute-Provence — service d'action sociale",
                    purpose="Information proactive des foyers sur leurs droits (Ctg, actions 2.2 et 7.1)",
                    register_code=REGISTER_CODE,
                    fields=exchanges.EXCHANGE_FIELDS,
                    legal_basis="CRPA art. L.114-8 II ; RGPD art. 6(1)(e)",
                    retention_days=365,
                    expires_on=caf_day(utc_now()) + dt.timedelta(days=90),
                ),
            )
            exchanges.approve(
                session,
                keyring,
                exchange.id,
                dpo="DPO de la Caf (démo)",
                avis="Favorable : données strictement nécessaires, durée de conservation d'un an.",
                recommandations=("Purger les listes à l'échéance", "Rappeler le droit d'opposition"),
            )
        _say(f"Échange n° {exchange.id} approuvé.")

        _step(6, "Campagnes 2.2 et 7.1 sur un mois simulé : listes, relances, résultats, rapprochement")
        communes = dict(ctx.geography.communes.select("code_commune", "nom").iter_rows())
        outreach = run_demo_outreach(
            ctx.outreach_env(DEMO_ACTOR),
            ctx.settings.config_dir,
            run_id=run.id,
            extract_path=extract,
            out_dir=folder,
            communes=communes,
            seed=seed,
        )
        for launch in outreach.launches:
            signalled, contacted, controls = (
                french.count(n) for n in (launch.signales, launch.contactes, launch.temoins)
            )
            _say(
                f"{launch.campaign} : {signalled} foyers signalés, {contacted} à contacter, "
                f"{controls} dans le groupe témoin"
            )
        _say(
            f"{len(outreach.outputs)} listes produites (SMS, e-mails, appels, courriers : un PDF à "
            "imprimer par envoi)."
        )
        if outreach.stop_replies is not None:
            _say(
                f"{french.count(outreach.stop_replies.replies)} réponses STOP aux SMS : "
                f"{french.count(outreach.stop_replies.households)} foyers opposés à tout contact proactif."
            )
        if outreach.bounces is not None:
            _say(
                f"{french.count(len(outreach.bounces.reports))} avis de non-distribution du relais de "
                f"messagerie : {french.count(outreach.bounces.households)} adresses en échec définitif ne "
                f"sont plus utilisées ; {french.count(outreach.bounces.temporary)} échecs temporaires non "
                "retenus."
            )
        if outreach.letters_returned:
            _say(
                f"{french.count(outreach.letters_returned)} courriers revenus non distribués saisis par leur "
                "référence : ces adresses ne sont plus utilisées."
            )
        if outreach.questionnaires is not None:
            back = outreach.questionnaires
            _say(
                f"{french.count(back.questionnaires)} questionnaires de pré-diagnostic retournés saisis et "
                f"importés ; {french.count(len(back.to_call_back))} foyers demandent un travailleur social, "
                f"{french.count(len(back.called_back))} remis sur la liste d'appels."
            )
        if outreach.reconciliation is not None:
            opened = outreach.reconciliation.rights_opened
            contacted, controls = (
                french.count(opened.get("contacte", 0)),
                french.count(opened.get("temoin", 0)),
            )
            _say(
                "Rapprochement avec l'extrait du mois suivant : droits ouverts "
                f"{contacted} (contactés), {controls} (témoins)"
            )

        _step(7, "Journal d'audit : signature et vérification de l'intégrité")
        with transaction(ctx.engine) as session:
            audit.checkpoint(session, keyring)
        verification = audit.verify(ctx.engine, keyring.public_key())
        verdict = "intact" if verification.ok else "ALTÉRÉ"
        _say(f"{french.count(verification.entries)} entrées, chaîne et signatures : {verdict}")

        # Paths are printed whole on their line (soft wrap), to be copied or clicked.
        console.print(
            f"\n[bold green]Démonstration terminée.[/] Tout est dans [bold]{folder}[/] :", soft_wrap=True
        )
        console.print(f"   extraits          {data}", soft_wrap=True)
        console.print(f"   drapeaux          {run.flags_path}", soft_wrap=True)
        console.print(f"   listes            {folder / 'listes'}", soft_wrap=True)
        if outreach.report is not None:
            console.print(f"   rapport           {outreach.report.html}", soft_wrap=True)
        console.print(f"   base de données   {home / 'uptake.sqlite3'}", soft_wrap=True)
        if not verification.ok:
            raise typer.Exit(1)
