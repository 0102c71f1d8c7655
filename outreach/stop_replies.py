"""« STOP » replies to the SMS: every one is an objection to proactive contact (GDPR art. 21).

Every SMS says « STOP » stops the messages. The SMS provider returns the numbers that replied; this
module finds their households among those sent an SMS (`privacy.vault.households_of_phones`:
decrypted in memory, the match only, audited) and records an objection for each, honoured by every
later list. The file: a header line, a `telephone` column (any French or international writing),
optional `date` (of the reply) and other columns (ignored). The import is all or nothing; a bad line
is told by its number, never by the number it holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.errors import LineProblem, OutcomeImportInvalid
from outreach.models import Contact
from outreach.outcome_import import parse_date, read_rows
from outreach.outcomes import record_outcome
from privacy import vault
from privacy.keys import Keyring

PHONE_COLUMN = "telephone"
# Where these objections came from, as the household's access report shows it.
STOP_ORIGIN = "réponse STOP à un SMS"


@dataclass(frozen=True)
class StopReplies:
    """What an import of STOP replies did (counts only: the numbers are personal data)."""

    replies: int
    households: int
    unknown_numbers: int


def _e164(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def import_stop_replies(
    session: Session, keyring: Keyring, path: Path, *, actor: str, now: dt.datetime | None = None
) -> StopReplies:
    """Record an objection for every household whose number replied STOP (caller's transaction)."""
    moment = now or dt.datetime.now(dt.UTC)
    header, rows = read_rows(path)
    if PHONE_COLUMN not in header:
        raise OutcomeImportInvalid(str(path), [LineProblem(1, PHONE_COLUMN, "colonne obligatoire absente")])
    problems: list[LineProblem] = []
    replies: list[tuple[str, dt.datetime]] = []
    for number, row in rows:
        phone = _e164(row.get(PHONE_COLUMN, ""))
        if phone is None:
            problems.append(LineProblem(number, PHONE_COLUMN, "numéro absent ou illisible"))
        when = parse_date(row["date"]) if row.get("date") else moment
        if when is None:
            problems.append(LineProblem(number, "date", "date illisible (AAAA-MM-JJ ou JJ/MM/AAAA)"))
        if phone is not None and when is not None:
            replies.append((phone, min(when, moment)))
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    texted = session.scalars(select(Contact.id_foyer).where(Contact.canal == "sms").distinct())
    found = vault.households_of_phones(
        session,
        keyring,
        texted,
        {phone for phone, _ in replies},
        purpose="opposition : réponses STOP aux SMS",
        actor=actor,
        now=moment,
    )
    done: set[str] = set()
    for phone, when in replies:
        for pseudonym in sorted(found.get(phone, set()) - done):
            record_outcome(
                session,
                id_foyer=pseudonym,
                resultat="opposition",
                acteur=actor,
                survenu_le=when,
                canal="sms",
                source="import",
                commentaire="réponse STOP à un SMS",
                now=moment,
                origin=STOP_ORIGIN,
            )
            done.add(pseudonym)
    unknown = len({phone for phone, _ in replies} - set(found))
    return StopReplies(len(replies), len(done), unknown)
