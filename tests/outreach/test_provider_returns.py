"""« STOP » replies to the SMS become objections, bounced addresses stop being used: households found
without ever showing a number or an address."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.errors import OutcomeImportInvalid, OutreachError
from outreach.launch import launch_campaign, run_followups
from outreach.models import Outcome
from outreach.oppositions import opposed
from outreach.provider_returns import import_bounces, import_stop_replies
from outreach.simulation import delivery_report
from privacy import vault
from privacy.models import AuditEntry, Opposition
from tests.outreach.conftest import NOW
from tests.outreach.factories import automatic_reply, campaign_22, flag, flags_frame


def _texted(make_world, households: int = 3):
    """Action 2.2 launched (SMS first) on `households` households: 06 12 00 00 00, 06 12 00 00 01…"""
    world = make_world()
    flags = flags_frame([flag(i) for i in range(households)])
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].to_list()
    world.store_contacts(ids)
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    assert [a.canal for a in report.attempts] == ["sms"]
    return world, ids


def _import(world, path: Path):
    with Session(world.engine) as session, session.begin():
        return import_stop_replies(session, world.keyring, path, actor="equipe-donnees", now=NOW)


def test_each_number_that_replied_stop_makes_its_household_object(make_world, tmp_path: Path) -> None:
    world, ids = _texted(make_world)
    path = tmp_path / "stop.csv"
    path.write_text(
        # The provider's own columns (its message id…) are not read.
        "telephone;date;message;id_message\n+33612000001;2026-03-09;STOP;a1\n06 12 00 00 02;;Stop;a2\n"
        "07 99 99 99 99;;STOP;a3\n",
        encoding="utf-8",
    )

    done = _import(world, path)

    assert (done.replies, done.households, done.unknown_numbers) == (3, 2, 1)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[1], ids[2]}
        outcomes = session.execute(
            select(Outcome.id_foyer, Outcome.canal).where(Outcome.resultat == "opposition")
        ).all()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "annuaire.rapprochement")).one()
    assert sorted(outcomes) == [(ids[1], "sms"), (ids[2], "sms")]
    with Session(world.engine) as session:
        origins = {o.pseudonym: o.source for o in session.scalars(select(Opposition))}
    assert origins == {ids[1]: "réponse STOP à un SMS", ids[2]: "réponse STOP à un SMS"}
    counts = json.loads(entry.counts or "{}")
    assert counts == {"foyers_examines": 3, "valeurs": 3, "valeurs_trouvees": 2}
    assert "3361200" not in (entry.details or "") + (entry.counts or "")


def test_a_bad_line_refuses_the_file_without_repeating_its_number(make_world, tmp_path: Path) -> None:
    world, ids = _texted(make_world)
    path = tmp_path / "stop.csv"
    path.write_text("telephone;date\n+33612000001;2026-03-09\n06 12 34;2026-03-09\n", encoding="utf-8")

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "ligne 3, colonne `telephone` : numéro absent ou illisible" in str(refused.value)
    assert "06 12 34" not in str(refused.value)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == set()


def _emailed(make_world, households: int = 3):
    """Action 2.2 launched, then its e-mails sent a week later (foyer0@example.org, foyer1@…)."""
    world, ids = _texted(make_world, households)
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    sent = run_followups(world.env, campaign, 1, out_dir=world.out_dir, now=NOW + dt.timedelta(days=7))
    assert [a.canal for a in sent] == ["email"]
    return world, ids


def test_a_bounced_address_is_recorded_and_no_longer_used(make_world, tmp_path: Path) -> None:
    world, ids = _emailed(make_world)
    path = tmp_path / "echecs.csv"
    path.write_text("email;date\nFOYER1@example.org;2026-03-18\ninconnu@example.org;\n", encoding="utf-8")

    with Session(world.engine) as session, session.begin():
        done = import_bounces(
            session, world.keyring, path, actor="equipe-donnees", now=NOW + dt.timedelta(days=8)
        )

    assert (done.addresses, done.households, done.unknown_addresses) == (2, 1, 1)
    with Session(world.engine) as session:
        outcome = session.scalars(select(Outcome).where(Outcome.resultat == "courriel_non_distribue")).one()
        usable = {row["id_foyer"]: row for row in vault.usable_channels(session).iter_rows(named=True)}
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "annuaire.rapprochement")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert (outcome.id_foyer, outcome.canal) == (ids[1], "email")
    assert usable[ids[1]]["canal_email"] is False and usable[ids[0]]["canal_email"] is True
    assert entry is not None and json.loads(entry.details or "{}")["champ"] == "email"
    assert "example.org" not in (entry.details or "") + (entry.counts or "")


def test_an_unreadable_address_refuses_the_file_without_repeating_it(make_world, tmp_path: Path) -> None:
    world, _ = _emailed(make_world)
    path = tmp_path / "echecs.csv"
    path.write_text("email\npas-une-adresse\n", encoding="utf-8")

    with pytest.raises(OutcomeImportInvalid) as refused, Session(world.engine) as session, session.begin():
        import_bounces(session, world.keyring, path, actor="equipe-donnees", now=NOW)

    assert "ligne 2, colonne `email` : adresse absente ou illisible" in str(refused.value)
    assert "pas-une-adresse" not in str(refused.value)


def test_a_garbage_mailbox_or_a_folder_that_is_no_maildir_is_refused_with_what_to_give(
    make_world, tmp_path: Path
) -> None:
    world, _ = _emailed(make_world)
    garbage = tmp_path / "retours.mbox"
    garbage.write_bytes(b"garbage\x00\x01")
    folder = tmp_path / "retours"
    folder.mkdir()
    for path, said in ((garbage, "aucun message lisible"), (folder, "n'est pas un dossier Maildir")):
        with pytest.raises(OutreachError, match=said), Session(world.engine) as session, session.begin():
            import_bounces(session, world.keyring, path, actor="equipe-donnees", now=NOW)


def test_bounces_are_read_from_the_relays_delivery_reports_permanent_failures_only(
    make_world, tmp_path: Path
) -> None:
    world, ids = _emailed(make_world)
    folder = tmp_path / "retours"
    box = mailbox.Maildir(folder, create=True)
    box.add(delivery_report([("foyer0@example.org", "failed", "5.1.1")]))
    box.add(delivery_report([("foyer2@example.org", "failed", "4.2.2")]))  # mailbox full: not wrong
    box.add(automatic_reply())

    with Session(world.engine) as session, session.begin():
        done = import_bounces(
            session, world.keyring, folder, actor="equipe-donnees", now=NOW + dt.timedelta(days=8)
        )

    assert (done.addresses, done.households, done.unknown_addresses, done.temporary) == (1, 1, 0, 1)
    assert (len(done.reports), len(done.other_messages)) == (2, 1)
    assert done.counts()["autres_messages"] == 1
    with Session(world.engine) as session:
        usable = {
            row["id_foyer"]: row["canal_email"]
            for row in vault.usable_channels(session).iter_rows(named=True)
        }
    assert usable == {ids[0]: False, ids[1]: True, ids[2]: True}
    assert len(box) == 3  # the command reads the mailbox; only the scheduled job empties it


def test_a_message_that_is_no_delivery_report_is_refused_and_nothing_recorded(
    make_world, tmp_path: Path
) -> None:
    world, _ = _emailed(make_world)
    path = tmp_path / "message.eml"
    path.write_bytes(automatic_reply())

    with (
        pytest.raises(OutreachError, match="aucun de ses 1 message") as refused,
        Session(world.engine) as session,
        session.begin(),
    ):
        import_bounces(session, world.keyring, path, actor="equipe-donnees", now=NOW)

    assert "foyer9" not in str(refused.value)
    with Session(world.engine) as session:
        assert (
            session.scalars(select(Outcome).where(Outcome.resultat == "courriel_non_distribue")).all() == []
        )


def _objections(world) -> tuple[int, int]:
    """How many opposition outcomes and register entries are recorded."""
    with Session(world.engine) as session:
        outcomes = session.scalars(select(Outcome).where(Outcome.resultat == "opposition")).all()
        return len(outcomes), len(session.scalars(select(Opposition)).all())


def test_a_household_already_objecting_after_a_stop_reply_is_counted_not_recorded_again(
    make_world, tmp_path: Path
) -> None:
    world, _ = _texted(make_world)
    path = tmp_path / "stop.csv"
    path.write_text("telephone;date\n+33612000001;2026-03-09\n", encoding="utf-8")
    _import(world, path)
    later = tmp_path / "stop-2.csv"
    later.write_text("telephone;date\n+33612000001;2026-03-10\n+33612000002;2026-03-10\n", encoding="utf-8")

    done = _import(world, later)

    assert (done.replies, done.households, done.already_opposed) == (2, 1, 1)
    assert done.counts()["deja_opposes"] == 1
    assert _objections(world) == (2, 2)


def test_only_replies_asking_to_stop_count_when_the_file_gives_the_message(
    make_world, tmp_path: Path
) -> None:
    world, ids = _texted(make_world, 8)
    path = tmp_path / "stop.csv"
    path.write_text(
        "telephone;message\n"
        "+33612000000; Arrêt !\n"
        "+33612000001;stop sms\n"
        "+33612000002;Merci, c'est noté\n"
        "+33612000003;\n"
        "+33612000004;« STOP ».\n"
        "+33612000005;stop svp\n"  # with a word of politeness, still an objection (GDPR art. 21)
        "+33612000006;Arrêtez, merci !\n"
        "+33612000007;Je suis en arrêt maladie, rappelez-moi\n",  # the same word, saying else
        encoding="utf-8",
    )

    done = _import(world, path)

    assert (done.replies, done.households, done.other_messages) == (5, 5, 3)
    assert done.other_lines == (4, 5, 9)  # for a person to read them (the header is line 1)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[0], ids[1], ids[4], ids[5], ids[6]}


def _bounces(world, path: Path):
    with Session(world.engine) as session, session.begin():
        return import_bounces(
            session, world.keyring, path, actor="equipe-donnees", now=NOW + dt.timedelta(days=8)
        )


def _email_usable(world) -> dict[str, bool]:
    with Session(world.engine) as session:
        return {
            row["id_foyer"]: row["canal_email"]
            for row in vault.usable_channels(session).iter_rows(named=True)
        }


def test_a_bounce_list_with_a_status_keeps_permanent_failures_only(make_world, tmp_path: Path) -> None:
    world, ids = _emailed(make_world)
    path = tmp_path / "echecs.csv"
    path.write_text(
        "email;statut\n"
        "foyer0@example.org;5.1.1\n"
        "foyer1@example.org;4.2.2\n"
        "foyer2@example.org;550 5.1.1 unknown\n",
        encoding="utf-8",
    )

    done = _bounces(world, path)

    assert (done.addresses, done.households, done.temporary) == (2, 2, 1)
    assert done.counts()["echecs_temporaires"] == 1
    assert _email_usable(world) == {ids[0]: False, ids[1]: True, ids[2]: False}


def test_a_bounce_status_that_is_no_failure_code_refuses_the_file(make_world, tmp_path: Path) -> None:
    world, ids = _emailed(make_world)
    path = tmp_path / "echecs.csv"
    path.write_text("email;statut\nfoyer0@example.org;5.1.1\nfoyer1@example.org;rejeté\n", encoding="utf-8")

    with pytest.raises(OutcomeImportInvalid) as refused:
        _bounces(world, path)

    assert "ligne 3, colonne `statut` : statut illisible" in str(refused.value)
    assert _email_usable(world) == dict.fromkeys(ids, True)


def test_a_household_whose_address_is_already_unused_is_counted_not_recorded_again(
    make_world, tmp_path: Path
) -> None:
    world, _ = _emailed(make_world)
    path = tmp_path / "echecs.csv"
    path.write_text("email\nfoyer1@example.org\n", encoding="utf-8")
    _bounces(world, path)

    again = _bounces(world, path)

    assert (again.addresses, again.households, again.already_unusable) == (1, 0, 1)
    with Session(world.engine) as session:
        bounced = session.scalars(select(Outcome).where(Outcome.resultat == "courriel_non_distribue")).all()
    assert len(bounced) == 1
