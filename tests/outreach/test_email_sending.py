"""Each e-mail is handed to the SMTP server once, and what the server did is kept as it comes: sent
later after a cut batch, a refusal for now or a launch prepared without a server; never twice (two
sendings at once, an interrupted one); never to a household that objected or whose contact ended
since; to the address the directory holds now; nothing at all when one batch may not be read."""

from __future__ import annotations

import datetime as dt
import email
import os
import threading
import zipfile
from dataclasses import replace
from email import policy
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach import oppositions, sending
from outreach.channels import SmtpSettings
from outreach.errors import OutreachError
from outreach.indicators import indicators_22, load_tables
from outreach.launch import followups_awaiting_email, launch_campaign, run_followups
from outreach.models import ABANDONED, Contact, Outcome
from outreach.outcomes import record_outcome
from outreach.selection import naive_utc
from outreach.sending import send_pending_emails, set_aside
from privacy import audit, exchanges
from privacy.errors import ExchangeRefused
from privacy.models import AuditEntry, ContactRecord, PersonalOutput
from tests.conftest import free_port
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame

# The launch and the sending need one database: SQLite is enough, but for two sendings at once (each
# backend claims its own way).
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _email_campaign(attempts: int = 1):
    base = campaign_22()
    email = base.tentatives[1].model_copy(update={"delai_jours": 0, "condition": "toujours"})
    return replace(base, temoin=base.temoin.model_copy(update={"part": 0.0}), tentatives=(email,) * attempts)


