"""`uptake check`: is this installation ready for its monthly run? One finding per part, in French.

Every check reads and changes nothing: the database is not migrated, no key is created, no schedule
runs. Each part is checked even when another fails, so that one pass lists everything to fix. The one
thing written is the verdict of the rules' test cases (`detection.verification`): a record of a
computation, reused by the runs and the next checks, not a change of the installation.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from privacy.canonical import caf_day, utc_now
from uptake.failures import told
from uptake.settings import Settings, database_problem, not_a_database, sqlite_file

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from detection.geography import Geography
    from detection.verification import CatalogueVerdict
    from outreach.campaigns import KnownNames
    from rules.catalogue import Catalogue
    from rules.parameters import Parameters

T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    """What one check found: the part checked, whether it is ready, and what to say of it."""

    part: str
    ready: bool
    said: str


def _database(settings: Settings) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy.exc import DatabaseError, OperationalError

    from uptake.db import alembic_config, make_engine, shown, unreachable

    problem = database_problem(settings)
    if problem is not None:
        raise NotReady(problem)
    if _absent(settings):
        return f"{shown(settings.database_url)} : pas encore créée (elle l'est à la première commande)"
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            current = tuple(MigrationContext.configure(connection).get_current_heads())
    except OperationalError as exc:
        raise unreachable(settings.database_url, exc) from None
    except DatabaseError:
        raise NotReady(not_a_database(settings)) from None
    finally:
        engine.dispose()
    name = shown(settings.database_url)
    if not current:
        # The database exists (a PostgreSQL one made by createdb, say): its tables do not yet.
        return (
            f"{name} : tables pas encore créées (elles le sont à la première commande, ou « uptake db "
            "upgrade »)"
        )
    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        applied = {revision.revision for revision in script.iterate_revisions(current, "base")}
    except CommandError:
        raise NotReady(
            f"{name} : schéma plus récent que cette version d'uptake ; mettez uptake à jour"
        ) from None
    pending = len({revision.revision for revision in script.walk_revisions()} - applied)
    if pending:
        return f"{name} : {pending} migration(s) appliquée(s) à la prochaine commande"
    return f"{name} : à jour"


def _absent(settings: Settings) -> bool:
    """A SQLite file not there yet (connecting would create it), or one that cannot be opened as the
    database (the database part says why)."""
    path = sqlite_file(settings.database_url)
    return database_problem(settings) is not None or (path is not None and not path.exists())


def read_database(settings: Settings, read: Callable[[Engine], T]) -> T | None:
    """`read` on the database, or None when it is not created yet (a check must not create it)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import OperationalError

    from uptake.db import make_engine, unreachable

    if _absent(settings):
        return None
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            if not MigrationContext.configure(connection).get_current_heads():
                return None
        return read(engine)
    except OperationalError as exc:
        raise unreachable(settings.database_url, exc) from None
    finally:
        engine.dispose()


def _territory(settings: Settings) -> str:
    from detection.territory import TERRITORY_FILE, load_territory

    territory = load_territory(settings.config_dir / TERRITORY_FILE)
    return (
        f"{territory.nom} : {len(territory.communes)} commune(s), "
        f"{len(territory.service_points)} point(s) de service, {len(territory.perimeters)} périmètre(s)"
    )


def verified_cases(
    settings: Settings, catalogue: Catalogue, parameters: Parameters, geography: Geography
) -> CatalogueVerdict:
    """The verdict of the rules' test cases, read from or written to the database's record of them
    when the database exists and has its table; run without being recorded otherwise (a check does
    not create nor migrate the database)."""
    from sqlalchemy import inspect

    from detection.verification import CaseVerification, verify_catalogue

    def verified(engine: Engine) -> CatalogueVerdict:
        recorded = inspect(engine).has_table(CaseVerification.__tablename__)
        return verify_catalogue(catalogue, parameters, geography, engine if recorded else None)

    verdict = read_database(settings, verified)
    return verify_catalogue(catalogue, parameters, geography, None) if verdict is None else verdict


