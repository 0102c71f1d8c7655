"""The contents of each channel's output: SMS batch, e-mails (.eml), call worklists (XLSX/CSV), letters.

These functions only build bytes and frames from rendered messages and revealed contacts; writing
them to disk goes through `privacy.retention.write_personal_output` (see `outreach.attempts`), and
delivery by SMTP through `deliver_emails`.
"""

from __future__ import annotations

import contextlib
import io
import smtplib
import socket
import ssl
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import polars as pl

from outreach.errors import OutreachError
from outreach.models import REFUSED, REJECTED, SENT

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
    # The authority the relay's certificate is checked against (PEM file), else the system's.
    ca_file: str | None = None
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0


def smtp_relay(value: str) -> SmtpSettings:
    """The relay written `HOTE` or `HOTE:PORT` (port 25 by default); `OutreachError` otherwise."""
    host, _, port = value.strip().partition(":")
    if not host or (port and not (port.isdigit() and 1 <= int(port) <= 65535)):
        raise OutreachError(
            f"serveur SMTP `{value}` illisible : écrivez HOTE ou HOTE:PORT, le port de 1 à 65535 (par "
            "exemple relais:25)"
        )
    return SmtpSettings(host=host, port=int(port or 25))


def _unreachable(exc: BaseException) -> str:
    """Why the relay could not be reached, in words (the exception's type is no help to a reader)."""
    if isinstance(exc, socket.gaierror):
        return "nom de serveur inconnu : vérifiez l'adresse du relais"
    if isinstance(exc, ConnectionRefusedError):
        return "connexion refusée : le relais n'écoute pas sur ce port"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "pas de réponse dans le délai : relais arrêté ou pare-feu"
    if isinstance(exc, smtplib.SMTPException):
        return "le relais a refusé la session SMTP"
    if isinstance(exc, OSError) and exc.strerror:
        return f"erreur réseau : {exc.strerror}"
    return f"erreur {type(exc).__name__}"


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


def zip_files(files: Iterable[tuple[str, bytes]]) -> bytes:
    """Files in one zip archive (in the order given), so that a batch is one audited output; each file
    is compressed as it comes, so a generator keeps only one uncompressed at a time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            # A ZipInfo is stored uncompressed unless told otherwise, whatever the archive's default.
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


@dataclass(frozen=True)
class Delivery:
    """What the SMTP server did with a batch, by position in the batch (no address in it)."""

    results: dict[int, str]
    # How many messages were refused for now (a 4xx reply): they may be sent again.
    deferred: int = 0
    # Why the batch stopped (relay unreachable, connection lost, sender refused), None if every
    # message was tried.
    failure: str | None = None

    def count(self, result: str) -> int:
        """How many messages ended with `result`."""
        return sum(1 for value in self.results.values() if value == result)

    @property
    def sent(self) -> int:
        """How many messages the server took."""
        return self.count(SENT)


@dataclass(frozen=True)
class RawEmail:
    """An e-mail as a launch archived it (RFC 5322 bytes, lines ending in LF or CRLF) and its envelope:
    handed to the server as it is, never parsed again nor serialised again."""

    sender: str
    recipient: str
    data: bytes


def _for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """Every recipient refused with a 5xx reply (a 4xx one asks to try again later)."""
    return all(500 <= code < 600 for code, _ in exc.recipients.values())


def _mail_options(message: RawEmail, client: smtplib.SMTP) -> tuple[str, ...]:
    """The MAIL FROM options `message` needs: SMTPUTF8 for an address outside ASCII (as `send_message`
    asks for it), and the declaration of an 8-bit body (accents written as they are) to a server that
    takes one."""
    if not (message.sender.isascii() and message.recipient.isascii()):
        return ("SMTPUTF8", "BODY=8BITMIME")
    client.ehlo_or_helo_if_needed()  # the server's extensions are known after its first greeting only
    if not message.data.isascii() and client.has_extn("8bitmime"):
        return ("BODY=8BITMIME",)
    return ()


def _crlf(data: bytes) -> bytes:
    """`data` with every line ending in CRLF, as SMTP requires: smtplib sends bytes as they are."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _result(message: EmailMessage | RawEmail, client: smtplib.SMTP) -> str | None:
    """Hand one message to the server: `SENT`, `REFUSED` (a 5xx reply to RCPT: the address), `REJECTED`
    (a 5xx reply to DATA: this very message will never be taken), or None (refused for now)."""
    try:
        if isinstance(message, RawEmail):
            rejected = client.sendmail(
                message.sender,
                [message.recipient],
                _crlf(message.data),
                mail_options=_mail_options(message, client),
            )
        else:
            rejected = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        return REFUSED if _for_good(exc) else None
    except smtplib.SMTPDataError as exc:
        return REJECTED if 500 <= exc.smtp_code < 600 else None
    return REFUSED if rejected else SENT


