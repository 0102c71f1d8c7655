"""E-mail alerts to the data team when a scheduled execution fails, so that a failed monthly run
is known the same morning and not at the next look at `uptake schedule list`.

Configured by the environment: `UPTAKE_ALERTES` (addresses, separated by commas) and
`UPTAKE_SMTP` (the Caf's relay, `HOTE` or `HOTE:PORT`). An alert says which schedule failed, when,
and what went wrong in the words `uptake schedule list` uses: a domain error's French message or an
error's type, never household data.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from email_validator import EmailNotValidError, validate_email

from outreach.channels import SmtpSettings, deliver_emails
from outreach.errors import OutreachError
from uptake import french
from uptake.relay import caf_relay

RECIPIENTS_ENV, SMTP_ENV, SENDER_ENV = "UPTAKE_ALERTES", "UPTAKE_SMTP", "UPTAKE_ALERTES_EXPEDITEUR"


class AlertsMisconfigured(Exception):
    """The alert settings cannot be used; `str()` says which variable and how to fix it."""

    exit_code = 2


@dataclass(frozen=True)
class AlertSettings:
    """Who is told of a failed execution, and through which relay."""

    recipients: tuple[str, ...]
    smtp: SmtpSettings
    sender: str


def email_addresses(written: str) -> tuple[str, ...]:
    """The addresses of `written` (separated by commas), normalised; `ValueError` with a French
    message naming the first one that is not an e-mail address."""
    recipients = []
    for address in (part.strip() for part in written.split(",")):
        if not address:
            continue
        try:
            recipients.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise ValueError(
                f"« {address} » n'est pas une adresse électronique ; séparez les adresses par des virgules"
            ) from None
    return tuple(recipients)


def sender_address(environ: Mapping[str, str] | None = None) -> str:
    """The address uptake's own e-mails (alerts, reports) are sent from."""
    env = os.environ if environ is None else environ
    return env.get(SENDER_ENV, "").strip() or f"uptake@{machine_name()}"


def machine_name() -> str:
    """This machine's name for a sender address: its full name, or its host name when the resolver
    knows it only as localhost (a relay may refuse a sender @localhost)."""
    full = socket.getfqdn()
    if full and not full.startswith("localhost") and full not in ("::1", "127.0.0.1"):
        return full
    return socket.gethostname() or "localhost"


def alert_settings(environ: Mapping[str, str] | None = None) -> AlertSettings | None:
    """The alert settings of the environment; None when no recipient is configured."""
    env = os.environ if environ is None else environ
    try:
        recipients = email_addresses(env.get(RECIPIENTS_ENV, ""))
    except ValueError as exc:
        raise AlertsMisconfigured(f"{RECIPIENTS_ENV} : {exc}") from None
    if not recipients:
        return None
    written = env.get(SMTP_ENV, "").strip()
    if not written:
        raise AlertsMisconfigured(
            f"{RECIPIENTS_ENV} est renseignée mais pas {SMTP_ENV} : donnez le relais de messagerie de "
            "la Caf (HOTE ou HOTE:PORT)"
        )
    try:
        smtp = caf_relay(written, env)
    except OutreachError as exc:
        raise AlertsMisconfigured(f"{SMTP_ENV} : {exc}") from None
    return AlertSettings(recipients, smtp, sender_address(env))


def failure_alert(
    settings: AlertSettings, *, schedule: str, scheduled_at: dt.datetime, message: str
) -> EmailMessage:
    """The e-mail telling that one execution of `schedule` failed, and what to do."""
    alert = EmailMessage()
    alert["Subject"] = f"uptake : échec de la planification « {schedule} »"
    alert["From"] = settings.sender
    alert["To"] = ", ".join(settings.recipients)
    alert["Date"] = formatdate(localtime=False)
    alert["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1])
    alert.set_content(
        f"L'exécution de la planification « {schedule} » prévue le {french.moment(scheduled_at)} a "
        f"échoué :\n\n{message}\n\n"
        f"« uptake schedule list » la montre ; le message ci-dessus dit quoi faire (quand il faut la "
        f"relancer après correction : « uptake schedule run {schedule} »). « uptake check » dit ce qui "
        "reste à corriger dans l'installation.\n"
    )
    return alert


def send_failure_alert(
    settings: AlertSettings, *, schedule: str, scheduled_at: dt.datetime, message: str
) -> str | None:
    """Send the alert; what went wrong with the relay (no address in it), None when it was accepted."""
    alert = failure_alert(settings, schedule=schedule, scheduled_at=scheduled_at, message=message)
    delivery = deliver_emails([alert], settings.smtp)
    if delivery.failure:
        return delivery.failure
    return None if delivery.sent else "le relais a refusé le message"
