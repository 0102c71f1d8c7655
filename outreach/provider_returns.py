"""What the SMS and e-mail providers send back: STOP replies and bounced addresses.

- Every SMS says « STOP » stops the messages: each number that replied is an objection to proactive
  contact (GDPR art. 21), recorded for its household and honoured by every later list.
- An e-mail address that bounced is wrong (accuracy, GDPR art. 5-1-d): the outcome « courriel non
  distribué » is recorded and the household's address is no longer used.

The households are found among those sent a message on that channel (`privacy.vault.households_with`:
decrypted in memory, the match only, audited). The CSV files: a header line, the `telephone` or
`email` column, optional `date` and other columns (ignored); an import is all or nothing, a bad line
is told by its number, never by the value it holds. Bounces may also be read from the relay's
delivery reports (`outreach.delivery_reports`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.delivery_reports import DeliveryReports, is_mailbox, is_maildir, read_reports
from outreach.errors import LineProblem, OutcomeImportInvalid, OutreachError
from outreach.models import Contact
from outreach.outcome_import import parse_date, read_rows
from outreach.outcomes import BOUNCED, record_outcome
from privacy import vault
from privacy.keys import Keyring

PHONE_COLUMN, EMAIL_COLUMN = "telephone", "email"
# Where these objections came from, as the household's access report shows it.
STOP_ORIGIN = "réponse STOP à un SMS"


@dataclass(frozen=True)
class StopReplies:
    """What an import of STOP replies did (counts only: the numbers are personal data)."""

    replies: int
    households: int
    unknown_numbers: int

    def counts(self) -> dict[str, int]:
        """The counts as a scheduled execution records them."""
        return {"reponses": self.replies, "foyers": self.households, "numeros_inconnus": self.unknown_numbers}


@dataclass(frozen=True)
class Bounces:
    """What an import of bounced e-mail addresses did (counts only). Read from delivery reports, it
    also says how many failures were temporary, and which messages were reports (`reports`) or not
    (`other_messages`): keys of a Maildir, names of files, never an address."""

    addresses: int
    households: int
    unknown_addresses: int
    temporary: int = 0
    reports: tuple[str, ...] = ()
    other_messages: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        """The counts as a scheduled execution records them."""
        counts = {
            "adresses": self.addresses,
            "foyers": self.households,
            "adresses_inconnues": self.unknown_addresses,
        }
        if self.reports or self.other_messages:
            counts |= {
                "avis": len(self.reports),
                "echecs_temporaires": self.temporary,
                "autres_messages": len(self.other_messages),
            }
        return counts


def _e164(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _address(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@dataclass(frozen=True)
class _Matched:
    """The values read with the date of each, and the households found for them."""

    values: list[tuple[str, dt.datetime]]
    households: dict[str, set[str]]

    @property
    def unknown(self) -> int:
        return len({value for value, _ in self.values} - set(self.households))


def _read_column(
    path: Path, *, column: str, read: Callable[[str], str | None], unreadable: str, now: dt.datetime
) -> list[tuple[str, dt.datetime]]:
    """The values of a CSV file's `column` with the date of each line (all or nothing)."""
    header, rows = read_rows(path)
    if column not in header:
        raise OutcomeImportInvalid(str(path), [LineProblem(1, column, "colonne obligatoire absente")])
    problems: list[LineProblem] = []
    values: list[tuple[str, dt.datetime]] = []
    for number, row in rows:
        value = read(row.get(column, ""))
        if value is None:
            problems.append(LineProblem(number, column, unreadable))
        when = parse_date(row["date"]) if row.get("date") else now
        if when is None:
            problems.append(LineProblem(number, "date", "date illisible (AAAA-MM-JJ ou JJ/MM/AAAA)"))
        if value is not None and when is not None:
            values.append((value, min(when, now)))
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    return values


