"""The relay's delivery reports: only permanent failures mark an address as wrong."""

from __future__ import annotations

import datetime as dt
import mailbox
from pathlib import Path

import pytest

from outreach.delivery_reports import is_mailbox, read_reports, remove_messages, set_aside
from outreach.errors import OutreachError
from outreach.simulation import delivery_report
from tests.outreach.factories import automatic_reply

NOW = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)


def _maildir(path: Path, *messages: bytes) -> list[str]:
    box = mailbox.Maildir(path, create=True)
    return [box.add(message) for message in messages]


def test_only_permanent_failures_are_bounces_and_other_messages_are_told_apart(tmp_path: Path) -> None:
    folder = tmp_path / "retours"
    keys = _maildir(
        folder,
        delivery_report(
            [("Foyer1@Example.org", "failed", "5.1.1"), ("foyer2@example.org", "delayed", "4.4.1")]
        ),
        delivery_report([("foyer3@example.org", "failed", "4.2.2")], date="Wed, 11 Mar 2026 08:00:00 +0000"),
        automatic_reply(),
    )

    found = read_reports(folder, now=NOW)

    assert is_mailbox(folder)
    assert [(bounce.address, bounce.when) for bounce in found.bounces] == [
        ("Foyer1@example.org", dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    ]
    assert found.temporary == 2
    assert sorted(found.reports) == sorted(keys[:2]) and found.others == [keys[2]]


def test_the_address_sent_to_is_taken_when_the_relay_followed_an_alias(tmp_path: Path) -> None:
    report = delivery_report([("alias-cible@example.net", "failed", "5.1.1")]).replace(
        b"Final-Recipient: rfc822; alias-cible@example.net\n",
        b"Final-Recipient: rfc822; alias-cible@example.net\nOriginal-Recipient: rfc822;foyer4@example.org\n",
    )
    path = tmp_path / "avis.eml"
    path.write_bytes(report)

    found = read_reports(path, now=NOW)

    assert [bounce.address for bounce in found.bounces] == ["foyer4@example.org"]


def test_an_mbox_file_is_read_message_by_message_and_a_future_date_is_taken_as_now(tmp_path: Path) -> None:
    path = tmp_path / "retours.mbox"
    box = mailbox.mbox(path, create=True)
    box.add(
        delivery_report([("foyer1@example.org", "failed", "5.1.1")], date="Fri, 1 Jan 2027 00:00:00 +0000")
    )
    box.add(delivery_report([("foyer2@example.org", "failed", "5.2.1")]))
    box.flush()

    found = read_reports(path, now=NOW)

    assert [(bounce.address, bounce.when) for bounce in found.bounces] == [
        ("foyer1@example.org", NOW),
        ("foyer2@example.org", dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)),
    ]


def test_a_path_that_is_no_mailbox_is_a_french_error(tmp_path: Path) -> None:
    with pytest.raises(OutreachError, match="ni un dossier Maildir"):
        read_reports(tmp_path / "absent.mbox", now=NOW)


def test_recorded_reports_are_deleted_and_other_messages_set_aside_as_eml(tmp_path: Path) -> None:
    folder = tmp_path / "retours"
    report, reply = _maildir(
        folder, delivery_report([("foyer1@example.org", "failed", "5.1.1")]), automatic_reply()
    )

    remove_messages(folder, [report])
    moved = set_aside(folder, [reply], tmp_path / "rejete")

    assert len(mailbox.Maildir(folder, create=False)) == 0
    assert [path.name for path in moved] == [f"{reply}.eml"]
    assert moved[0].read_bytes() == automatic_reply()
