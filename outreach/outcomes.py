"""Outcomes: what happened with a household, from a closed list, with who and when; history kept.

The table is append-only: a new outcome never replaces an old one, the latest tells the current
state and the whole history stays for the indicators. `record_outcome` is the one entry point (the
web application, the CSV import, the reconciliation and the demo simulation all use it);
`opposition` is also written to the privacy opposition register so that every later list honours it,
and an outcome that ends the contact (`STOPPING`) closes the household's lines still waiting on the
launch's call list.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.errors import OutcomeInvalid
from outreach.models import Assignment, Outcome, WorklistItem
from outreach.templates import format_euros
from privacy import vault
from privacy.freetext import contact_details_in

# The states of a call-list line (`WorklistItem.statut`). They live here, not in `outreach.worklist`
# (which imports this module), so that recording an outcome can close a household's waiting lines.
TO_CALL, IN_PROGRESS, DONE = "a_appeler", "en_cours", "traite"

# The closed list, with the label a user reads.
OUTCOMES: dict[str, str] = {
    "a_contacter": "à contacter",
    "injoignable": "injoignable",
    "message_laisse": "message laissé",
    "joint": "joint",
    "refus": "refus",
    "demarche_engagee": "démarche engagée",
    "droit_ouvert": "droit ouvert",
    "non_eligible": "non éligible",
    "accompagnement_engage": "accompagnement engagé",
    "questionnaire_envoye": "questionnaire envoyé",
    "questionnaire_retourne": "questionnaire retourné",
    "pli_non_distribue": "courrier revenu (n'habite pas à l'adresse indiquée)",
    "courriel_non_distribue": "courriel non distribué (adresse en échec)",
    "opposition": "opposition",
}

# After one of these, a follow-up "if no outcome" is not sent.
# A letter that came back, an e-mail address that bounced: the channel and the vault's fields it
# leaves unused for that household; the other channels go on.
UNDELIVERED = "pli_non_distribue"
BOUNCED = "courriel_non_distribue"
UNDELIVERABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    UNDELIVERED: ("courrier", ("adresse",)),
    BOUNCED: ("email", ("email",)),
}
CONCLUSIVE = frozenset(OUTCOMES) - {
    "a_contacter",
    "injoignable",
    "message_laisse",
    "questionnaire_envoye",
    *UNDELIVERABLE,
}
# After one of these, nothing more is sent, whatever the attempt's condition, and nobody calls.
STOPPING = frozenset({"refus", "opposition", "non_eligible", "droit_ouvert"})
# What a call can end with: not "still to contact" (the state before any call), not the steps of a
# questionnaire (sent and returned by post), not a letter come back or an e-mail bounced (the mail
# room and the e-mail relay tell those, and they stop using an address).
CALL_RESULTS = tuple(
    code
    for code in OUTCOMES
    if code not in {"a_contacter", "questionnaire_envoye", "questionnaire_retourne", *UNDELIVERABLE}
)
# Outcomes after which the household stays on the list for another call.
CALL_AGAIN = frozenset({"injoignable", "message_laisse"})
# The one outcome that carries an amount: the monthly amount of the right opened.
OPENED = "droit_ouvert"
# A monthly amount above this is a typing mistake: no benefit pays that much a month.
MAX_MONTHLY_AMOUNT = 10_000.0
_AMOUNT_EXAMPLE = "par exemple 182,50"

# `envoi`: the e-mail relay refused an address when the message was handed to it.
SOURCES = ("saisie", "import", "rapprochement", "simulation", "envoi")


@dataclass(frozen=True)
class OutcomeRecord:
    """One recorded outcome as plain data."""

    id: int
    id_foyer: str
    resultat: str
    montant: float | None
    launch_id: int | None
    regle: str | None
    canal: str | None
    tentative: int | None
    acteur: str
    source: str
    survenu_le: dt.datetime
    enregistre_le: dt.datetime
    commentaire: str | None

    @property
    def label(self) -> str:
        """The outcome in French."""
        return OUTCOMES[self.resultat]

    @classmethod
    def of(cls, row: Outcome) -> OutcomeRecord:
        """Plain data from a row."""
        return cls(
            row.id,
            row.id_foyer,
            row.resultat,
            row.montant,
            row.launch_id,
            row.regle,
            row.canal,
            row.tentative,
            row.acteur,
            row.source,
            row.survenu_le,
            row.enregistre_le,
            row.commentaire,
        )


# A short note: what the next colleague needs to know, not a report.
NOTE_MAX = 500


def check_note(commentaire: str | None) -> None:
    """Raise `OutcomeInvalid` for a note too long, or holding a telephone number or an e-mail address
    (`privacy.freetext`: it would escape the contact vault)."""
    if not commentaire:
        return
    if len(commentaire) > NOTE_MAX:
        raise OutcomeInvalid(
            f"la note fait {len(commentaire)} caractères, pour {NOTE_MAX} au plus",
            "raccourcissez-la à l'essentiel pour le prochain appel",
            field="commentaire",
        )
    found = contact_details_in(commentaire)
    if found:
        them = "les" if len(found) > 1 else "la" if found[0].startswith("une ") else "le"
        raise OutcomeInvalid(
            f"la note contient {' et '.join(found)}",
            f"retirez-{them} : la note est lue par les collègues et gardée 12 mois hors du coffre chiffré "
            "des contacts ; une coordonnée nouvelle du foyer se transmet à l'équipe données, pour l'annuaire",
            field="commentaire",
        )


def check_outcome(resultat: str, montant: float | None) -> None:
    """Raise `OutcomeInvalid` unless `resultat` is in the closed list and `montant` fits it."""
    if resultat not in OUTCOMES:
        raise OutcomeInvalid(f"résultat inconnu `{resultat}`", "valeurs possibles : " + ", ".join(OUTCOMES))
    if resultat == OPENED:
        check_amount(montant)
    elif montant is not None:
        raise OutcomeInvalid(
            f"un montant ne se donne que pour « {OUTCOMES[OPENED]} », pas pour « {OUTCOMES[resultat]} »",
            f"retirez le montant, ou choisissez « {OUTCOMES[OPENED]} »",
            field="montant",
        )


def check_amount(montant: float | None) -> None:
    """Raise `OutcomeInvalid` unless `montant` is a monthly amount in euros one can believe."""
    if montant is None:
        raise OutcomeInvalid(
            f"un {OUTCOMES[OPENED]} demande son montant mensuel",
            f"donnez-le en euros, {_AMOUNT_EXAMPLE}",
            field="montant",
        )
    if not math.isfinite(montant):
        raise OutcomeInvalid(
            "le montant est illisible",
            f"donnez le montant mensuel en euros, {_AMOUNT_EXAMPLE}",
            field="montant",
        )
    if montant < 0:
        raise OutcomeInvalid(
            "le montant est négatif",
            f"donnez le montant mensuel en euros, {_AMOUNT_EXAMPLE}",
            field="montant",
        )
    if montant > MAX_MONTHLY_AMOUNT:
        # A number typed far out of bounds (1e308) is not written back in 309 digits.
        shown = format_euros(montant) if montant < 1_000 * MAX_MONTHLY_AMOUNT else "ce montant"
        raise OutcomeInvalid(
            f"{shown} par mois dépasse le plafond de {format_euros(MAX_MONTHLY_AMOUNT)}",
            "vérifiez le montant : c'est le montant mensuel du droit ouvert, en euros",
            field="montant",
        )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def latest_assignment(session: Session, id_foyer: str) -> Assignment | None:
    """The household's place in the most recent launch that flagged it (contacted, holdout or excluded)."""
    return session.scalars(
        select(Assignment)
        .where(Assignment.id_foyer == id_foyer)
        .order_by(Assignment.launch_id.desc())
        .limit(1)
    ).first()


