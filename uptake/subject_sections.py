"""What the detection and outreach tables hold on a household, as sections of its access report
(GDPR art. 15): the profiling itself (each flag, its estimate and its explanation), what each campaign
decided for the household (contacted, control group or left out, with the detection's content it
keeps), the contacts made, their outcomes with the social worker's notes, the call lists and the
questionnaire answers; and whether the tool knows a household at all (a mistyped matricule must not
pass unnoticed).

`privacy.subjects` knows none of the other packages; the front doors (CLI and web) give it these
sections, so that the report is the same whichever door the DPO uses. Everything is written for the
person who asked: dates as in France, labels rather than codes, how long each part is kept (the
durations the purges apply).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from detection.records import DetectionFlag, DetectionRun
from detection.retention import FLAGS_RETENTION_MONTHS
from outreach.campaigns import campaign_paths, load_campaign
from outreach.errors import CampaignInvalid
from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import Assignment, Contact, Launch, Outcome, QuestionnaireAnswer, WorklistItem
from outreach.outcomes import OUTCOMES
from outreach.retention import CALL_LINES_MONTHS, HISTORY_MONTHS, NOTES_MONTHS
from outreach.selection import EXCLUSION_REASONS
from outreach.templates import format_euros
from outreach.worklist import STATUS_LABELS
from privacy import audit
from privacy.canonical import caf_day
from privacy.models import ContactRecord, Opposition, OutputHousehold, PseudonymAlias
from privacy.retention import first_day_past
from privacy.subjects import AccessSection, OppositionRecorded
from uptake import french

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

    from uptake.context import AppContext

# How the lists written for an attempt name it (`outreach.attempts`).
_ATTEMPT = re.compile(r"tentative (\d+)")
CHANNELS = {"sms": "SMS", "email": "courriel", "appel": "appel", "courrier": "courrier"}
# Who or what recorded an outcome (`Outcome.source`): the person is told how, not an account name.
OUTCOME_SOURCES = {
    "saisie": "un travailleur social",
    "import": "un fichier de résultats (appels, réponses STOP, courriels ou courriers revenus)",
    "rapprochement": "votre dossier à la Caf du mois suivant",
    "simulation": "la démonstration de l'outil (données fictives)",
    "envoi": "l'envoi du message",
}
ARMS = {
    CONTACTED: "contacté",
    HOLDOUT: "groupe témoin : volontairement pas contacté (tirage au sort)",
}
CONTROL_GROUP = (
    "À chaque campagne, chaque foyer repéré reçoit une décision : être contacté, faire partie du groupe "
    "témoin, ou ne pas être contacté pour une raison indiquée (une opposition, par exemple). Le groupe "
    "témoin sert à savoir si les contacts aident vraiment les personnes à obtenir leurs droits : une "
    "partie des foyers repérés, tirée au sort, n'est volontairement pas contactée, puis on compare, en "
    "chiffres globaux seulement, les droits ouverts dans les deux groupes. En faire partie ne change "
    "rien à vos droits : vous pouvez les demander à tout moment sur caf.fr ou auprès de votre Caf. "
    f"La campagne garde ce que la détection a dit de vous (droit visé, montant estimé, explication) "
    f"{HISTORY_MONTHS} mois après son lancement, durée de l'évaluation de la convention."
)


@dataclass(frozen=True)
class FlagsRetention:
    """How long the installation keeps the flags: the months of the active purge schedule (`schedule`,
    its name), or the default when no purge is scheduled (`schedule` None)."""

    months: int = FLAGS_RETENTION_MONTHS
    schedule: str | None = None

    @property
    def told(self) -> str:
        """The duration and where it comes from, for the person who asked (French)."""
        if self.schedule is not None:
            return (
                f"Ces repérages sont supprimés {self.months} mois après la détection, durée appliquée par "
                f"la purge automatique de la Caf (planification « {self.schedule} »)"
            )
        return (
            f"Ces repérages sont supprimés {self.months} mois après la détection, durée prévue par "
            "défaut ; aucune purge automatique n'est planifiée : ils le sont lors d'une purge lancée par "
            "la Caf"
        )


def flags_retention(engine: Engine) -> FlagsRetention:
    """The flags' retention the installation applies: its active purge schedule's, else the default."""
    from uptake.jobs import active_purge, scheduled_flags_months
    from uptake.scheduler import list_schedules

    schedules = list_schedules(engine)
    purge = active_purge(schedules)
    return FlagsRetention(scheduled_flags_months(schedules), purge.name if purge else None)


def outreach_sections(
    session: Session,
    rule_titles: Mapping[str, str] | None = None,
    *,
    campaign_titles: Mapping[str, str] | None = None,
    commune_names: Mapping[str, str] | None = None,
    retention: FlagsRetention | None = None,
) -> Callable[[list[str]], list[AccessSection]]:
    """The sections of the household's pseudonyms; `rule_titles` names each rule in French,
    `campaign_titles` each campaign (by its id) and `commune_names` each commune (by its INSEE code);
    the flags are dated by `retention` (by default: the default duration, no purge scheduled)."""
    kept = retention or FlagsRetention()
    rules = dict(rule_titles or {})
    campaigns = dict(campaign_titles or {})
    communes = dict(commune_names or {})

    def rights(codes: str) -> str:
        return " ; ".join(rules.get(code, code) for code in codes.split(",") if code)

    def sections(pseudonyms: list[str]) -> list[AccessSection]:
        flags = session.execute(
            select(DetectionFlag, DetectionRun.mois_reference, DetectionRun.finished_at)
            .join(DetectionRun, DetectionRun.id == DetectionFlag.run_id)
            .where(DetectionFlag.id_foyer.in_(pseudonyms))
            .order_by(DetectionFlag.run_id, DetectionFlag.regle)
        ).all()
        assignments = session.execute(
            select(Assignment, Launch)
            .join(Launch, Launch.id == Assignment.launch_id)
            .where(Assignment.id_foyer.in_(pseudonyms))
            .order_by(Launch.lance_le, Assignment.id)
        ).all()
        contacts = session.scalars(
            select(Contact).where(Contact.id_foyer.in_(pseudonyms)).order_by(Contact.prevu_le, Contact.id)
        ).all()
        outcomes = session.scalars(
            select(Outcome).where(Outcome.id_foyer.in_(pseudonyms)).order_by(Outcome.survenu_le, Outcome.id)
        ).all()
        rows = session.scalars(
            select(WorklistItem).where(WorklistItem.id_foyer.in_(pseudonyms)).order_by(WorklistItem.id)
        ).all()
        answers = session.scalars(
            select(QuestionnaireAnswer)
            .where(QuestionnaireAnswer.id_foyer.in_(pseudonyms))
            .order_by(QuestionnaireAnswer.recu_le, QuestionnaireAnswer.ordre)
        ).all()
        return [
            AccessSection(
                "Droits repérés par la détection (traitement automatisé des données de la Caf)",
                (
                    "Situation examinée",
                    "Droit",
                    "Montant estimé par mois",
                    "Explication",
                    "Conservé jusqu'au",
                ),
                tuple(
                    (
                        f"dossier de {french.month(month)}" if month else "",
                        rules.get(flag.regle, flag.regle),
                        format_euros(flag.montant_estime) or "",
                        flag.explication,
                        _kept_until(finished, kept.months) if finished else "",
                    )
                    for flag, month, finished in flags
                ),
                note="Chaque mois, un traitement automatisé examine les dossiers de la Caf et signale les "
                f"droits qu'un foyer pourrait avoir sans les percevoir. {kept.told} ; ce qu'une campagne "
                "en a gardé figure dans la partie suivante.",
            ),
            AccessSection(
                "Campagnes de contact : la décision prise pour votre foyer",
                (
                    "Campagne",
                    "Lancée le",
                    "Décision",
                    "Droit visé",
                    "Montant estimé par mois",
                    "Explication",
                    "Commune",
                    "Distance au point de service le plus proche",
                    "Priorité (1 = la plus haute)",
                    "Conservé jusqu'au",
                ),
                tuple(
                    (
                        campaigns.get(launch.campagne, launch.campagne),
                        french.day(launch.lance_le),
                        _decision(assignment),
                        rights(assignment.regles or assignment.regle),
                        format_euros(assignment.montant_estime) or "",
                        assignment.explication or "",
                        communes.get(assignment.code_commune, assignment.code_commune),
                        _kilometres(assignment.distance_services_km),
                        "" if assignment.priorite is None else str(assignment.priorite),
                        _kept_until(launch.lance_le, HISTORY_MONTHS),
                    )
                    for assignment, launch in assignments
                ),
                note=CONTROL_GROUP,
            ),
            AccessSection(
                "Contacts préparés ou effectués",
                ("Date", "Campagne", "Canal", "Étape"),
                tuple(
                    (
                        french.day(c.prevu_le),
                        campaigns.get(c.campagne, c.campagne),
                        CHANNELS.get(c.canal, c.canal),
                        _step(c.tentative),
                    )
                    for c in contacts
                ),
                note=f"Conservés {HISTORY_MONTHS} mois après le lancement de la campagne.",
            ),
            AccessSection(
                "Résultats des contacts enregistrés",
                ("Date", "Résultat", "Montant ouvert par mois", "Canal", "Enregistré d'après", "Note"),
                tuple(
                    (
                        french.day(o.survenu_le),
                        OUTCOMES.get(o.resultat, o.resultat),
                        format_euros(o.montant) or "",
                        CHANNELS.get(o.canal or "", o.canal or ""),
                        OUTCOME_SOURCES.get(o.source, o.source),
                        o.commentaire or "",
                    )
                    for o in outcomes
                ),
                note=f"Les notes des travailleurs sociaux sont effacées {NOTES_MONTHS} mois après l'appel ; "
                f"les résultats sont conservés {HISTORY_MONTHS} mois après le lancement de la campagne, "
                "pour mesurer ses effets.",
            ),
            AccessSection(
                "Listes d'appels des travailleurs sociaux",
                ("Campagne", "Étape", "Ce que la fiche d'appel dit de votre situation", "État"),
                tuple(
                    (
                        campaigns.get(r.campagne, r.campagne),
                        _step(r.tentative),
                        r.motifs,
                        STATUS_LABELS.get(r.statut, r.statut),
                    )
                    for r in rows
                ),
                note=f"Supprimées {CALL_LINES_MONTHS} mois après leur création.",
            ),
            AccessSection(
                "Réponses aux questionnaires retournés",
                ("Reçu le", "Question", "Réponse"),
                tuple((french.day(a.recu_le), a.libelle, a.reponse) for a in answers),
                note=f"Conservées {HISTORY_MONTHS} mois après le lancement de la campagne.",
            ),
        ]

    return sections


def context_sections(session: Session, ctx: AppContext) -> Callable[[list[str]], list[AccessSection]]:
    """`outreach_sections` with the names of the rules, campaigns and communes of the configuration,
    and the flags' retention the installation's purge applies."""
    names = ctx.geography.communes.select("code_commune", "nom").iter_rows()
    return outreach_sections(
        session,
        ctx.rule_titles,
        campaign_titles=campaign_titles(ctx.settings.config_dir),
        commune_names=dict(names),
        retention=flags_retention(ctx.engine),
    )


def campaign_titles(config_dir: Path) -> dict[str, str]:
    """The title of each campaign of the configuration, by id; a file that no longer reads is left
    out (its campaign is then named by its id: the report is still owed)."""
    titles: dict[str, str] = {}
    for path in campaign_paths(config_dir):
        try:
            titles[path.stem] = load_campaign(path).campagne.titre
        except CampaignInvalid:
            continue
    return titles


def output_label(titles: Mapping[str, str]) -> Callable[[str], str]:
    """A list's label (`SMS action-2-2-non-recours tentative 1`) with its campaign's title and the
    attempt in words."""

    def label(text: str) -> str:
        for campaign, title in titles.items():
            text = text.replace(campaign, f"« {title} »")
        return _ATTEMPT.sub(lambda found: f"({_step(int(found[1]))})", text)

    return label


def _decision(assignment: Assignment) -> str:
    if assignment.bras:
        return ARMS.get(assignment.bras, assignment.bras)
    reason = assignment.motif_exclusion or ""
    return f"pas contacté : {EXCLUSION_REASONS.get(reason, reason)}"


def _step(attempt: int) -> str:
    return "premier contact" if attempt <= 1 else f"relance n°{attempt - 1}"


def _kilometres(distance: float | None) -> str:
    return "" if distance is None else f"{distance:.0f} km"


def _kept_until(moment: dt.datetime, months: int) -> str:
    """The last day kept by a purge of what dates from `moment`, `months` months on."""
    last = first_day_past(caf_day(moment), months) - dt.timedelta(days=1)
    return f"{last:%d/%m/%Y}"


# Where a household the tool knows shows up: flagged by a detection run, selected by a campaign,
# contacted, on a call list, with an outcome or questionnaire answers, in the contact vault, on a
# list sent under an exchange, or re-keyed by a key rotation. An opposition alone does not count:
# it may be the very one recorded for a mistyped identifier.
_HOUSEHOLD_COLUMNS: tuple[InstrumentedAttribute[str], ...] = (
    DetectionFlag.id_foyer,
    Assignment.id_foyer,
    Contact.id_foyer,
    WorklistItem.id_foyer,
    Outcome.id_foyer,
    QuestionnaireAnswer.id_foyer,
    ContactRecord.pseudonym,
    OutputHousehold.pseudonym,
    PseudonymAlias.new_pseudonym,
)
# Entries the access requests themselves leave in the log: they are no data about a household.
_ACCESS_ACTION = "personne.acces"
TYPO = "une faute de frappe désigne un autre foyer, ou aucun"
# An access report without the register's entries lacks the purposes, recipients and retention that
# article 15(1) owes the person.
REGISTER_MISSING = (
    "le registre des traitements n'est pas chargé : le rapport ne dit ni les finalités, ni les "
    "destinataires, ni les durées de conservation ; chargez-le (uptake register load) puis refaites le "
    "rapport"
)


def household_known(session: Session, pseudonyms: list[str]) -> bool:
    """Whether the tool holds anything today on one of `pseudonyms` (see `_HOUSEHOLD_COLUMNS`)."""
    return any(
        session.scalar(select(column).where(column.in_(pseudonyms)).limit(1)) is not None
        for column in _HOUSEHOLD_COLUMNS
    )


def data_held(session: Session, pseudonyms: list[str]) -> bool:
    """Whether an access report on `pseudonyms` holds anything beyond the access requests themselves."""
    if household_known(session, pseudonyms):
        return True
    opposition = select(Opposition.id).where(Opposition.pseudonym.in_(pseudonyms)).limit(1)
    if session.scalar(opposition) is not None:
        return True
    return any(entry.action != _ACCESS_ACTION for entry in audit.entries_about(session, pseudonyms))


def opposition_notice(recorded: OppositionRecorded) -> str:
    """What the DPO is told once an objection is recorded (web page and command line)."""
    until = f"{recorded.expires_on:%d/%m/%Y}"
    if recorded.already_in_force:
        return (
            f"Une opposition est déjà en vigueur pour ce foyer, jusqu'au {until} : rien de plus n'a été "
            "enregistré."
        )
    return f"Opposition enregistrée, conservée jusqu'au {until}."
