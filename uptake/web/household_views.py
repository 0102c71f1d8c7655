"""Every view of a household in the web application is written to the audit log (who, when, which
household by pseudonym, why): the DPO's access log reads these entries back."""

from __future__ import annotations

from sqlalchemy.orm import Session

from privacy import audit

VIEW_ACTION = "foyer.consultation"


def record_view(
    session: Session,
    *,
    actor: str,
    pseudonym: str,
    motif: str,
    campagne: str | None = None,
    worklist_id: int | None = None,
    fields_shown: list[str] | None = None,
) -> None:
    """Append the audit entry of one household view (pseudonym and field names only, never values)."""
    audit.append(
        session,
        actor=actor,
        action=VIEW_ACTION,
        object_ref=pseudonym,
        details={
            "motif": motif,
            "campagne": campagne,
            "ligne": worklist_id,
            "champs_affiches": sorted(fields_shown or []),
        },
    )
