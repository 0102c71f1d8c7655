"""E-mails the SMTP server did not take are sent later, once: after a cut batch, a refusal for now,
or a launch prepared without a server; never to a household that objected since, nor under a
revoked exchange."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.channels import SmtpSettings
from outreach.indicators import indicators_22, load_tables
from outreach.launch import launch_campaign
from outreach.models import Contact, Outcome
from outreach.sending import NothingToSend, send_pending_emails
from privacy import exchanges
from privacy.errors import ExchangeRefused
from privacy.models import AuditEntry, ContactRecord
from tests.conftest import free_port
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame

# The launch and the sending need one database: SQLite is enough.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _email_campaign():
    base = campaign_22()
    return replace(
        base,
        temoin=base.temoin.model_copy(update={"part": 0.0}),
        tentatives=(base.tentatives[1].model_copy(update={"delai_jours": 0, "condition": "toujours"}),),
    )


def _launched(make_world, households: int, smtp: SmtpSettings | None):
    world = make_world()
    flags = flags_frame([flag(i) for i in range(1, households + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    report = launch_campaign(world.env, _email_campaign(), run_id, out_dir=world.out_dir, now=NOW, smtp=smtp)
    return world, report


def _states(world) -> dict[str, str | None]:
    with Session(world.engine) as session:
        return {c.id_foyer: c.envoi for c in session.scalars(select(Contact).where(Contact.canal == "email"))}


def _recipients(inbox) -> list[str]:
    return sorted(rcpt for _, rcpts, _ in inbox.messages for rcpt in rcpts)


@SQLITE
def test_a_batch_cut_short_is_sent_later_once_and_a_second_sending_sends_nothing(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    world, launched = _launched(make_world, 3, nowhere)
    assert launched.attempts[0].courriels_envoyes == 0
    assert set(_states(world).values()) == {None}

    report = send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)

    assert (report.waiting, report.sent, report.refused, report.problem) == (3, 3, 0, None)
    assert _recipients(inbox) == ["foyer0@example.org", "foyer1@example.org", "foyer2@example.org"]
    assert set(_states(world).values()) == {"remis"}
    with pytest.raises(NothingToSend):
        send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)
    assert len(inbox.messages) == 3
    with Session(world.engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions.count("courriel.envoi_interrompu") == 1 and actions.count("courriel.envoi") == 1


@SQLITE
def test_refused_for_now_is_sent_again_and_refused_for_good_never(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    inbox.refused = {"foyer1@example.org"}
    inbox.full_after = 1
    world, launched = _launched(make_world, 3, smtp)
    problem = launched.attempts[0].echec_envoi
    assert problem is not None
    assert "1 courriel(s) non pris pour l'instant" in problem and "1 adresse(s) refusée(s)" in problem
    first = _recipients(inbox)
    assert len(first) == 1
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
    report = send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)

    assert (report.waiting, report.sent, report.refused) == (1, 1, 0)
    assert "foyer1@example.org" not in _recipients(inbox)
    assert len(set(_recipients(inbox))) == 2 == len(inbox.messages)  # nobody got it twice
    assert sorted(map(str, _states(world).values())) == ["refuse", "remis", "remis"]
    # The report counts the households the e-mails reached, not the address the relay refused.
    by_channel = indicators_22(load_tables(world.engine), threshold=1).by_channel
    assert dict(by_channel.select("canal", "foyers_contactes").iter_rows()) == {"email": 2}


@SQLITE
def test_a_sender_address_the_relay_refuses_stops_the_batch_and_refuses_no_household(
    make_world, smtp_server
) -> None:
    inbox, smtp = smtp_server
    inbox.sender_refused = True
    world, launched = _launched(make_world, 2, smtp)
    problem = launched.attempts[0].echec_envoi
    assert problem is not None and "SMTPSenderRefused" in problem and "adresse(s) refusée(s)" not in problem
    assert set(_states(world).values()) == {None}  # all still to send once the sender is fixed

    inbox.sender_refused = False
    report = send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)
    assert (report.waiting, report.sent) == (2, 2)


@SQLITE
def test_a_household_that_objected_since_the_batch_was_prepared_is_not_sent(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)  # prepared for another tool, no server given
    objector = sorted(_states(world))[0]
    with Session(world.engine) as session, session.begin():
        oppositions.record(session, objector, source="courrier", actor="dpo", now=NOW)

    report = send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)

    assert (report.waiting, report.sent, report.objected) == (2, 1, 1)
    assert len(inbox.messages) == 1
    assert _states(world)[objector] == "opposition"


@SQLITE
def test_nothing_is_sent_under_an_exchange_the_dpo_revoked(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world, launched = _launched(make_world, 2, None)
    with Session(world.engine) as session, session.begin():
        exchanges.revoke(session, world.exchange_id, dpo="dpo", motif="fin de la convention", now=NOW)

    with pytest.raises(ExchangeRefused):
        send_pending_emails(world.env, _email_campaign(), launched.launch_id, smtp, now=NOW)
    assert inbox.messages == []
    assert set(_states(world).values()) == {None}


def test_campaigns_send_from_the_command_line_sends_the_waiting_emails_then_says_none_wait(
    cli, uptake_home, tmp_path, smtp_server
) -> None:
    import datetime as dt

    from outreach.windows import is_public_holiday
    from tests.outreach.conftest import world_in_home

    if is_public_holiday(dt.datetime.now(dt.UTC).date()):
        pytest.skip("jour férié : aucun courriel ne part ce jour-là (la commande le refuse)")
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

    sent = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "1", "--smtp", relay)
    assert sent.code == 0, sent.output
    assert "Lancement n°1 : 2 courriel(s) en attente, 2 remis au serveur SMTP." in " ".join(
        sent.stdout.split()
    )
    assert len(inbox.messages) == 2
    assert "n'a pas pris" not in cli("campaigns", "list").stdout
    again = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "1", "--smtp", relay)
    assert again.code == 2 and "aucun courriel du lancement n°1 n'attend d'envoi" in again.output
    assert len(inbox.messages) == 2