def _rules(settings: Settings) -> str:
    from sqlalchemy.orm import Session

    from detection.geography import Geography
    from detection.runs import load_rules, versions_refused
    from detection.territory import TERRITORY_FILE, load_territory
    from detection.verification import CasesFailed
    from rules.compiler import compile_catalogue

    geography = Geography.of(load_territory(settings.config_dir / TERRITORY_FILE))
    catalogue, parameters = load_rules(
        geography, catalogue_dir=settings.catalogue_dir, parameters_dir=settings.parameters_dir
    )
    month = caf_day(utc_now()).replace(day=1)
    # Compiled: every parameter has a value this month.
    compiled = compile_catalogue(catalogue, parameters, month, geography)

    def refused(engine: Engine) -> str | None:
        with Session(engine) as session:
            found = versions_refused(session, compiled)
        return None if found is None else found.told

    # A rule edited since the last run, its version kept: the next run, scheduled ones too, refuses it.
    problem = read_database(settings, refused)
    if problem is not None:
        raise NotReady(f"{problem} ; sinon la prochaine exécution la refuse")
    # A rule whose own cases fail computes something else than its author meant: runs refuse it.
    # A case naming a commune of another territory (the shipped ones, say) does not make it wrong.
    verdict = verified_cases(settings, catalogue, parameters, geography)
    if verdict.wrong_rules:
        raise NotReady(f"{CasesFailed(verdict).told} ; d'ici là, les exécutions refusent ce catalogue")
    said = f"{len(catalogue.rules)} règle(s), paramètres en vigueur en {month:%m/%Y}"
    for folder, what in ((settings.catalogue_dir, "règles"), (settings.parameters_dir, "paramètres")):
        if folder is not None:  # the installation's own, not the shipped ones: say which
            said += f" ; {what} de {folder}"
    elsewhere = verdict.elsewhere_rules
    if elsewhere:
        said += (
            f" ; {verdict.elsewhere} cas de test de {', '.join(elsewhere)} nomment une commune hors du "
            "territoire ou dépendent de sa géographie (éloignement, distances, périmètres) : écrits pour un "
            "autre territoire, ils ne bloquent pas les exécutions ; à adapter dans la copie du catalogue "
            "désignée par UPTAKE_REGLES"
        )
    for warning in catalogue.warnings:  # a rule's author's choice to review, not a fault
        said += f" ; attention : {warning}"
    # Not a fault of the installation: the data team is told what the runs will not flag.
    for item in compiled.left_out(geography.territory.communes):
        said += f" ; {item.text()}"
    return said


def _campaigns(settings: Settings) -> str:
    from outreach.campaigns import TEMPLATES_DIR, campaign_paths, load_campaign, reference_problems
    from outreach.errors import OutreachError
    from outreach.templates import check_campaign

    paths = campaign_paths(settings.config_dir)
    if not paths:
        return "aucune campagne"
    names = campaign_names(settings)
    # An entry written in config/registre/ but not loaded is the register part's finding, not told twice.
    known = replace(names, loaded_register=names.loaded_register | names.written_register)
    problems: list[str] = []
    for path in paths:  # every broken file told at once, not the first only
        try:
            campaign = load_campaign(path, settings.config_dir / TEMPLATES_DIR)
            found = reference_problems(campaign, known)
            if found:
                problems.extend(str(problem) for problem in found)
                continue
            check_campaign(campaign, settings.config_dir / TEMPLATES_DIR)
        except OutreachError as exc:
            problems.append(str(exc))
    if problems:
        told = " ; ".join(problems)
        raise NotReady(told if len(problems) == 1 else f"{len(problems)} problèmes : {told}")
    return f"{len(paths)} campagne(s), modèles de messages corrects"