def deliver_emails(
    messages: Iterable[EmailMessage | RawEmail],
    smtp: SmtpSettings,
    on_result: Callable[[int, str | None], None] | None = None,
    before: Callable[[int], bool] | None = None,
) -> Delivery:
    """Send every message through one SMTP connection, telling `on_result` (position, result) after
    each one, so that the caller records it at once. A `RawEmail` goes as its bytes; `messages` may be
    read as they go (a launch's e-mails are read from their archive one at a time). `before`
    (position) is asked first: a message it answers no to is not sent (another sending took it
    meanwhile).

    A message the server does not take is counted, not raised. An unreachable relay, a lost
    connection or the sender's address refused (every message would be) stops the batch; the failure
    is described without any address. An interruption (Ctrl-C, SIGTERM) closes the connection and
    goes on up.
    """
    results: dict[int, str] = {}
    deferred = 0
    where = f"{smtp.host}:{smtp.port}"
    try:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context(cafile=smtp.ca_file))
        if smtp.user and smtp.password:
            client.login(smtp.user, smtp.password)
    except smtplib.SMTPAuthenticationError as exc:
        return Delivery(
            results,
            failure=f"identifiant ou mot de passe refusé par le serveur SMTP ({exc.smtp_code} sur {where})",
        )
    except ssl.SSLCertVerificationError:
        return Delivery(
            results, failure=f"certificat du serveur SMTP non reconnu ({where}) : connexion chiffrée refusée"
        )
    except (OSError, smtplib.SMTPException) as exc:
        return Delivery(results, failure=f"serveur SMTP {where} injoignable ({_unreachable(exc)})")
    failure: str | None = None
    try:
        for index, message in enumerate(messages):
            if before is not None and not before(index):
                continue
            result = _result(message, client)
            if result is None:
                deferred += 1
            else:
                results[index] = result
            if on_result is not None:
                on_result(index, result)
    except smtplib.SMTPSenderRefused as exc:
        failure = f"adresse d'expédition refusée par le serveur ({exc.smtp_code} sur {where})"
    except (OSError, smtplib.SMTPException) as exc:
        failure = f"connexion au serveur SMTP {where} interrompue ({_unreachable(exc)})"
    except BaseException:
        client.close()  # interrupted mid-message: a QUIT now would be read as the message's text
        raise
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    return Delivery(results, deferred, failure)


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
    # Which list a line comes from: lists of two launches merged by hand go back each line to its own.
    "campagne": "Campagne",
    "lancement": "Lancement n°",
    "id_foyer": "Référence foyer",
}


def worklist_xlsx(frame: pl.DataFrame, title: str) -> bytes:
    """The call worklist as a spreadsheet: French headers, wrapped long texts, frozen header row."""
    # Imported here: openpyxl takes a quarter of a second to import, for the worklist download only.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

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
    # A name from the directory starting with `=` would be stored as a live formula
    # (`=HYPERLINK(…)` sends the row away on a click): every cell is kept as the text it is.
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if cell.data_type == "f":
                cell.data_type = "s"
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
