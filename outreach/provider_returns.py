"""What the SMS and e-mail providers send back: STOP replies and bounced addresses.

- Every SMS says « STOP » stops the messages: each number that replied is an objection to proactive
  contact (GDPR art. 21), recorded for its household and honoured by every later list. A household
  already under an objection recorded from a STOP reply is counted, not recorded again.
- An e-mail address that bounced for good is wrong (accuracy, GDPR art. 5-1-d): the outcome
  « courriel non distribué » is recorded and the household's address is no longer used. A household
  whose address is already unused is counted, not recorded again.

The households are found among those sent a message on that channel (`privacy.vault.households_with`:
decrypted in memory, the match only, audited). The CSV files: a header line, the `telephone` or
`email` column, optional `date`, and optional `message` (STOP replies: a line counts only when its
message asks to stop) or `statut` (bounces: only a permanent failure, 5.x.x, counts; a temporary one,
4.x.x, is counted apart); the provider's other columns (its message id…) are not read. An import is
all or nothing, a bad line is told by its number, never by the value it holds. Bounces may also be
read from the relay's delivery reports (`outreach.delivery_reports`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.delivery_reports import DeliveryReports, is_mailbox, is_maildir, read_reports
from outreach.errors import LineProblem, OutcomeImportInvalid, OutreachError
from outreach.models import Contact
from outreach.outcome_import import chunks, folded, parse_date, read_rows
from outreach.outcomes import BOUNCED, UNDELIVERABLE, record_outcome
from privacy import vault
from privacy.canonical import caf_day
from privacy.keys import Keyring
from privacy.models import ContactRecord, Opposition
from privacy.phones import french_e164

PHONE_COLUMN, EMAIL_COLUMN, DATE_COLUMN = "telephone", "email", "date"
MESSAGE_COLUMN, STATUS_COLUMN = "message", "statut"
# Where these objections came from, as the household's access report shows it.
STOP_ORIGIN = "réponse STOP à un SMS"
# A reply that asks to stop, once accents, case and punctuation are set aside: a word of stopping
# (« STOP », « Arrêtez », « désinscrire ») with at most words of politeness (« stop svp », « STOP
# merci »). A longer reply may say something else with the same words (« je suis en arrêt maladie »,
# « ne stoppez pas ») and is kept aside for a person to read, never dropped: an objection is a right
# (GDPR art. 21), and so is being called back.
_STOP_WORDS = frozenset(
    {
        "stop", "stopp", "stopper", "stoppez", "arret", "arrete", "arreter", "arretez", "desabonner",
        "desabonnement", "desabonnez", "desinscrire", "desinscription", "desinscrivez", "unsubscribe",
    }
)  # fmt: skip
_POLITE_WORDS = frozenset(
    {"svp", "stp", "merci", "sms", "please", "s", "il", "vous", "plait", "te", "bonjour"}
)
# An enhanced status code (RFC 3463) in a relay's cell: « 5.1.1 », « 550 5.1.1 User unknown ».
_STATUS = re.compile(r"\b([45])\.\d{1,3}\.\d{1,3}\b")


@dataclass(frozen=True)
class StopReplies:
    """What an import of STOP replies did (counts only: the numbers are personal data): the replies
    asking to stop, the households they made object, those already objecting after an earlier STOP
    (`already_opposed`, not recorded again), the numbers of no household, and the lines whose
    message asks for something else (`other_messages`, not recorded)."""

    replies: int
    households: int
    unknown_numbers: int
    already_opposed: int = 0
    other_messages: int = 0
    # Where the other messages are in the file (line numbers, the header being 1: for a person).
    other_lines: tuple[int, ...] = ()

    @property
    def lines(self) -> int:
        """The file's lines (blank ones aside)."""
        return self.replies + self.other_messages

    def counts(self) -> dict[str, int]:
        """The counts as a scheduled execution records them (the last two only when not zero)."""
        counts = {
            "reponses": self.replies,
            "foyers": self.households,
            "numeros_inconnus": self.unknown_numbers,
        }
        optional = {"deja_opposes": self.already_opposed, "autres_messages": self.other_messages}
        return counts | {key: value for key, value in optional.items() if value}


