"""What the detection and outreach tables hold on a household, as sections of its access report
(GDPR art. 15): the profiling itself (each flag, its estimate and its explanation), the contacts
made, their outcomes with the social worker's notes, the call lists and the questionnaire answers;
and whether the tool knows a household at all (a mistyped matricule must not pass unnoticed).

`privacy.subjects` knows none of the other packages; the front doors (CLI and web) give it these
sections, so that the report is the same whichever door the DPO uses. Everything is written for the
person who asked: dates as in France, labels rather than codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from detection.records import DetectionFlag, DetectionRun
from outreach.models import Assignment, Contact, Outcome, QuestionnaireAnswer, WorklistItem
from outreach.outcomes import OUTCOMES
from outreach.templates import format_euros
from outreach.worklist import STATUS_LABELS
from privacy import audit
from privacy.models import ContactRecord, Opposition, OutputHousehold, PseudonymAlias
from privacy.subjects import AccessSection, OppositionRecorded
from uptake import french

CHANNELS = {"sms": "SMS", "email": "courriel", "appel": "appel", "courrier": "courrier"}


def outreach_sections(
    session: Session, rule_titles: Mapping[str, str] | None = None
) -> Callable[[list[str]], list[AccessSection]]:
    """The sections of the household's pseudonyms; `rule_titles` names each rule in French."""
    titles = dict(rule_titles or {})

    def sections(pseudonyms: list[str]) -> list[AccessSection]:
        flags = session.execute(
            select(DetectionFlag, DetectionRun.mois_reference)
            .join(DetectionRun, DetectionRun.id == DetectionFlag.run_id)
            .where(DetectionFlag.id_foyer.in_(pseudonyms))
            .order_by(DetectionFlag.run_id, DetectionFlag.regle)
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
                ("Exécution", "Mois des données", "Droit", "Montant estimé par mois", "Explication"),
                tuple(
                    (
                        f"n°{flag.run_id}",
                        french.month(month),
                        titles.get(flag.regle, flag.regle),
                        format_euros(flag.montant_estime) or "",
                        flag.explication,
                    )
                    for flag, month in flags
                ),
            ),
            AccessSection(
                "Contacts préparés ou effectués",
                ("Date", "Campagne", "Canal", "Tentative"),
                tuple(
                    (french.day(c.prevu_le), c.campagne, CHANNELS.get(c.canal, c.canal), f"n°{c.tentative}")
                    for c in contacts
                ),
            ),
            AccessSection(
                "Résultats des contacts enregistrés",
                ("Date", "Résultat", "Montant", "Canal", "Par", "Note"),
                tuple(
                    (
                        french.day(o.survenu_le),
                        OUTCOMES.get(o.resultat, o.resultat),
                        format_euros(o.montant) or "",
                        CHANNELS.get(o.canal or "", o.canal or ""),
                        o.acteur,
                        o.commentaire or "",
                    )
                    for o in outcomes
                ),
            ),
            AccessSection(
                "Listes d'appels",
                ("Campagne", "Tentative", "Motifs", "État"),
                tuple(
                    (r.campagne, f"n°{r.tentative}", r.motifs, STATUS_LABELS.get(r.statut, r.statut))
                    for r in rows
                ),
            ),
            AccessSection(
                "Réponses aux questionnaires retournés",
                ("Reçu le", "Question", "Réponse"),
                tuple((french.day(a.recu_le), a.libelle, a.reponse) for a in answers),
            ),
        ]

    return sections


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
