"""E-mails: multipart HTML + text, delivered to a real SMTP server on loopback, only inside the window."""

from __future__ import annotations

import datetime as dt
import email
from dataclasses import replace
from email import policy

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels import SmtpSettings, deliver_emails, smtp_relay
from outreach.errors import OutreachError, OutsideSendingWindow
from outreach.launch import launch_campaign
from outreach.models import Contact
from privacy.models import AuditEntry
from tests.conftest import free_port
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame


def _email_first_campaign():
    base = campaign_22()
    return replace(
        base,
        temoin=base.temoin.model_copy(update={"part": 0.0}),
        tentatives=(base.tentatives[1].model_copy(update={"delai_jours": 0, "condition": "toujours"}),),
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_emails_reach_a_real_smtp_server_as_multipart_with_the_rights_notice(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world = make_world()
    flags = flags_frame(
        [flag(1, montant_estime=212.5), flag(2, "al_non_recours"), flag(3, opposition_contact=True)]
    )
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())

    report = launch_campaign(
        world.env, _email_first_campaign(), run_id, out_dir=world.out_dir, now=NOW, smtp=smtp
    )

    assert report.attempts[0].courriels_envoyes == 2
    assert sorted(rcpt for _, rcpts, _ in inbox.messages for rcpt in rcpts) == [
        "foyer0@example.org",
        "foyer1@example.org",
    ]
    parsed = email.message_from_bytes(inbox.messages[0][2], policy=policy.default)
    assert parsed.is_multipart() and parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "L.114-8 II" in text and "L.114-8 II" in html
    assert "opposer" in text
    assert parsed["Subject"].startswith("Vous pourriez avoir droit")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_email_is_delivered_on_a_public_holiday(make_world, smtp_server) -> None:
    inbox, smtp = smtp_server
    world = make_world()
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    bastille_day = dt.datetime(2026, 7, 14, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(OutsideSendingWindow):
        launch_campaign(
            world.env, _email_first_campaign(), run_id, out_dir=world.out_dir, now=bastille_day, smtp=smtp
        )
    assert inbox.messages == []
    with Session(world.engine) as session:
        assert session.scalars(select(Contact)).first() is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unreachable_smtp_server_keeps_the_eml_files_and_records_the_incident(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    report = launch_campaign(
        world.env, _email_first_campaign(), run_id, out_dir=world.out_dir, now=NOW, smtp=nowhere
    )
    assert report.attempts[0].courriels_envoyes == 0
    # Told to whoever launched it (the command then exits 1), without any address.
    assert report.attempts[0].echec_envoi is not None
    assert (
        "injoignable (connexion refusée : le relais n'écoute pas sur ce port)"
        in report.attempts[0].echec_envoi
    )
    assert report.attempts[0].outputs[0].path.is_file()
    with Session(world.engine) as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert "courriel.envoi_interrompu" in actions


@pytest.mark.parametrize("written", ["relais:99999", "relais:0", "relais:vingt-cinq", ":25"])
def test_a_relay_address_that_cannot_be_one_is_refused_in_words(written: str) -> None:
    with pytest.raises(OutreachError, match="écrivez HOTE ou HOTE:PORT, le port de 1 à 65535"):
        smtp_relay(written)
    assert smtp_relay("relais") == SmtpSettings(host="relais", port=25)


def test_an_unknown_relay_name_is_told_in_words() -> None:
    delivery = deliver_emails([], SmtpSettings(host="relais.invalid", port=25, timeout=5))
    assert delivery.failure is not None and "nom de serveur inconnu" in delivery.failure
    assert "gaierror" not in delivery.failure