def record_outcome(
    session: Session,
    *,
    id_foyer: str,
    resultat: str,
    acteur: str,
    survenu_le: dt.datetime | None = None,
    montant: float | None = None,
    launch_id: int | None = None,
    regle: str | None = None,
    canal: str | None = None,
    tentative: int | None = None,
    source: str = "saisie",
    commentaire: str | None = None,
    now: dt.datetime | None = None,
    origin: str | None = None,
) -> OutcomeRecord:
    """Append one outcome for a household (in the caller's transaction) and return it.

    Without `launch_id`, the outcome is attached to the household's most recent launch, if any.
    `commentaire` must not hold personal data (it is for the social worker's short note). An
    `opposition` also enters the objections register, with `origin` as where it came from (shown in
    the household's access report), by default `outreach:<source>`. A `STOPPING` outcome closes the
    household's lines of the launch still waiting on the call list.
    """
    check_outcome(resultat, montant)
    check_note(commentaire)
    if source not in SOURCES:
        raise OutcomeInvalid(f"source inconnue `{source}`", "valeurs possibles : " + ", ".join(SOURCES))
    moment = _utc(now or dt.datetime.now(dt.UTC))
    if launch_id is None:
        assignment = latest_assignment(session, id_foyer)
        if assignment is not None:
            launch_id = assignment.launch_id
            regle = regle or assignment.regle
    row = Outcome(
        id_foyer=id_foyer,
        launch_id=launch_id,
        regle=regle,
        resultat=resultat,
        montant=montant,
        canal=UNDELIVERABLE[resultat][0] if resultat in UNDELIVERABLE else canal,
        tentative=tentative,
        acteur=acteur,
        source=source,
        survenu_le=_utc(survenu_le) if survenu_le else moment,
        enregistre_le=moment,
        commentaire=commentaire,
    )
    session.add(row)
    session.flush()
    # A call's result closes the household's call lines, as on the card: typed back from a filled
    # call list (`outcomes import`), the household is not handed out again.
    final_call = canal == "appel" and resultat in CALL_RESULTS and resultat not in CALL_AGAIN
    if (resultat in STOPPING or final_call) and launch_id is not None:
        _close_waiting_lines(session, id_foyer, launch_id)
    if resultat == "opposition":
        oppositions.record(session, id_foyer, source=origin or f"outreach:{source}", actor=acteur, now=moment)
    if resultat in UNDELIVERABLE:
        vault.mark_unusable(
            session, id_foyer, UNDELIVERABLE[resultat][1], reason=OUTCOMES[resultat], actor=acteur
        )
    return OutcomeRecord.of(row)


def _close_waiting_lines(session: Session, id_foyer: str, launch_id: int) -> None:
    """Close the household's lines of the launch still waiting for a call: once its right is opened or
    it refused, nobody should call it. A line in progress is left to its holder, who records the call."""
    session.execute(
        update(WorklistItem)
        .where(
            WorklistItem.launch_id == launch_id,
            WorklistItem.id_foyer == id_foyer,
            WorklistItem.statut == TO_CALL,
        )
        .values(statut=DONE)
    )


def outcome_history(session: Session, id_foyer: str) -> list[OutcomeRecord]:
    """Every outcome of a household, oldest first."""
    rows = session.scalars(
        select(Outcome).where(Outcome.id_foyer == id_foyer).order_by(Outcome.survenu_le, Outcome.id)
    )
    return [OutcomeRecord.of(row) for row in rows]
