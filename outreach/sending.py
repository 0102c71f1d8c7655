"""Sending later the e-mails of a launch that the SMTP server has not taken.

A launch or a follow-up given `--smtp` hands its e-mails to the relay at once; one produced without
it, a batch cut short (relay down, connection lost) or e-mails the relay refused for now (a 4xx
reply) stay in the contact history with no `envoi`. `send_pending_emails` sends exactly those, read
back from the encrypted copy of their batch under the exchange that wrote it (checked again: a
revoked or expired exchange sends nothing), and never to a household that objected since. What the
relay took or refused for good is recorded, so that running it again sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import email
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.attempts import audit_delivery, delivery_problem, record_delivery
from outreach.campaigns import Campaign
from outreach.channels import SmtpSettings, deliver_emails
from outreach.errors import OutreachError
from outreach.launch import LaunchNotFound, LaunchOfAnotherCampaign, OutreachEnv, check_delivery_window
from outreach.models import OBJECTED, Contact, Launch
from privacy import exchanges
from privacy.models import PersonalOutput
from privacy.retention import read_output


class NothingToSend(OutreachError):
    """Every e-mail of the launch was already taken or refused for good by the SMTP server."""

    def __init__(self, launch_id: int) -> None:
        super().__init__(
            f"aucun courriel du lancement n°{launch_id} n'attend d'envoi : le serveur SMTP les a tous "
            "pris ou refusés définitivement (ou le lancement n'a pas de tentative par courriel)."
        )


@dataclass(frozen=True)
class SendReport:
    """What one sending of a launch's waiting e-mails did (counts only)."""

    launch_id: int
    waiting: int
    sent: int
    refused: int
    objected: int
    # Why some were not taken (connection lost, refused for now): they still wait; None if none.
    problem: str | None


def _messages(archive: bytes) -> dict[str, EmailMessage]:
    """The e-mails of a batch's archive, by household pseudonym (files `<rank>-<pseudonym>.eml`)."""
    found = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            if name.endswith(".eml") and "-" in name:
                message = email.message_from_bytes(opened.read(name), policy=policy.default)
                assert isinstance(message, EmailMessage)
                found[name.removesuffix(".eml").split("-", 1)[1]] = message
    return found


def send_pending_emails(
    env: OutreachEnv,
    campaign: Campaign,
    launch_id: int,
    smtp: SmtpSettings,
    *,
    now: dt.datetime | None = None,
) -> SendReport:
    """Hand to `smtp` the e-mails of launch `launch_id` (of `campaign`) not yet taken by a server."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    check_delivery_window(campaign, smtp, moment)
    with Session(env.engine, expire_on_commit=False) as session, session.begin():
        launch = session.get(Launch, launch_id)
        if launch is None:
            raise LaunchNotFound(launch_id)
        if launch.campagne != campaign.id:
            raise LaunchOfAnotherCampaign(
                launch_id, campaign.id, launch.campagne, "send", "envoyez ses courriels"
            )
        waiting = list(
            session.scalars(
                select(Contact)
                .where(Contact.launch_id == launch_id, Contact.canal == "email", Contact.envoi.is_(None))
                .order_by(Contact.id)
            )
        )
        if not waiting:
            raise NothingToSend(launch_id)
        opposed = oppositions.opposed(session, [c.id_foyer for c in waiting], now=moment)
        batches: dict[tuple[int, str | None], list[Contact]] = defaultdict(list)
        for contact in waiting:
            if contact.id_foyer in opposed:
                contact.envoi = OBJECTED
            else:
                batches[(contact.tentative, contact.fichier_sha256)].append(contact)
        sent = refused = 0
        problems = []
        for (attempt, digest), contacts in sorted(batches.items(), key=lambda kv: kv[0][0]):
            messages = _batch_messages(session, env, digest, moment)
            found = [c for c in contacts if c.id_foyer in messages]
            delivery = deliver_emails([messages[c.id_foyer] for c in found], smtp)
            states = record_delivery(
                session,
                delivery,
                [(c.id_foyer, c.regle) for c in found],
                launch_id=launch_id,
                attempt=attempt,
                actor=env.actor,
                now=moment,
            )
            for contact in found:
                contact.envoi = states.get(contact.id_foyer)
            audit_delivery(session, env.actor, launch_id, attempt, delivery, len(found), smtp, moment)
            sent, refused = sent + delivery.sent, refused + len(delivery.refused)
            problem = delivery_problem(delivery)
            if problem is not None:
                problems.append(f"tentative {attempt} : {problem}")
            if delivery.failure is not None:
                break  # the relay is unreachable: the next batches would fail the same way
        return SendReport(launch_id, len(waiting), sent, refused, len(opposed), " ; ".join(problems) or None)


def _batch_messages(
    session: Session, env: OutreachEnv, digest: str | None, now: dt.datetime
) -> dict[str, EmailMessage]:
    """The e-mails of the batch whose archive has SHA-256 `digest`, from its encrypted copy, read
    under the exchange that wrote it (approved and in force at `now`)."""
    output = session.scalars(select(PersonalOutput).where(PersonalOutput.sha256 == digest).limit(1)).first()
    if output is None:
        raise OutreachError(
            "le lot de courriels de ce lancement n'est plus enregistré (supprimé ou purgé) : lancez une "
            "nouvelle campagne pour ces foyers."
        )
    authorisation = exchanges.authorise(session, env.keyring, output.exchange_id, output.fields, now=now)
    return _messages(read_output(session, env.keyring, authorisation, output.id, now=now))