def campaign_names(settings: Settings) -> KnownNames:
    """What a campaign may name, read without changing anything: the catalogue's rules, the register
    entries (none loaded while the database is not created), the territory's communes and perimeters,
    and the exchanges recorded."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from detection.geography import Geography
    from detection.runs import load_rules
    from detection.territory import TERRITORY_FILE, load_territory
    from outreach.campaigns import KnownNames
    from privacy import register
    from privacy.errors import PrivacyError
    from privacy.models import Exchange
    from rules.areas import outside_areas

    def loaded(engine: Engine) -> frozenset[str]:
        with Session(engine) as session:
            return frozenset(row.code for row in register.entries(session))

    def recorded(engine: Engine) -> dict[int, str]:
        with Session(engine) as session:
            return {
                row.id: row.register_code
                for row in session.execute(select(Exchange.id, Exchange.register_code))
            }

    geography = Geography.of(load_territory(settings.config_dir / TERRITORY_FILE))
    catalogue, _ = load_rules(
        geography, catalogue_dir=settings.catalogue_dir, parameters_dir=settings.parameters_dir
    )
    problem = None
    try:
        written = frozenset(e.code for e in register.load_dir(settings.config_dir / register.REGISTER_DIR))
    except PrivacyError as exc:  # the register's own finding: a campaign naming an entry points there
        written, problem = frozenset(), str(exc).split("\n", 1)[0]
    communes = geography.communes.select("code_commune", "nom").iter_rows()
    codes = geography.territory.communes
    silent = frozenset(r.id for r in catalogue.rules if len(outside_areas(codes, r.areas)) == len(codes))
    return KnownNames(
        rule_ids=frozenset(rule.id for rule in catalogue.rules),
        silent_rules=silent,
        loaded_register=read_database(settings, loaded) or frozenset(),
        written_register=written,
        communes={str(code): str(name) for code, name in communes},
        perimeters=geography.perimeter_names(),
        exchanges=read_database(settings, recorded),
        register_problem=problem,
    )


def _register(settings: Settings) -> str:
    from sqlalchemy.orm import Session

    from privacy import register

    written = register.load_dir(settings.config_dir / register.REGISTER_DIR)

    def pending(engine: Engine) -> register.RegisterChanges:
        with Session(engine) as session:
            return register.pending_changes(session, written)

    # The DPO reads the register stored in the database: it must be exactly the folder's.
    changes = read_database(settings, pending) or register.RegisterChanges(added=[e.code for e in written])
    problems = []
    if changes.added:
        problems.append(f"fiche(s) {', '.join(changes.added)} absente(s) de la base")
    if changes.changed:
        changed = ", ".join(f"{code} (champs : {', '.join(f)})" for code, f in changes.changed.items())
        problems.append(f"fiche(s) {changed} modifiée(s) dans le dossier depuis leur chargement")
    if changes.removed:
        problems.append(f"fiche(s) {', '.join(changes.removed)} retirée(s) du dossier, encore dans la base")
    if problems:
        raise NotReady(" ; ".join(problems) + " : chargez le dossier avec « uptake register load »")
    return f"{len(written)} fiche(s), chargée(s) dans la base"


def _accounts(settings: Settings) -> str:
    from sqlalchemy.orm import Session

    from uptake.scheduler import ScheduleInfo, list_schedules
    from uptake.users import DORMANT_AFTER, ROLE_LABELS, AccountReview, dormant_sweeps, review_accounts

    def active(engine: Engine) -> tuple[list[AccountReview], list[ScheduleInfo]]:
        with Session(engine) as session:
            reviews = [review for review in review_accounts(session) if review.account.active]
        return reviews, list_schedules(engine)

    reviews, schedules = read_database(settings, active) or ([], [])
    accounts = [review.account for review in reviews]
    if not any(account.role == "dpo" for account in accounts):
        # Every exchange of personal data waits for the DPO's decision, made in the web application.
        raise NotReady(
            "aucun compte actif de délégué à la protection des données : aucun échange ne peut être "
            "décidé ; créez-le avec « uptake users add LOGIN --role dpo --password-stdin »"
        )
    counts = {label: sum(a.role == role for a in accounts) for role, label in ROLE_LABELS.items()}
    said = ", ".join(f"{label} : {count}" for label, count in counts.items() if count)
    unsectored = sorted(a.login for a in accounts if a.role == "travailleur_social" and not a.secteurs)
    if unsectored:  # created before sectors were required: they are handed no household
        said += (
            f" ; travailleur(s) social(aux) sans secteur, à qui aucun foyer n'est proposé : "
            f"{', '.join(unsectored)} (uptake users sectors LOGIN --secteur CODES)"
        )
    temporary = sum(a.password_temporary for a in accounts)
    if temporary:  # ready all the same: each replaces it at their first sign-in
        said += f" ; {temporary} mot(s) de passe provisoire(s), à remplacer à la première connexion"
    # The accounts told are those the next scheduled sweep will disable, if there is one.
    sweep = next(iter(dormant_sweeps(schedules)), None)
    days = sweep[1] if sweep else DORMANT_AFTER.days
    dormant = sum(review.dormant(utc_now(), dt.timedelta(days=days)) for review in reviews)
    if dormant:  # ready all the same: the DPO's review decides, or the scheduled job
        said += f" ; {dormant} sans connexion depuis plus de {days} jours, " + (
            f"désactivé(s) à la prochaine exécution de « {sweep[0].name} »"
            if sweep
            else "à désactiver (uptake users disable-dormant, ou chaque jour : --job comptes_inactifs)"
        )
    return said


def _keys(settings: Settings) -> str:
    from sqlalchemy.orm import Session

    from privacy.keys import is_data_key, master_source, open_keyring, stored_keys
    from privacy.keyuse import fingerprint_problems, keys_in_use

    source = master_source(settings.home / "master.key", settings.keys_dir)

    # The key files are looked for, not opened: opening the keyring would create the master secret.
    def missing(engine: Engine) -> list[str]:
        with Session(engine) as session:
            needed = keys_in_use(session)
        return sorted(set(needed) - set(stored_keys(settings.keys_dir)))

    lost = read_database(settings, missing)
    if lost:
        raise NotReady(
            f"clé(s) absente(s) de {settings.keys_dir}, alors que la base en dépend : {', '.join(lost)} ; "
            "restaurez-les depuis la sauvegarde, avec la même clé maîtresse (uptake ne les recrée pas : "
            "une nouvelle clé ne lirait rien de ce qui existe)"
        )
    said = f"clé maîtresse : {source}"
    data_keys = list(filter(is_data_key, stored_keys(settings.keys_dir)))
    if not data_keys:
        return said
    # Data keys are there, so is their master secret (`master_source` said so): opening creates nothing.
    keyring = open_keyring(settings.keys_dir, settings.home / "master.key")

    def compared(engine: Engine) -> tuple[list[str], list[str]]:
        with Session(engine) as session:
            return fingerprint_problems(session, keyring)

    replaced, unrecorded = read_database(settings, compared) or ([], [])
    if replaced:
        raise NotReady(" ; ".join(replaced))
    checked = len(data_keys) - len(unrecorded)
    if checked:
        said += f" ; {checked} clé(s) conforme(s) à l'empreinte notée par la base"
    if unrecorded:
        said += (
            f" ; empreinte notée à la prochaine utilisation (clé(s) d'avant leur enregistrement) : "
            f"{', '.join(unrecorded)}"
        )
    return said


def _schedules(settings: Settings) -> str:
    from uptake.scheduler import (
        DaemonInfo,
        ScheduleInfo,
        daemon_sentence,
        daemons,
        failure_sentences,
        list_schedules,
        missed_sentences,
        never_sentences,
        purge_sentence,
        zone_sentences,
    )

    def read(engine: Engine) -> tuple[list[ScheduleInfo], list[DaemonInfo]]:
        return list_schedules(engine), daemons(engine)

    found = read_database(settings, read)
    if found is None:
        raise NotReady(
            "aucune planification (base pas encore créée) : planifiez la détection mensuelle et la "
            "purge (uptake schedule add)"
        )
    infos, running = found
    problems = (
        never_sentences(infos) + zone_sentences(infos) + missed_sentences(infos) + failure_sentences(infos)
    )
    if not any(info.job == "detection" and info.next_run is not None for info in infos):
        problems.append(
            "Aucune détection planifiée (ou sa planification est suspendue) : les extraits déposés ne "
            "sont traités que par une exécution lancée à la main. Planifiez-la : « uptake schedule add "
            'mensuel --cron "0 6 5 * *" --job detection --inbox DOSSIER ».'
        )
    for info in infos:
        inbox = info.params.get("inbox")
        if inbox and not Path(str(inbox)).is_absolute():
            # Read from the daemon's own folder (/ under systemd), not from where `check` runs.
            problems.append(
                f"Le dossier de dépôt de « {info.name} » est un chemin relatif ({inbox}) : le démon le "
                "cherche depuis son propre dossier de travail ; remplacez la planification avec un chemin "
                f"absolu (uptake schedule remove {info.name}, puis add)."
            )
        elif inbox and not Path(str(inbox)).is_dir():
            problems.append(
                f"Le dossier de dépôt de « {info.name} » n'existe pas ({inbox}) : créez-le, ou "
                f"remplacez la planification (uptake schedule remove {info.name}, puis add)."
            )
        elif inbox and not os.access(inbox, os.W_OK | os.X_OK):
            problems.append(
                f"Le dossier de dépôt de « {info.name} » ({inbox}) n'est pas modifiable : la tâche "
                "ne pourra pas y archiver les extraits ; donnez-en les droits au compte du démon."
            )
    active = {info.job for info in infos if info.next_run is not None}
    if active & {"lancement", "relances"} and "stop" not in active:
        problems.append(
            "Des campagnes partent par planification, mais aucune tâche ne traite les réponses STOP aux "
            "SMS (chaque SMS promet qu'un STOP arrête les messages) : planifiez-la, avant les relances : "
            '« uptake schedule add stop --cron "0 7 * * 1-5" --job stop --inbox DOSSIER ».'
        )
    unpurged = purge_sentence(infos)
    if unpurged:
        problems.append(unpurged)
    # A daemon killed (kill -9, power cut) never removes its sign of life: alive is what counts.
    if infos and not any(daemon.alive for daemon in running):
        problems.append(daemon_sentence(running))
    if problems:
        raise NotReady("\n".join(problems))
    return f"{len(infos)} planification(s) ; {daemon_sentence(running)}"


# E-mails prepared a day ago and still not sent: the relay was never given, or refuses them.
EMAILS_STALLED_AFTER = dt.timedelta(days=1)


def _emails(settings: Settings) -> str:
    from outreach.sending import stalled_emails
    from uptake import french

    now = utc_now()
    stalled = read_database(
        settings, lambda engine: stalled_emails(engine, now=now, older_than=EMAILS_STALLED_AFTER)
    )
    if not stalled:
        return "aucun courriel de campagne en attente depuis plus d'un jour"
    problems = []
    for launch in stalled:
        waiting = []
        if launch.to_send:
            waiting.append(
                f"{launch.to_send} à envoyer (« uptake campaigns send {launch.campagne} --launch "
                f"{launch.launch_id} --smtp HOTE:PORT », ou --envoyes-ailleurs, --abandonner)"
            )
        if launch.uncertain:
            waiting.append(
                f"{launch.uncertain} d'un envoi interrompu, peut-être reçus (--reprendre pour les "
                "renvoyer, ou --envoyes-ailleurs)"
            )
        problems.append(
            f"Lancement n°{launch.launch_id} ({launch.campagne}) : courriels en attente depuis le "
            f"{french.day(launch.since)}, {' ; '.join(waiting)} ; les relances de ces foyers les attendent."
        )
    raise NotReady("\n".join(problems))


def _alerts(settings: Settings) -> str:
    from uptake.alerts import RECIPIENTS_ENV, alert_settings
    from uptake.scheduler import last_alert_problem

    lost = read_database(settings, last_alert_problem)
    if lost is not None:
        raise NotReady(lost[:1].upper() + lost[1:])
    alerts = alert_settings()
    if alerts is None:
        return (
            f"aucune d'après l'environnement de cette commande ({RECIPIENTS_ENV} non renseignée) : un échec "
            "d'exécution planifiée ne se voit alors que dans « uptake schedule list » et la page "
            "« Exécutions » ; le démon lit son propre environnement (sous systemd, son EnvironmentFile) : "
            "lancez « uptake check » avec le même"
        )
    return (
        f"échecs envoyés à {len(alerts.recipients)} adresse(s) par le relais "
        f"{alerts.smtp.host}:{alerts.smtp.port}"
    )


def _accessibility(_settings: Settings) -> str:
    from uptake.accessibility import CONTACT_ENV, accessibility_contact

    try:
        contact = accessibility_contact()
    except ValueError as exc:
        raise NotReady(f"{CONTACT_ENV} : {exc}") from None
    if contact is None:
        return (
            f"aucune adresse de contact dans la déclaration d'accessibilité ({CONTACT_ENV} non renseignée) : "
            "elle renvoie à l'administrateur de l'application"
        )
    return f"déclaration d'accessibilité : contact {contact}"


def _disclosure(_settings: Settings) -> str:
    from privacy.disclosure import THRESHOLD_ENV, configured_threshold

    threshold = configured_threshold()
    origin = THRESHOLD_ENV if os.environ.get(THRESHOLD_ENV, "").strip() else f"par défaut ; {THRESHOLD_ENV}"
    return f"effectifs inférieurs à {threshold} masqués dans tout chiffre publié ({origin})"


def _time_zone(settings: Settings) -> str:
    from detection.territory import TERRITORY_FILE, load_territory
    from privacy.canonical import TIME_ZONE_ENV, caf_time_zone, communes_by_time_zone

    zone = caf_time_zone().key
    origin = TIME_ZONE_ENV if os.environ.get(TIME_ZONE_ENV, "").strip() else f"par défaut ; {TIME_ZONE_ENV}"
    # Loading refuses a Caf's territory spread over several zones: only the national one is.
    zones = communes_by_time_zone(load_territory(settings.config_dir / TERRITORY_FILE).communes)
    said = f"jours comptés et heures affichées dans le fuseau {zone} ({origin})"
    if len(zones) > 1:
        return (
            f"{said} ; territoire national, sur {len(zones)} fuseaux horaires : appels et SMS partent aux "
            "heures du fuseau de chaque campagne (section [fenetres]), quel que soit celui du foyer"
        )
    lives_in = next(iter(zones), None)
    if lives_in is not None and lives_in != zone:
        raise NotReady(
            f"l'installation compte les jours et affiche les heures dans le fuseau {zone} ({origin}), alors "
            f"que les communes du territoire sont dans le fuseau {lives_in} : échéances, dates affichées "
            f"et planifications seraient décalées ; définissez {TIME_ZONE_ENV}={lives_in}"
        )
    return said


def _letters(_settings: Settings) -> str:
    from outreach.letters import BUILTIN_FONT, installed_font

    font = installed_font()
    if font is BUILTIN_FONT:
        return (
            f"PDF des courriers en {font.name} : un courrier dont un nom s'écrit hors de l'alphabet "
            "d'Europe de l'Ouest restera hors du PDF (à imprimer depuis son HTML) ; installez la police "
            "DejaVu Sans (paquet Debian fonts-dejavu-core)"
        )
    return f"PDF des courriers en {font.name} ({font.files['normal'].parent})"


class NotReady(Exception):
    """A part that works but is not ready: the message says what to do."""


CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("Base de données", _database),
    ("Territoire", _territory),
    ("Fuseau horaire", _time_zone),
    ("Règles et paramètres", _rules),
    ("Campagnes", _campaigns),
    ("Registre des traitements", _register),
    ("Comptes", _accounts),
    ("Clés", _keys),
    ("Planifications", _schedules),
    ("Courriels de campagne", _emails),
    ("Alertes", _alerts),
    ("Secret statistique", _disclosure),
    ("Accessibilité", _accessibility),
    ("Courriers", _letters),
)


def check_installation(settings: Settings) -> list[Finding]:
    """Every check, in order; a failing check says what is wrong and how to fix it."""
    findings: list[Finding] = []
    for part, check in CHECKS:
        try:
            findings.append(Finding(part, True, check(settings)))
        except NotReady as exc:
            findings.append(Finding(part, False, str(exc)))
        except Exception as exc:
            said = told(exc) or f"erreur interne ({type(exc).__name__}) : relancez avec UPTAKE_DEBUG=1"
            # One cause (a wrong UPTAKE_FUSEAU, say) stops several parts: said in full once.
            first = next((f.part for f in findings if not f.ready and f.said == said), None)
            findings.append(Finding(part, False, f"même cause que « {first} » ci-dessus" if first else said))
    return findings
