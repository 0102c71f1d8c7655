"""What the outreach tables hold on a household, as sections of its access report (GDPR art. 15).

`privacy.subjects` knows none of the other packages; the front doors (CLI and web) give it these
sections, so that the report is the same whichever door the DPO uses.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import QuestionnaireAnswer, WorklistItem
from outreach.outcomes import outcome_history
from privacy.subjects import AccessSection


def outreach_sections(session: Session) -> Callable[[list[str]], list[AccessSection]]:
    """The outcomes, call lists and questionnaire answers of the household's pseudonyms."""

    def sections(pseudonyms: list[str]) -> list[AccessSection]:
        outcomes = [o for p in pseudonyms for o in outcome_history(session, p)]
        rows = session.scalars(select(WorklistItem).where(WorklistItem.id_foyer.in_(pseudonyms))).all()
        answers = session.scalars(
            select(QuestionnaireAnswer)
            .where(QuestionnaireAnswer.id_foyer.in_(pseudonyms))
            .order_by(QuestionnaireAnswer.recu_le, QuestionnaireAnswer.ordre)
        ).all()
        return [
            AccessSection(
                "Résultats des contacts enregistrés",
                ("Date", "Résultat", "Canal", "Par"),
                tuple(
                    (o.survenu_le.strftime("%d/%m/%Y"), o.label, o.canal or "", o.acteur) for o in outcomes
                ),
            ),
            AccessSection(
                "Listes d'appels",
                ("Campagne", "Tentative", "Motifs", "État"),
                tuple((r.campagne, str(r.tentative), r.motifs, r.statut) for r in rows),
            ),
            AccessSection(
                "Réponses aux questionnaires retournés",
                ("Reçu le", "Question", "Réponse"),
                tuple((a.recu_le.strftime("%d/%m/%Y"), a.libelle, a.reponse) for a in answers),
            ),
        ]

    return sections
