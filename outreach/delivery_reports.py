"""Delivery reports (RFC 3464) the mail relay sends back for the e-mails it could not deliver.

The relay returns each undeliverable e-mail to the campaign's sender address as a
`multipart/report; report-type=delivery-status` message; the mailbox of that address is read here as
a Maildir folder, an mbox file or `.eml` files. Only a permanent failure (action `failed`, status
5.x.x) means the address is wrong: a delay, or a failure after the relay gave up retrying a 4.x.x
error (a full mailbox, a server down), says nothing about the address. A message that is not a
delivery report (an automatic reply…) is set aside and counted, never read further.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from outreach.errors import OutreachError

MAILBOX_SUFFIXES = (".eml", ".mbox")


@dataclass(frozen=True)
class Bounce:
    """An address the relay could not deliver to, for good, and when it said so."""

    address: str
    when: dt.datetime


@dataclass
class DeliveryReports:
    """What a mailbox held: permanent failures, temporary ones, and the keys of its messages."""

    bounces: list[Bounce] = field(default_factory=list)
    temporary: int = 0
    reports: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


def is_mailbox(path: Path) -> bool:
    """Whether `path` is read as mail (a Maildir folder, an `.eml` or `.mbox` file) rather than CSV."""
    return is_maildir(path) or path.suffix.lower() in MAILBOX_SUFFIXES


def is_maildir(path: Path) -> bool:
    """A Maildir folder: `cur/` and `new/` inside."""
    return (path / "cur").is_dir() and (path / "new").is_dir()


def read_reports(path: Path, *, now: dt.datetime) -> DeliveryReports:
    """The delivery reports of a Maildir folder, an mbox file or one `.eml` message.

    Raises `OutreachError` when the path cannot be read as a mailbox. The keys in `reports` and
    `others` are the Maildir's message keys (for a file: its name), so that a caller can delete the
    reports it recorded and set the other messages aside.
    """
    found = DeliveryReports()
    for key, message in _messages(path):
        failures = _failures(message)
        if failures is None:
            found.others.append(key)
            continue
        found.reports.append(key)
        when = min(_date(message) or now, now)
        for address, permanent in failures:
            if permanent:
                found.bounces.append(Bounce(address, when))
            else:
                found.temporary += 1
    return found


def remove_messages(folder: Path, keys: Iterable[str]) -> None:
    """Delete the messages `keys` of a Maildir folder (reports already recorded)."""
    box = mailbox.Maildir(folder, factory=None, create=False)
    for key in keys:
        box.discard(key)


def set_aside(folder: Path, keys: Iterable[str], into: Path) -> list[Path]:
    """Move the messages `keys` of a Maildir folder into `into` as `.eml` files, for a person to read."""
    box = mailbox.Maildir(folder, factory=None, create=False)
    into.mkdir(parents=True, exist_ok=True)
    moved = []
    for key in keys:
        target = into / f"{key}.eml"
        target.write_bytes(box.get_bytes(key))
        box.discard(key)
        moved.append(target)
    return moved


def _messages(path: Path) -> Iterator[tuple[str, Message]]:
    if is_maildir(path):
        folder = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(folder.iterkeys()):
            yield key, _parsed(folder.get_bytes(key))
    elif path.suffix.lower() == ".mbox" and path.is_file():
        box = mailbox.mbox(path, factory=None, create=False)
        for key in box.iterkeys():
            yield str(key), _parsed(box.get_bytes(key))
    elif path.is_file():
        yield path.name, _parsed(path.read_bytes())
    else:
        raise OutreachError(
            f"{path} : introuvable, ou ni un dossier Maildir (cur/ et new/), ni un fichier .mbox ou .eml. "
            "Vérifiez le chemin."
        )


def _parsed(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=email.policy.default)


def _failures(message: Message) -> list[tuple[str, bool]] | None:
    """Each failed or delayed recipient of a delivery report with whether the failure is permanent;
    None when the message is not a delivery report or names no readable recipient."""
    if message.get_content_type() != "multipart/report":
        return None
    failures: list[tuple[str, bool]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            return None
        for block in blocks[1:]:  # the first block describes the message, the others a recipient each
            failure = _recipient(block) if isinstance(block, Message) else None
            if failure is not None:
                failures.append(failure)
    return failures or None


def _recipient(block: Message) -> tuple[str, bool] | None:
    action = str(block.get("Action", "")).strip().lower()
    if action not in ("failed", "delayed"):
        return None  # delivered, relayed, expanded
    # The address the message was sent to: the original one when the relay followed an alias.
    named = str(block.get("Original-Recipient") or block.get("Final-Recipient") or "")
    kind, _, value = named.partition(";")
    if kind.strip().lower() != "rfc822":
        return None
    try:
        address = validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    status = str(block.get("Status", "")).strip()
    return address, action == "failed" and status.startswith("5.")


def _date(message: Message) -> dt.datetime | None:
    raw = message.get("Date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