@dataclass(frozen=True)
class Bounces:
    """What an import of bounced e-mail addresses did (counts only): permanent failures, the
    households whose address is no longer used, and those whose address was unused already
    (`already_unusable`, not recorded again). How many failures were temporary (`temporary`, from
    delivery reports or a CSV file's `statut`); read from delivery reports, which messages were
    reports (`reports`) or not (`other_messages`): keys of a Maildir, names of files, never an address."""

    addresses: int
    households: int
    unknown_addresses: int
    temporary: int = 0
    reports: tuple[str, ...] = ()
    other_messages: tuple[str, ...] = ()
    already_unusable: int = 0

    @property
    def lines(self) -> int:
        """The failures read, permanent or temporary (a CSV file's lines, blank ones aside)."""
        return self.addresses + self.temporary

    def counts(self) -> dict[str, int]:
        """The counts as a scheduled execution records them (households whose address was unused
        already, and temporary failures of a CSV file, only when not zero)."""
        counts = {
            "adresses": self.addresses,
            "foyers": self.households,
            "adresses_inconnues": self.unknown_addresses,
        }
        if self.already_unusable:
            counts["deja_inutilisables"] = self.already_unusable
        if self.reports or self.other_messages:
            counts |= {"avis": len(self.reports), "autres_messages": len(self.other_messages)}
        if self.temporary or self.reports or self.other_messages:
            counts["echecs_temporaires"] = self.temporary
        return counts


def _e164(text: str) -> str | None:
    try:
        return french_e164(text)
    except phonenumbers.NumberParseException:
        return None


def _address(text: str) -> str | None:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@dataclass(frozen=True)
class _Sorter:
    """An optional column saying whether a line counts: `counts` answers yes, no, or None for a cell
    it cannot read (told with `unreadable`)."""

    column: str
    counts: Callable[[str], bool | None]
    unreadable: str


@dataclass(frozen=True)
class _Lines:
    """The values of the lines that count, with the date of each, and how many lines did not."""

    values: list[tuple[str, dt.datetime]]
    set_aside: int
    # The file's line numbers of those lines (the header is line 1), when read from a file.
    set_aside_lines: tuple[int, ...] = ()


def _asks_to_stop(message: str) -> bool:
    """Whether an SMS reply asks to stop (« STOP », « Arrêt ! », « stop svp », « STOP merci »)."""
    words = set(re.sub(r"[^a-z0-9]+", " ", folded(message)).split())
    return bool(words & _STOP_WORDS) and words <= _STOP_WORDS | _POLITE_WORDS


def _permanent(status: str) -> bool | None:
    """Whether a relay's status is a permanent failure (5.x.x) or a temporary one (4.x.x); None when
    the cell holds neither."""
    found = _STATUS.search(status)
    return None if found is None else found.group(1) == "5"


# Every message is readable: one that does not ask to stop is counted apart.
_STOP_MESSAGE = _Sorter(MESSAGE_COLUMN, _asks_to_stop, "")
_BOUNCE_STATUS = _Sorter(
    STATUS_COLUMN,
    _permanent,
    "statut illisible : donnez le code du relais, 5.x.x (échec définitif) ou 4.x.x (échec temporaire)",
)


@dataclass(frozen=True)
class _Matched:
    """The values read with the date of each, and the households found for them."""

    values: list[tuple[str, dt.datetime]]
    households: dict[str, set[str]]

    @property
    def unknown(self) -> int:
        return len({value for value, _ in self.values} - set(self.households))

    @property
    def found(self) -> set[str]:
        """Every household found."""
        return set().union(*self.households.values())


def _read_column(
    path: Path,
    *,
    column: str,
    read: Callable[[str], str | None],
    unreadable: str,
    sorter: _Sorter,
    now: dt.datetime,
) -> _Lines:
    """The values of a CSV file's `column` with the date of each line that counts (all or nothing)."""
    # A provider's export carries columns of its own (an id, an operator…): they are not read.
    header, rows = read_rows(path, None, required=((column,),))
    sorting = sorter.column in header
    problems: list[LineProblem] = []
    values: list[tuple[str, dt.datetime]] = []
    set_aside: list[int] = []  # line numbers
    for number, row in rows:
        value = read(row.get(column, ""))
        if value is None:
            problems.append(LineProblem(number, column, unreadable))
        when = parse_date(row[DATE_COLUMN]) if row.get(DATE_COLUMN) else now
        if when is None:
            problems.append(LineProblem(number, DATE_COLUMN, "date illisible (AAAA-MM-JJ ou JJ/MM/AAAA)"))
        counts = sorter.counts(row.get(sorter.column, "")) if sorting else True
        if counts is None:
            problems.append(LineProblem(number, sorter.column, sorter.unreadable))
        if value is None or when is None or counts is None:
            continue
        if counts:
            values.append((value, min(when, now)))
        else:
            set_aside.append(number)
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    return _Lines(values, len(set_aside), tuple(set_aside))


def _match(
    session: Session,
    keyring: Keyring,
    values: list[tuple[str, dt.datetime]],
    *,
    column: str,
    channel: str,
    purpose: str,
    actor: str,
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
    )
    return _Matched(values, found)


def _record_each(
    matched: _Matched, record: Callable[[str, dt.datetime], None], *, skip: Collection[str] = ()
) -> int:
    """Call `record` once per household found but not in `skip` (at the date of its first line);
    their number."""
    done: set[str] = set(skip)
    recorded = 0
    for value, when in matched.values:
        for pseudonym in sorted(matched.households.get(value, set()) - done):
            record(pseudonym, when)
            done.add(pseudonym)
            recorded += 1
    return recorded