def _match(
    session: Session,
    keyring: Keyring,
    values: list[tuple[str, dt.datetime]],
    *,
    column: str,
    channel: str,
    purpose: str,
    actor: str,
    now: dt.datetime,
) -> _Matched:
    """Find the values among the households sent a message on `channel`."""
    if not values:
        return _Matched(values, {})
    sent = session.scalars(select(Contact.id_foyer).where(Contact.canal == channel).distinct())
    found = vault.households_with(
        session,
        keyring,
        sent,
        column,
        {value for value, _ in values},
        purpose=purpose,
        actor=actor,
        now=now,
    )
    return _Matched(values, found)


def _record_each(matched: _Matched, record: Callable[[str, dt.datetime], None]) -> int:
    """Call `record` once per household found (at the date of its first line); their number."""
    done: set[str] = set()
    for value, when in matched.values:
        for pseudonym in sorted(matched.households.get(value, set()) - done):
            record(pseudonym, when)
            done.add(pseudonym)
    return len(done)


def import_stop_replies(
    session: Session, keyring: Keyring, path: Path, *, actor: str, now: dt.datetime | None = None
) -> StopReplies:
    """Record an objection for every household whose number replied STOP (caller's transaction)."""
    moment = now or dt.datetime.now(dt.UTC)
    numbers = _read_column(
        path, column=PHONE_COLUMN, read=_e164, unreadable="numéro absent ou illisible", now=moment
    )
    matched = _match(
        session,
        keyring,
        numbers,
        column=PHONE_COLUMN,
        channel="sms",
        purpose="opposition : réponses STOP aux SMS",
        actor=actor,
        now=moment,
    )

    def object_to_contact(pseudonym: str, when: dt.datetime) -> None:
        record_outcome(
            session,
            id_foyer=pseudonym,
            resultat="opposition",
            acteur=actor,
            survenu_le=when,
            canal="sms",
            source="import",
            commentaire=STOP_ORIGIN,
            now=moment,
            origin=STOP_ORIGIN,
        )

    households = _record_each(matched, object_to_contact)
    return StopReplies(len(matched.values), households, matched.unknown)


def import_bounces(
    session: Session, keyring: Keyring, path: Path, *, actor: str, now: dt.datetime | None = None
) -> Bounces:
    """Record « courriel non distribué » for every household whose address bounced, whose address is
    then no longer used (caller's transaction).

    `path` is the relay's CSV list of addresses, or its delivery reports (`outreach.delivery_reports`:
    a Maildir folder, an mbox file, an `.eml` message), of which only permanent failures count.
    """
    moment = now or dt.datetime.now(dt.UTC)
    reports: DeliveryReports | None = None
    if is_mailbox(path):
        reports = read_reports(path, now=moment)
        # A Maildir may hold an automatic reply among no report (set aside by the scheduled job); a
        # file that holds no report at all is the wrong file.
        if reports.others and not reports.reports and not is_maildir(path):
            raise OutreachError(
                f"{path} : aucun de ses {len(reports.others)} message(s) n'est un avis de non-distribution "
                "(RFC 3464, « multipart/report ») : donnez la boîte où le relais renvoie les courriels "
                "non distribués."
            )
        addresses = [(bounce.address, bounce.when) for bounce in reports.bounces]
    else:
        addresses = _read_column(
            path, column=EMAIL_COLUMN, read=_address, unreadable="adresse absente ou illisible", now=moment
        )
    matched = _match(
        session,
        keyring,
        addresses,
        column=EMAIL_COLUMN,
        channel="email",
        purpose="exactitude : adresses électroniques en échec",
        actor=actor,
        now=moment,
    )

    def bounced(pseudonym: str, when: dt.datetime) -> None:
        record_outcome(
            session,
            id_foyer=pseudonym,
            resultat=BOUNCED,
            acteur=actor,
            survenu_le=when,
            source="import",
            now=moment,
        )

    households = _record_each(matched, bounced)
    done = Bounces(len(addresses), households, matched.unknown)
    if reports is None:
        return done
    return replace(
        done,
        temporary=reports.temporary,
        reports=tuple(reports.reports),
        other_messages=tuple(reports.others),
    )
