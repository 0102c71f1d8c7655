"""The indicators report, written and, when asked, e-mailed: one path for `uptake report` and the
scheduled `rapport` job.

The report holds only counts under statistical secrecy, never household data; sending it is audited.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from outreach.channels import SmtpSettings, deliver_emails
from outreach.errors import OutreachError, ReportNotSent
from outreach.report import ReportFiles, report_message, write_report
from privacy import audit
from privacy.disclosure import publication_threshold
from uptake.alerts import SMTP_ENV, email_addresses, sender_address
from uptake.context import AppContext
from uptake.db import transaction
from uptake.relay import caf_relay


@dataclass(frozen=True)
class ReportMailing:
    """Who receives the report, through which relay."""

    recipients: tuple[str, ...]
    relay: SmtpSettings


def report_mailing(recipients: str, relay: str, *, relay_hint: str) -> ReportMailing | None:
    """The mailing asked for (addresses separated by commas; the relay `HOTE:PORT`, else
    `UPTAKE_SMTP`), None when no address is given; `ValueError` with a French message when the
    addresses or the relay cannot be used (`relay_hint` names the option that gives the relay)."""
    try:
        addresses = email_addresses(recipients)
    except ValueError as exc:
        raise ValueError(f"destinataires du rapport : {exc}") from None
    if not addresses:
        if recipients.strip():  # « , » or spaces: an address was meant, none is there
            raise ValueError(f"destinataires du rapport : aucune adresse dans « {recipients.strip()} »")
        if relay.strip():
            raise ValueError(
                "relais de messagerie donné sans destinataire : ajoutez les adresses à qui envoyer le "
                "rapport, ou retirez le relais"
            )
        return None
    written = relay.strip() or os.environ.get(SMTP_ENV, "").strip()
    if not written:
        raise ValueError(f"rapport à envoyer sans relais de messagerie : donnez {relay_hint} ou {SMTP_ENV}")
    try:
        return ReportMailing(addresses, caf_relay(written))
    except OutreachError as exc:
        raise ValueError(str(exc)) from None


def produce_report(
    ctx: AppContext,
    out_dir: Path,
    *,
    actor: str,
    threshold: int | None = None,
    mailing: ReportMailing | None = None,
) -> ReportFiles:
    """Write the report in `out_dir` (audited), hiding counts under `threshold` (default: the one
    configured for every published figure; a lower one is refused, `ThresholdBelowConfigured`, so
    that no report publishes smaller counts than the Caf allows); then mail it if asked
    (`ReportNotSent` if the relay does not take it: the files stay written), and audit the sending."""
    threshold = publication_threshold(threshold or None)
    moment = dt.datetime.now(dt.UTC)
    communes = dict(ctx.geography.communes.select("code_commune", "nom").iter_rows())
    files = write_report(
        ctx.engine,
        out_dir,
        communes=communes,
        territory=ctx.territory.nom,
        actor=actor,
        threshold=threshold,
        now=moment,
    )
    if mailing is None:
        return files
    message = report_message(
        files,
        recipients=mailing.recipients,
        sender=sender_address(),
        territory=ctx.territory.nom,
        moment=moment,
    )
    delivery = deliver_emails([message], mailing.relay)
    if delivery.failure or not delivery.sent:
        raise ReportNotSent(delivery.failure or "le relais a refusé le message")
    with transaction(ctx.engine) as session:
        audit.append(
            session,
            actor=actor,
            action="rapport.envoi",
            object_ref="rapport:indicateurs",
            counts={"destinataires": len(mailing.recipients)},
        )
    return files