def _opposed_after_stop(session: Session, households: Collection[str], *, now: dt.datetime) -> set[str]:
    """The `households` under an objection in force that a STOP reply recorded."""
    found: set[str] = set()
    for chunk in chunks(households):
        found.update(
            session.scalars(
                select(Opposition.pseudonym).where(
                    Opposition.pseudonym.in_(chunk),
                    Opposition.source == STOP_ORIGIN,
                    Opposition.expires_on >= caf_day(now),
                )
            )
        )
    return found


def _address_unused(session: Session, households: Collection[str]) -> set[str]:
    """The `households` whose e-mail address the vault no longer uses (`vault.mark_unusable`)."""
    fields = set(UNDELIVERABLE[BOUNCED][1])
    found: set[str] = set()
    for chunk in chunks(households):
        query = select(ContactRecord.pseudonym, ContactRecord.usable_fields).where(
            ContactRecord.pseudonym.in_(chunk)
        )
        found.update(pseudonym for pseudonym, usable in session.execute(query) if not fields & set(usable))
    return found


def import_stop_replies(
    session: Session, keyring: Keyring, path: Path, *, actor: str, now: dt.datetime | None = None
) -> StopReplies:
    """Record an objection for every household whose number replied STOP (caller's transaction),
    unless an earlier STOP reply's objection is still in force."""
    moment = now or dt.datetime.now(dt.UTC)
    lines = _read_column(
        path,
        column=PHONE_COLUMN,
        read=_e164,
        unreadable="numéro absent ou illisible",
        sorter=_STOP_MESSAGE,
        now=moment,
    )
    matched = _match(
        session,
        keyring,
        lines.values,
        column=PHONE_COLUMN,
        channel="sms",
        purpose="opposition : réponses STOP aux SMS",
        actor=actor,
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

    already = _opposed_after_stop(session, matched.found, now=moment)
    households = _record_each(matched, object_to_contact, skip=already)
    return StopReplies(
        len(lines.values),
        households,
        matched.unknown,
        len(already),
        lines.set_aside,
        lines.set_aside_lines,
    )


def import_bounces(
    session: Session, keyring: Keyring, path: Path, *, actor: str, now: dt.datetime | None = None
) -> Bounces:
    """Record « courriel non distribué » for every household whose address bounced, whose address is
    then no longer used (caller's transaction); a household whose address is unused already is
    counted apart.

    `path` is the relay's CSV list of addresses, or its delivery reports (`outreach.delivery_reports`:
    a Maildir folder, an mbox file, an `.eml` message); in both, only permanent failures count.
    """
    moment = now or dt.datetime.now(dt.UTC)
    reports: DeliveryReports | None = None
    if is_mailbox(path):
        reports = read_reports(path, now=moment)
        # A Maildir may hold an automatic reply among no report (set aside by the scheduled job); a
        # file that holds no report at all is the wrong file.
        if not reports.others and not reports.reports and not is_maildir(path):
            raise OutreachError(
                f"{path} : aucun message lisible dans ce fichier : donnez la boîte (.mbox) ou le message "
                "(.eml) tel que le relais les dépose."
            )
        if reports.others and not reports.reports and not is_maildir(path):
            raise OutreachError(
                f"{path} : aucun de ses {len(reports.others)} message(s) n'est un avis de non-distribution "
                "(RFC 3464, « multipart/report ») : donnez la boîte où le relais renvoie les courriels "
                "non distribués."
            )
        lines = _Lines([(bounce.address, bounce.when) for bounce in reports.bounces], reports.temporary)
    elif path.is_dir():
        raise OutreachError(
            f"{path} : ce dossier n'est pas un dossier Maildir (il lui faut cur/ et new/) : donnez le "
            "dossier Maildir où le relais renvoie les avis, un fichier .mbox ou .eml, ou la liste CSV "
            "des adresses en échec."
        )
    else:
        lines = _read_column(
            path,
            column=EMAIL_COLUMN,
            read=_address,
            unreadable="adresse absente ou illisible",
            sorter=_BOUNCE_STATUS,
            now=moment,
        )
    matched = _match(
        session,
        keyring,
        lines.values,
        column=EMAIL_COLUMN,
        channel="email",
        purpose="exactitude : adresses électroniques en échec",
        actor=actor,
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

    already = _address_unused(session, matched.found)
    households = _record_each(matched, bounced, skip=already)
    done = Bounces(
        len(lines.values), households, matched.unknown, lines.set_aside, already_unusable=len(already)
    )
    if reports is None:
        return done
    return replace(done, reports=tuple(reports.reports), other_messages=tuple(reports.others))