def _launched(make_world, households: int, smtp: SmtpSettings | None, attempts: int = 1):
    world = make_world()
    flags = flags_frame([flag(i) for i in range(1, households + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    report = launch_campaign(
        world.env, _email_campaign(attempts), run_id, out_dir=world.out_dir, now=NOW, smtp=smtp
    )
    return world, report


def _send(world, launch_id: int, smtp: SmtpSettings, **options: Any) -> sending.SendReport:
    return send_pending_emails(world.env, _email_campaign(), launch_id, smtp, now=NOW, **options)


def _states(world) -> dict[str, str | None]:
    with Session(world.engine) as session:
        query = select(Contact).where(Contact.canal == "email").order_by(Contact.id)
        return {c.id_foyer: c.envoi for c in session.scalars(query)}


def _recipients(inbox) -> list[str]:
    return sorted(rcpt for _, rcpts, _ in inbox.messages for rcpt in rcpts)


def _archived(launched) -> dict[str, bytes]:
    """The launch's e-mails as its archive holds them, by the address they were written to."""
    with zipfile.ZipFile(launched.attempts[0].outputs[0].path) as archive:
        found = [archive.read(name) for name in archive.namelist()]
    return {email.message_from_bytes(data, policy=policy.default)["To"]: data for data in found}


def _as_sent(data: bytes) -> bytes:
    """An archived e-mail (lines ending in LF) as SMTP carries it: lines ending in CRLF."""
    return data.replace(b"\n", b"\r\n")


@SQLITE
def test_a_batch_the_relay_could_not_take_is_sent_later_once(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    world, launched = _launched(make_world, 3, nowhere)
    assert launched.attempts[0].courriels_envoyes == 0
    assert "injoignable (connexion refusée : le relais n'écoute pas sur ce port)" in str(
        launched.attempts[0].echec_envoi
    )
    assert set(_states(world).values()) == {None}

    report = _send(world, launched.launch_id, smtp)

    assert (report.tried, report.sent, report.waiting, report.problem) == (3, 3, 0, None)
    assert _recipients(inbox) == ["foyer0@example.org", "foyer1@example.org", "foyer2@example.org"]
    assert set(_states(world).values()) == {"remis"}
    again = _send(world, launched.launch_id, smtp)
    assert (again.tried, again.sent) == (0, 0)
    assert len(inbox.messages) == 3
    with Session(world.engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions.count("courriel.envoi_interrompu") == 1 and actions.count("courriel.envoi") == 1


@SQLITE
def test_refused_for_now_is_sent_again_and_an_address_refused_for_good_never(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    inbox.refused = {"foyer1@example.org"}
    inbox.full_after = 1
    world, launched = _launched(make_world, 3, smtp)
    problem = launched.attempts[0].echec_envoi
    assert problem is not None
    assert "1 courriel(s) non pris pour l'instant" in problem and "1 adresse(s) refusée(s)" in problem
    assert len(_recipients(inbox)) == 1
    states = _states(world)
    assert sorted(map(str, states.values())) == ["None", "refuse", "remis"]
    # The address refused for good is a bounce: recorded, and no longer used by the next attempts.
    [refused] = [pseudonym for pseudonym, state in states.items() if state == "refuse"]
    with Session(world.engine) as session:
        recorded = session.scalars(select(Outcome).where(Outcome.id_foyer == refused))
        outcomes = [(o.resultat, o.source) for o in recorded]
        usable = session.get_one(ContactRecord, refused).usable_fields
    assert outcomes == [("courriel_non_distribue", "envoi")]
    assert "email" not in usable

    inbox.full_after = None
    report = _send(world, launched.launch_id, smtp)

    assert (report.tried, report.sent, report.refused) == (1, 1, 0)
    assert "foyer1@example.org" not in _recipients(inbox)
    assert len(set(_recipients(inbox))) == 2 == len(inbox.messages)  # nobody got it twice
    assert sorted(map(str, _states(world).values())) == ["refuse", "remis", "remis"]
    # The report counts the households the e-mails reached, not the address the relay refused.
    by_channel = indicators_22(load_tables(world.engine), threshold=1).by_channel
    assert dict(by_channel.select("canal", "foyers_contactes").iter_rows()) == {"email": 2}


@SQLITE
def test_a_message_refused_for_good_is_not_sent_again(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    inbox.reject_data = True
    world, launched = _launched(make_world, 2, smtp)
    assert "2 message(s) refusé(s) définitivement" in str(launched.attempts[0].echec_envoi)
    assert set(_states(world).values()) == {"rejete"}
    inbox.reject_data = False
    assert _send(world, launched.launch_id, smtp).tried == 0


@SQLITE
def test_a_sender_address_the_relay_refuses_stops_the_batch_and_refuses_no_household(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    inbox.sender_refused = True
    world, launched = _launched(make_world, 2, smtp)
    problem = str(launched.attempts[0].echec_envoi)
    assert (
        "adresse d'expédition refusée par le serveur (550" in problem
        and "adresse(s) refusée(s)" not in problem
    )
    assert set(_states(world).values()) == {None}  # all still to send once the sender is fixed

    inbox.sender_refused = False
    assert (_send(world, launched.launch_id, smtp).tried, len(inbox.messages)) == (2, 2)


@SQLITE
def test_households_that_objected_or_whose_contact_ended_since_are_withdrawn(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 3, None)  # prepared for another tool, no server given
    objector, opened, reached = list(_states(world))
    with Session(world.engine) as session, session.begin():
        oppositions.record(session, objector, source="courrier", actor="dpo", now=NOW)
        record_outcome(session, id_foyer=opened, resultat="droit_ouvert", montant=120.0, acteur="ts", now=NOW)

    report = _send(world, launched.launch_id, smtp)

    assert (report.tried, report.sent, report.withdrawn) == (1, 1, 2)
    assert _recipients(inbox) == ["foyer2@example.org"]
    assert _states(world) == {objector: "opposition", opened: "annule", reached: "remis"}


@SQLITE
def test_the_email_goes_to_the_address_the_directory_holds_now_and_its_to_header_says_so(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)
    moved, _ = _states(world)
    world.store_contacts([moved], email="nouvelle.adresse@example.org")
    archived = _archived(launched)

    assert _send(world, launched.launch_id, smtp).sent == 2

    received = {rcpts[0]: data for _, rcpts, data in inbox.messages}
    assert sorted(received) == ["foyer1@example.org", "nouvelle.adresse@example.org"]
    rewritten = received["nouvelle.adresse@example.org"]
    assert email.message_from_bytes(rewritten, policy=policy.default)["To"] == "nouvelle.adresse@example.org"
    # Only its To header changed: the rest is the e-mail the launch archived.
    before = archived["foyer0@example.org"]
    assert b"\nTo: foyer0@example.org\n" in before
    assert rewritten == _as_sent(
        before.replace(b"\nTo: foyer0@example.org\n", b"\nTo: nouvelle.adresse@example.org\n")
    )
    assert received["foyer1@example.org"] == _as_sent(archived["foyer1@example.org"])


@SQLITE
def test_the_server_receives_each_archived_email_byte_for_byte_from_the_campaign_sender(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 3, None)
    archived = _archived(launched)

    assert _send(world, launched.launch_id, smtp).sent == 3

    assert len(inbox.messages) == 3
    for sender, [recipient], data in inbox.messages:
        assert sender == _email_campaign().campagne.courriel_expediteur
        assert data == _as_sent(archived[recipient])


def test_a_launch_archives_its_emails_compressed(make_world) -> None:
    _, launched = _launched(make_world, 3, None)
    with zipfile.ZipFile(launched.attempts[0].outputs[0].path) as archive:
        files = archive.infolist()
    assert len(files) == 3
    assert all(f.compress_type == zipfile.ZIP_DEFLATED and f.compress_size < f.file_size for f in files)


@SQLITE
def test_accents_in_the_subject_and_body_arrive_intact_at_the_server(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world = make_world()
    flags = flags_frame([flag(1, montant_estime=1048.0)])
    world.store_contacts(flags["id_foyer"].to_list(), prenom="Anaïs", nom="Lefèvre")
    launched = launch_campaign(
        world.env, _email_campaign(), world.store_run(flags), out_dir=world.out_dir, now=NOW
    )

    assert _send(world, launched.launch_id, smtp).sent == 1

    [(_, _, data)] = inbox.messages
    received = email.message_from_bytes(data, policy=policy.default)
    assert received["Subject"] == "Vous pourriez avoir droit à la prime d'activité"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Anaïs Lefèvre" in body and "D'après" in body and "démarches" in body and "€" in body


@SQLITE
def test_nothing_is_sent_when_one_batch_may_not_be_read(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    inbox.full_after = 1  # the first e-mail leaves, the other waits: two batches then wait
    world, launched = _launched(make_world, 2, smtp)
    followups = run_followups(
        world.env, _email_campaign(2), launched.launch_id, out_dir=world.out_dir, now=NOW
    )
    assert [(a.tentative, a.foyers) for a in followups] == [(2, 1)]
    inbox.full_after, inbox.messages = None, []
    with Session(world.engine) as session, session.begin():
        # The follow-up's batch came to the end of its retention and was purged.
        session.execute(
            update(PersonalOutput)
            .where(PersonalOutput.label.like("%tentative 2%"))
            .values(purged_at="2026-03-20")
        )

    with pytest.raises(OutreachError, match="n'existe plus"):
        _send(world, launched.launch_id, smtp)
    assert inbox.messages == []
    with Session(world.engine) as session:
        waiting = session.scalars(select(Contact.tentative).where(Contact.envoi.is_(None))).all()
    assert sorted(waiting) == [1, 2]  # nothing claimed, nothing sent: the first batch neither


@SQLITE
def test_nothing_is_sent_under_an_exchange_the_dpo_revoked(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)
    with Session(world.engine) as session, session.begin():
        exchanges.revoke(session, world.exchange_id, dpo="dpo", motif="fin de la convention", now=NOW)

    with pytest.raises(ExchangeRefused):
        _send(world, launched.launch_id, smtp)
    assert inbox.messages == []
    assert set(_states(world).values()) == {None}


def test_two_sendings_at_the_same_time_send_each_email_once(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    inbox.delay = 0.2
    world, launched = _launched(make_world, 4, None)
    barrier = threading.Barrier(2)
    reports: list[sending.SendReport] = []

    def send() -> None:
        barrier.wait()
        reports.append(_send(world, launched.launch_id, smtp))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.sent for r in reports) == [0, 4]
    assert len(inbox.messages) == 4 == len(set(_recipients(inbox)))


@SQLITE
def test_an_interrupted_sending_keeps_what_the_server_took_and_never_resends_the_uncertain_one(
    make_world, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 5, None)
    real = sending.deliver_emails

    def interrupted_after_two(messages, relay, on_result, before):
        def answer(index: int, result: str | None) -> None:
            on_result(index, result)
            if index == 1:
                raise KeyboardInterrupt

        return real(messages, relay, answer, before)

    monkeypatch.setattr(sending, "deliver_emails", interrupted_after_two)
    with pytest.raises(KeyboardInterrupt):
        _send(world, launched.launch_id, smtp)
    monkeypatch.setattr(sending, "deliver_emails", real)
    assert list(_states(world).values()) == ["remis", "remis", "en_cours", None, None]

    report = _send(world, launched.launch_id, smtp)
    assert (report.sent, report.uncertain) == (2, 1)
    assert len(inbox.messages) == 4 == len(set(_recipients(inbox)))
    resumed = _send(world, launched.launch_id, smtp, resume=True)
    assert (resumed.sent, resumed.uncertain) == (1, 0)
    assert len(inbox.messages) == 5 == len(set(_recipients(inbox)))


@SQLITE
def test_a_sending_killed_leaves_only_the_emails_it_was_handing_uncertain_the_next_sending_sends_the_rest(
    make_world, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, smtp = smtp_server
    monkeypatch.setattr(sending, "RECORD_EVERY", 2)
    world, launched = _launched(make_world, 7, None)
    real = sending.deliver_emails

    def killed_after_three(messages, relay, on_result, before):
        def answer(index: int, result: str | None) -> None:
            on_result(index, result)
            if index == 2:
                os._exit(9)  # as kill -9: no handler runs, nothing more is written

        return real(messages, relay, answer, before)

    child = os.fork()
    if child == 0:  # pragma: no cover - the killed sending, in its own process
        try:
            world.engine.dispose(close=False)
            monkeypatch.setattr(sending, "deliver_emails", killed_after_three)
            _send(world, launched.launch_id, smtp)
        finally:
            os._exit(1)
    os.waitpid(child, 0)
    world.engine.dispose()
    # Two recorded, the two being handed uncertain (one was taken), three reserved and never handed.
    assert list(_states(world).values()) == ["remis", "remis", "en_cours", "en_cours", *["reserve"] * 3]
    assert len(inbox.messages) == 3

    report = _send(world, launched.launch_id, smtp)  # takes the killed sending's reservations over
    assert (report.sent, report.uncertain) == (3, 2)
    assert len(inbox.messages) == 6 == len(set(_recipients(inbox)))


@SQLITE
def test_a_sending_whose_reservations_another_takes_over_leaves_them_to_it_and_says_so(
    make_world, smtp_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, smtp = smtp_server
    monkeypatch.setattr(sending, "RECORD_EVERY", 2)
    world, launched = _launched(make_world, 6, None)
    real = sending.deliver_emails
    second: list[sending.SendReport] = []

    def overtaken(messages, relay, on_result, before):
        def answer(index: int, result: str | None) -> None:
            on_result(index, result)
            if index == 1 and not second:  # another sending starts between two chunks
                monkeypatch.setattr(sending, "deliver_emails", real)
                second.append(_send(world, launched.launch_id, smtp))

        return real(messages, relay, answer, before)

    monkeypatch.setattr(sending, "deliver_emails", overtaken)
    first = _send(world, launched.launch_id, smtp)

    assert len(inbox.messages) == 6 == len(set(_recipients(inbox)))  # each once
    assert (first.tried, first.sent, second[0].sent) == (2, 2, 4)
    assert first.problem is not None and "4 courriel(s) repris par un autre envoi" in first.problem


@SQLITE
def test_emails_given_up_or_sent_by_another_tool_are_never_sent(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)
    assert set_aside(world.env, _email_campaign(), launched.launch_id, "externe") == 2
    assert _send(world, launched.launch_id, smtp).tried == 0
    assert set(_states(world).values()) == {"externe"} and inbox.messages == []


def test_sending_the_waiting_emails_leaves_the_audit_log_signed(make_world, smtp_server) -> None:
    # The claim (contacts decrypted) and each batch handed to the relay append to the log: their
    # transactions sign its end at commit, as every front door's, or the next verification (and the
    # nightly purge) finds the log altered.
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)

    _send(world, launched.launch_id, smtp)

    assert len(inbox.messages) == 2
    assert audit.verify(world.engine, world.keyring.public_key()).problem is None


def test_setting_emails_aside_leaves_the_audit_log_signed(make_world) -> None:
    world, launched = _launched(make_world, 2, None)

    set_aside(world.env, _email_campaign(), launched.launch_id, ABANDONED)

    assert audit.verify(world.engine, world.keyring.public_key()).problem is None


def _email_then_email_3_days_later():
    campaign = _email_campaign(2)
    second = campaign.tentatives[1].model_copy(update={"delai_jours": 3})
    return replace(campaign, tentatives=(campaign.tentatives[0], second))


@SQLITE
def test_a_follow_up_waits_for_the_email_before_it_to_leave_then_counts_its_delay_from_then(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    campaign = _email_then_email_3_days_later()
    world = make_world()
    flags = flags_frame([flag(1), flag(2)])
    world.store_contacts(flags["id_foyer"].to_list())
    launched = launch_campaign(world.env, campaign, world.store_run(flags), out_dir=world.out_dir, now=NOW)

    def followups(days: int) -> list[tuple[int, int]]:
        moment = NOW + dt.timedelta(days=days)
        made = run_followups(world.env, campaign, launched.launch_id, out_dir=world.out_dir, now=moment)
        return [(a.tentative, a.foyers) for a in made]

    assert followups(10) == []  # prepared without a server: nothing has left, nothing to follow up
    assert followups_awaiting_email(world.engine, launched.launch_id) == 2
    sent_late = NOW + dt.timedelta(days=6)
    report = send_pending_emails(world.env, campaign, launched.launch_id, smtp, now=sent_late)
    assert report.sent == 2 == len(inbox.messages)
    assert followups_awaiting_email(world.engine, launched.launch_id) == 0
    with Session(world.engine) as session:
        sent_at = session.scalars(select(Contact.envoye_le).where(Contact.envoi == "remis")).all()
    assert {naive_utc(moment) for moment in sent_at} == {naive_utc(sent_late)}

    assert followups(8) == []  # three days after the planned time, but not after the e-mail left
    assert followups(9) == [(2, 2)]


@SQLITE
@pytest.mark.parametrize("state", ["externe", "abandonne"])
def test_a_follow_up_goes_on_from_the_planned_time_once_the_email_is_said_sent_elsewhere_or_given_up(
    make_world, state: str
) -> None:
    campaign = _email_then_email_3_days_later()
    world = make_world()
    flags = flags_frame([flag(1)])
    world.store_contacts(flags["id_foyer"].to_list())
    launched = launch_campaign(world.env, campaign, world.store_run(flags), out_dir=world.out_dir, now=NOW)
    assert set_aside(world.env, campaign, launched.launch_id, state) == 1

    made = run_followups(
        world.env, campaign, launched.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    assert [(a.tentative, a.foyers) for a in made] == [(2, 1)]


def _skip_on_a_day_without_emails(now: dt.datetime) -> None:
    """These tests drive the command and the job at the real time: on a public holiday in France (from
    11 pm UTC the evening before), no e-mail goes out, as it should."""
    from outreach.windows import is_allowed

    if not all(is_allowed(campaign_22().fenetres, "email", now + dt.timedelta(minutes=m)) for m in (0, 5)):
        pytest.skip("jour férié en France : aucun courriel ne part ce jour-là")


def test_campaigns_send_from_the_command_line_sends_the_waiting_emails_then_says_none_wait(
    cli, uptake_home, tmp_path, smtp_server
) -> None:
    from tests.outreach.conftest import world_in_home

    _skip_on_a_day_without_emails(dt.datetime.now(dt.UTC))
    inbox, smtp = smtp_server
    now = dt.datetime.now(dt.UTC)
    world = world_in_home(uptake_home, tmp_path, now=now)
    flags = flags_frame([flag(1), flag(2)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, _email_campaign(), run_id, out_dir=world.out_dir, now=now)
    world.engine.dispose()
    relay = f"{smtp.host}:{smtp.port}"
    listed = " ".join(cli("campaigns", "list").stdout.split())
    assert "Lancement n°1 : 2 courriel(s) que le serveur SMTP n'a pas pris" in listed
    held = " ".join(cli("campaigns", "followup", "action-2-2-non-recours", "--launch", "1").stdout.split())
    assert "2 foyer(s) attendent que leur courriel précédent parte avant toute relance" in held

    sent = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "1", "--smtp", relay)
    assert sent.code == 0, sent.output
    said = " ".join(sent.stdout.split())
    assert "Lancement n°1 : 2 courriel(s) donné(s) au serveur SMTP, 2 pris." in said
    assert len(inbox.messages) == 2
    assert "n'a pas pris" not in cli("campaigns", "list").stdout
    again = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "1", "--smtp", relay)
    assert again.code == 0 and "aucun courriel n'attend d'envoi" in again.output
    assert len(inbox.messages) == 2
    nowhere = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "1")
    assert nowhere.code == 2 and "--smtp HOTE:PORT" in nowhere.output


def test_the_daily_follow_up_job_given_the_relay_sends_the_waiting_emails(
    uptake_home, tmp_path, smtp_server, caplog
) -> None:
    from tests.outreach.conftest import world_in_home
    from uptake.jobs import followups_job

    now = dt.datetime.now(dt.UTC)
    _skip_on_a_day_without_emails(now)
    inbox, smtp = smtp_server
    world = world_in_home(uptake_home, tmp_path, now=now)
    flags = flags_frame([flag(1), flag(2)])
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, _email_campaign(), world.store_run(flags), out_dir=world.out_dir, now=now)

    assert followups_job(schedule="quotidien")["status"] == "succeeded"
    assert inbox.messages == [] and set(_states(world).values()) == {None}  # no relay: they wait
    with caplog.at_level("INFO", logger="uptake"):
        followups_job(schedule="quotidien", smtp=f"127.0.0.1:{free_port()}")
    [unreachable] = [r for r in caplog.records if r.getMessage() == "emails_not_sent"]
    assert unreachable.levelname == "WARNING" and "injoignable" in str(vars(unreachable))
    assert set(_states(world).values()) == {None}
    caplog.clear()

    with caplog.at_level("INFO", logger="uptake"):
        followups_job(schedule="quotidien", smtp=f"{smtp.host}:{smtp.port}")
    assert _recipients(inbox) == ["foyer0@example.org", "foyer1@example.org"]
    assert set(_states(world).values()) == {"remis"}
    [sent] = [r for r in caplog.records if r.getMessage() == "emails_sent"]
    assert "@" not in str(vars(sent))  # counts only, never an address
