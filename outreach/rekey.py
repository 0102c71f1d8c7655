"""Outreach's part of a pseudonymisation key rotation: its tables hold pseudonyms (`id_foyer`).

Re-keyed in the rotation's transaction: the households selected by each launch, the contacts made,
the call lists, the outcomes and the answers of returned questionnaires. Without it, a new campaign
on the new pseudonyms would not see who was contacted, refused or held out recently, and a household
could be contacted again too soon.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import Session

from outreach.models import Assignment, Contact, Outcome, QuestionnaireAnswer, WorklistItem
from privacy.rotation import Rekeyed, rekey_column


def rekey_outreach(session: Session, mapping: Table) -> list[Rekeyed]:
    """Replace the old pseudonyms of every outreach table by the new ones (a `privacy.rotation.Rekeyer`)."""
    return [
        rekey_column(session, Assignment.id_foyer, mapping, "foyers_des_campagnes", "foyers des campagnes"),
        rekey_column(session, Contact.id_foyer, mapping, "contacts", "contacts"),
        rekey_column(session, WorklistItem.id_foyer, mapping, "listes_d_appel", "listes d'appel"),
        rekey_column(session, Outcome.id_foyer, mapping, "resultats", "résultats"),
        rekey_column(
            session,
            QuestionnaireAnswer.id_foyer,
            mapping,
            "reponses_questionnaires",
            "réponses aux questionnaires",
        ),
    ]
