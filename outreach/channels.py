"""The contents of each channel's output: SMS batch, e-mails (.eml), call worklists (XLSX/CSV), letters.

These functions only build bytes and frames from rendered messages and revealed contacts; writing
them to disk goes through `privacy.retention.write_personal_output` (see `outreach.attempts`), and
delivery by SMTP through `deliver_emails`.
"""

from __future__ import annotations

import io
import smtplib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from outreach.errors import OutreachError

# Personal fields each channel needs from the vault (names of the contact directory contract).
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("telephone",),
    "email": ("civilite", "nom", "prenom", "email"),
    "appel": ("civilite", "nom", "prenom", "telephone"),
    "courrier": ("civilite", "nom", "prenom", "adresse", "code_postal", "ville"),
}
# The field without which a channel cannot reach the household.
CHANNEL_KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("telephone",),
    "email": ("email",),
    "appel": ("telephone",),
    "courrier": ("adresse", "code_postal", "ville"),
}


@dataclass(frozen=True)
class SmtpSettings:
    """Where to deliver e-mails (a relay of the Caf; tests use a loopback server)."""

    host: str
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


def smtp_relay(value: str) -> SmtpSettings:
    """The relay written `HOTE` or `HOTE:PORT` (port 25 by default); `OutreachError` otherwise."""
    host, _, port = value.strip().partition(":")
    if not host or (port and not port.isdigit()):
        raise OutreachError(
            f"serveur SMTP `{value}` illisible : écrivez HOTE ou HOTE:PORT (par exemple relais:25)"
        )
    return SmtpSettings(host=host, port=int(port or 25))


def build_email(
    *, sender_name: str, sender_address: str, to: str, subject: str, text: str, html: str
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML second (RFC 2046 order of preference)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((sender_name, sender_address))
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender_address.rsplit("@", 1)[-1])
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def zip_files(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Files in one zip archive (deterministic order), so that a batch is one audited output."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Delivery:
    """What the SMTP server did with a batch, by position in the batch (no address in it)."""

    # Taken by the server.
    delivered: tuple[int, ...]
    # Recipient refused for good (a 5xx reply to RCPT: unknown or unacceptable address).
    refused: tuple[int, ...]
    # Not taken but may be sent again: refused for now (a 4xx reply), or the message itself refused
    # (a reply to DATA: size, content policy), which a corrected relay or template may take.
    deferred: int = 0
    # Why the batch stopped (connection lost, sender address refused), None if every message was tried.
    failure: str | None = None

    @property
    def sent(self) -> int:
        """How many messages the server took."""
        return len(self.delivered)


def _for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """Every recipient refused with a 5xx reply (a 4xx one asks to try again later)."""
    return all(500 <= code < 600 for code, _ in exc.recipients.values())


def deliver_emails(messages: Sequence[EmailMessage], smtp: SmtpSettings) -> Delivery:
    """Send every message through one SMTP connection.

    A message the server does not take is counted, not raised: its address refused for good, or kept
    for a later sending. A connection failure, or the sender's address refused (every message would
    be), stops the batch and is described without any address (the `.eml` files stay written, and
    `outreach.sending` sends later what was not taken).
    """
    delivered: list[int] = []
    refused: list[int] = []
    deferred = 0
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user and smtp.password:
                client.login(smtp.user, smtp.password)
            for index, message in enumerate(messages):
                try:
                    rejected = client.send_message(message)
                except smtplib.SMTPRecipientsRefused as exc:
                    if _for_good(exc):
                        refused.append(index)
                    else:
                        deferred += 1
                    continue
                except smtplib.SMTPDataError:
                    deferred += 1
                    continue
                (refused if rejected else delivered).append(index)
    except (OSError, smtplib.SMTPException) as exc:
        failure = f"{type(exc).__name__} sur {smtp.host}:{smtp.port}"
        return Delivery(tuple(delivered), tuple(refused), deferred, failure)
    return Delivery(tuple(delivered), tuple(refused), deferred)


WORKLIST_HEADERS: dict[str, str] = {
    "rang": "Rang",
    "priorite": "Priorité",
    "civilite": "Civilité",
    "nom": "Nom",
    "prenom": "Prénom",
    "telephone": "Téléphone",
    "commune": "Commune",
    "distance_services_km": "Distance aux services (km)",
    "droits": "Droits à examiner",
    "montant_estime": "Montant estimé (€/mois)",
    "motifs": "Motifs",
    "script": "Script d'appel",
    "appeler_a_partir_de": "Appeler à partir du",
    "resultat": "Résultat (à remplir)",
    "date": "Date de l'appel (à remplir)",
    "montant": "Montant ouvert (€/mois, si droit ouvert)",
    "id_foyer": "Référence foyer",
}


def worklist_xlsx(frame: pl.DataFrame, title: str) -> bytes:
    """The call worklist as a spreadsheet: French headers, wrapped long texts, frozen header row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Appels"
    columns = [c for c in WORKLIST_HEADERS if c in frame.columns]
    sheet.append([WORKLIST_HEADERS[c] for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in frame.select(columns).iter_rows():
        sheet.append(list(row))
    widths = {"motifs": 60, "script": 80, "droits": 40, "nom": 20, "prenom": 16, "telephone": 16}
    for index, column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = widths.get(column, 14)
        if column in ("motifs", "script"):
            for cell in sheet[letter][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
