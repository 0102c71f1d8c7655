"""Handing a launch's e-mails to the SMTP server: each one once, what the server did kept at once.

Launches and follow-ups prepare their e-mails (`.eml` files in a zip, and its encrypted copy) and
record them in the contact history with no `envoi`: still to send. `send_pending_emails` sends
them, after the launch is recorded (a launch given `--smtp` calls it then; `uptake campaigns send`
later, for a launch prepared without a server, a batch cut short or e-mails refused for now):

1. one short transaction checks and claims: every batch is read back from its encrypted copy under
   the exchange that wrote it (approved and in force: a revoked exchange or a purged batch sends
   nothing at all); a household that objected, whose contact ended (refusal, right opened, not
   eligible) or whose address became unusable since is withdrawn; an address changed in the
   directory since is the one written to; the e-mails to send are reserved (`reserve`, with the
   sending's token);
2. a few at a time (`RECORD_EVERY`), the e-mails about to be handed to the server are marked
   `en_cours` if this sending still holds their reservation, and the results of the previous ones
   recorded, each time in a transaction of its own (a long sending never holds the database);
3. what was not taken goes back to "to send".

A sending killed (kill -9, a power cut) leaves its reserved e-mails to the next sending, which takes
them over (a sending that finds its reservation taken does not send: never twice); only the few it
was handing stay `en_cours`, uncertain (the server may have taken them): never sent again unless
asked (`--reprendre`).
"""

from __future__ import annotations

import datetime as dt
import email
import io
import secrets
import zipfile
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.campaigns import Campaign
from outreach.channels import RawEmail, SmtpSettings, deliver_emails
from outreach.errors import LaunchNotFound, LaunchOfAnotherCampaign, OutreachError
from outreach.models import (
    ABANDONED,
    CANCELLED,
    ELSEWHERE,
    IN_FLIGHT,
    OBJECTED,
    REFUSED,
    REJECTED,
    RESERVED,
    SENT,
    UNKNOWN,
    Contact,
    Launch,
    Outcome,
)
from outreach.outcomes import BOUNCED, STOPPING, record_outcome
from outreach.windows import check_delivery_window
from privacy import audit, exchanges, vault
from privacy.canonical import as_utc
from privacy.models import PersonalOutput
from privacy.retention import read_output

if TYPE_CHECKING:
    from outreach.launch import OutreachEnv

# E-mails are marked as being handed, and results recorded, this many at a time (and at the end): at
# most this many are left uncertain by a sending killed.
RECORD_EVERY = 25


# Each state of `Contact.envoi` as the data team reads it (None: still to send).
SENDING_LABELS: dict[str | None, str] = {
    None: "à envoyer",
    SENT: "remis au relais",
    REFUSED: "adresse refusée",
    REJECTED: "message refusé",
    OBJECTED: "retirés avant l'envoi (opposition)",
    CANCELLED: "retirés avant l'envoi (contact clos ou adresse inutilisable)",
    ABANDONED: "abandonnés",
    ELSEWHERE: "envoyés par un autre outil",
    RESERVED: "réservés par un envoi en cours (repris par le suivant s'il a été interrompu)",
    IN_FLIGHT: "envoi interrompu (peut-être reçus : --reprendre pour les renvoyer)",
    UNKNOWN: "produits avant le suivi des envois",
}


@dataclass
class AttemptSending:
    """What one attempt's e-mails became in one sending (counts only)."""

    sent: int = 0
    refused: int = 0
    rejected: int = 0
    # Taken over by another sending started meanwhile (it sends them: not this one).
    taken_over: int = 0
    problem: str | None = None


@dataclass(frozen=True)
class SendReport:
    """What one sending of a launch's e-mails did (counts only: no address)."""

    launch_id: int
    # E-mails handed to the server in this sending.
    tried: int
    sent: int
    # Address refused for good (recorded « courriel non distribué »), message refused for good.
    refused: int
    rejected: int
    # Withdrawn before they went: objection, contact ended or address unusable since.
    withdrawn: int
    # Left `en_cours` by a sending that was killed: the server may have taken them.
    uncertain: int
    # Still to send after this sending (not taken: refused for now, batch stopped).
    waiting: int
    attempts: dict[int, AttemptSending] = field(default_factory=dict)

    @property
    def problem(self) -> str | None:
        """Why some e-mails were not taken (per attempt, no address), None if none."""
        problems = [f"tentative {n} : {a.problem}" for n, a in sorted(self.attempts.items()) if a.problem]
        return " ; ".join(problems) or None


@dataclass(frozen=True)
class _Archived:
    """One e-mail of a batch's archive: its file there, its envelope and, only when the directory's
    address changed since the launch, the e-mail rewritten to the new one."""

    name: str
    sender: str
    recipient: str
    readdressed: bytes | None = None


@dataclass
class _Batch:
    """The e-mails of one attempt's batch to send, in order, and the archive they are read from."""

    attempt: int
    archive: bytes
    contacts: list[Contact]
    emails: list[_Archived]

    def messages(self) -> Iterator[RawEmail]:
        """Each e-mail as its archived bytes, read from the archive only as it is handed over: a
        department's batch decompressed at once would hold a few hundred MB more than the archive."""
        with zipfile.ZipFile(io.BytesIO(self.archive)) as opened:
            for archived in self.emails:
                data = archived.readdressed or opened.read(archived.name)
                yield RawEmail(archived.sender, archived.recipient, data)


# Headers only, kept as written (no policy object per header): a full parse of every e-mail made the
# claim, which holds the database, about 13 times longer (benchmarks/email_sending.py).
_HEADERS = BytesHeaderParser(policy=policy.compat32)


def _address(value: str | None) -> str:
    """The address of a From or To header's value, '' if it has none."""
    return getaddresses([value])[0][1] if value else ""


def _envelopes(archive: zipfile.ZipFile, households: Collection[str]) -> dict[str, _Archived]:
    """The e-mails of `households` in a batch's archive, by household pseudonym (files
    `<rank>-<pseudonym>.eml`), with their envelope read from their headers only. Only theirs are read:
    a department's batch holds thousands, and a sending resumed for a few would read them all."""
    wanted = set(households)
    found = {}
    for name in archive.namelist():
        if not (name.endswith(".eml") and "-" in name):
            continue
        pseudonym = name.removesuffix(".eml").split("-", 1)[1]
        if pseudonym in wanted:
            headers = _HEADERS.parsebytes(archive.read(name))
            found[pseudonym] = _Archived(name, _address(headers["From"]), _address(headers["To"]))
    return found


def _readdressed(data: bytes, address: str) -> bytes:
    """The archived e-mail `data` written to `address` instead (only its To header changes)."""
    message = email.message_from_bytes(data, policy=policy.default)
    message.replace_header("To", address)
    return message.as_bytes()


def _locked(connection: Connection) -> None:
    """On SQLite, take the database's write lock first: two sendings take turns to claim."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def launch_of(session: Session, campaign: Campaign, launch_id: int) -> Launch:
    """The launch `launch_id` of `campaign`; `LaunchNotFound` or `LaunchOfAnotherCampaign` otherwise."""
    launch = session.get(Launch, launch_id)
    if launch is None:
        raise LaunchNotFound(launch_id)
    if launch.campagne != campaign.id:
        raise LaunchOfAnotherCampaign(launch_id, campaign.id, launch.campagne, "envoyez ses courriels")
    return launch


def _ended(session: Session, contacts: Sequence[Contact]) -> set[str]:
    """The households among `contacts` whose contact ended (refusal, right opened, not eligible)
    after their e-mail was prepared."""
    prepared = {c.id_foyer: c.produit_le for c in contacts}
    rows = session.execute(
        select(Outcome.id_foyer, func.max(Outcome.enregistre_le))
        .where(Outcome.id_foyer.in_(list(prepared)), Outcome.resultat.in_(STOPPING))
        .group_by(Outcome.id_foyer)
    )
    return {pseudonym for pseudonym, last in rows if last is not None and last >= prepared[pseudonym]}


def _read_batch(
    session: Session, env: OutreachEnv, digest: str | None, now: dt.datetime
) -> tuple[exchanges.Authorisation, bytes]:
    """The archive of the batch whose SHA-256 is `digest`, from its encrypted copy, read under the
    exchange that wrote it (approved and in force at `now`), and that authorisation."""
    output = session.scalars(select(PersonalOutput).where(PersonalOutput.sha256 == digest).limit(1)).first()
    if output is None or output.purged_at:
        raise OutreachError(
            "le lot de courriels de ce lancement n'existe plus (sa durée de conservation est écoulée) : ses "
            "courriels ne peuvent plus partir ; abandonnez-les (`--abandonner`) et relancez la campagne "
            "sur une nouvelle exécution si besoin."
        )
    authorisation = exchanges.authorise(session, env.keyring, output.exchange_id, output.fields, now=now)
    return authorisation, read_output(session, env.keyring, authorisation, output.id, now=now)


def _claim(
    session: Session, env: OutreachEnv, launch_id: int, now: dt.datetime, *, resume: bool, token: str
) -> tuple[list[_Batch], int, int]:
    """Check every waiting e-mail of the launch, withdraw those that must not go, and reserve the
    others for the sending `token` (caller's transaction): the batches to send, how many were
    withdrawn, how many are uncertain (left `en_cours` by a killed sending; claimed too when `resume`).

    E-mails another sending reserved are taken over: it was killed, or it will find them taken and
    not send them."""
    waiting_states = or_(Contact.envoi.is_(None), Contact.envoi == RESERVED)
    wanted = or_(waiting_states, Contact.envoi == IN_FLIGHT) if resume else waiting_states
    query = (
        select(Contact)
        .where(Contact.launch_id == launch_id, Contact.canal == "email", wanted)
        .order_by(Contact.tentative, Contact.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another sending is claiming are left to it (SQLite takes turns on the write lock).
        query = query.with_for_update(skip_locked=True)
    waiting = session.scalars(query).all()
    # Claimed with the others when `resume`; else counted, to be told.
    left_uncertain = (
        0
        if resume
        else session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.launch_id == launch_id, Contact.canal == "email", Contact.envoi == IN_FLIGHT)
        )
        or 0
    )
    if not waiting:
        return [], 0, left_uncertain
    ids = [c.id_foyer for c in waiting]
    objected = oppositions.opposed(session, ids, now=now)
    ended = _ended(session, waiting)
    by_batch: dict[tuple[int, str | None], list[Contact]] = defaultdict(list)
    withdrawn = 0
    for contact in waiting:
        if contact.id_foyer in objected or contact.id_foyer in ended:
            contact.envoi = OBJECTED if contact.id_foyer in objected else CANCELLED
            contact.reserve_par = None
            withdrawn += 1
        else:
            by_batch[(contact.tentative, contact.fichier_sha256)].append(contact)
    batches = []
    for (attempt, digest), contacts in sorted(by_batch.items(), key=lambda kv: kv[0][0]):
        authorisation, archive = _read_batch(session, env, digest, now)
        # The address the directory holds now: changed since (written to the new one), or no longer
        # usable (withdrawn).
        addresses = vault.reveal(
            session,
            env.keyring,
            authorisation,
            [c.id_foyer for c in contacts],
            ["email"],
            actor=env.actor,
            now=now,
        )
        batch = _Batch(attempt, archive, [], [])
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            archived_emails = _envelopes(opened, [c.id_foyer for c in contacts])
            for contact in contacts:
                archived = archived_emails.get(contact.id_foyer)
                address = addresses.get(contact.id_foyer, {}).get("email")
                if archived is None or not address:
                    contact.envoi, contact.reserve_par = CANCELLED, None
                    withdrawn += 1
                    continue
                if archived.recipient != address:
                    rewritten = _readdressed(opened.read(archived.name), address)
                    archived = _Archived(archived.name, archived.sender, address, rewritten)
                contact.envoi, contact.reserve_par = RESERVED, token
                batch.contacts.append(contact)
                batch.emails.append(archived)
        if batch.contacts:
            batches.append(batch)
    return batches, withdrawn, left_uncertain


def _handing(
    env: OutreachEnv, batch: _Batch, token: str, flush: Callable[[], None]
) -> tuple[Callable[[int], bool], set[int], set[int]]:
    """The `before` callback of `deliver_emails` for `batch`, the positions it marked `en_cours`, and
    those another sending had taken over.

    Every `RECORD_EVERY` messages, it records the results so far, then marks the next ones `en_cours`
    (one transaction), those whose reservation this sending `token` still holds: a message taken over
    by another sending meanwhile is not sent."""
    marked: set[int] = set()
    taken_over: set[int] = set()

    def before(index: int) -> bool:
        if index % RECORD_EVERY == 0:
            flush()
            chunk = {
                c.id: index + offset for offset, c in enumerate(batch.contacts[index : index + RECORD_EVERY])
            }
            with env.engine.begin() as connection:
                taken = connection.scalars(
                    update(Contact)
                    .where(
                        Contact.id.in_(list(chunk)), Contact.envoi == RESERVED, Contact.reserve_par == token
                    )
                    .values(envoi=IN_FLIGHT, reserve_par=None)
                    .returning(Contact.id)
                ).all()
            marked.update(chunk[contact_id] for contact_id in taken)
            taken_over.update(set(chunk.values()) - marked)
        return index in marked

    return before, marked, taken_over


def _recorder(
    env: OutreachEnv, batch: _Batch, launch_id: int, now: dt.datetime, answered: list[int]
) -> tuple[Callable[[int, str | None], None], Callable[[], None]]:
    """A callback taking each message's result (its position added to `answered`), and the function
    writing those not yet written (each time in a transaction of its own): `envoi` set, or back to
    "to send" when refused for now; an address refused for good recorded « courriel non distribué »."""
    pending: list[tuple[Contact, str | None]] = []

    def flush() -> None:
        if not pending:
            return
        with env.engine.begin() as connection, Session(bind=connection) as session:
            for contact, result in pending:
                session.execute(
                    update(Contact)
                    .where(Contact.id == contact.id)
                    .values(envoi=result, envoye_le=now if result == SENT else None)
                )
                if result == REFUSED:
                    record_outcome(
                        session,
                        id_foyer=contact.id_foyer,
                        resultat=BOUNCED,
                        acteur=env.actor,
                        launch_id=launch_id,
                        regle=contact.regle,
                        tentative=contact.tentative,
                        source="envoi",
                        now=now,
                    )
        pending.clear()

    def on_result(index: int, result: str | None) -> None:
        answered.append(index)
        pending.append((batch.contacts[index], result))
        if len(pending) >= RECORD_EVERY:
            flush()

    return on_result, flush


def _release(env: OutreachEnv, token: str, in_flight: Sequence[Contact] = ()) -> None:
    """Back to "to send": the e-mails the sending `token` reserved and never handed to the server,
    and those of `in_flight` it marked but did not hand (the batch stopped first)."""
    with env.engine.begin() as connection:
        connection.execute(
            update(Contact)
            .where(Contact.envoi == RESERVED, Contact.reserve_par == token)
            .values(envoi=None, reserve_par=None)
        )
        if in_flight:
            connection.execute(
                update(Contact)
                .where(Contact.id.in_([c.id for c in in_flight]), Contact.envoi == IN_FLIGHT)
                .values(envoi=None)
            )


def _problem(sending: AttemptSending, deferred: int, failure: str | None) -> str | None:
    problems = [failure] if failure else []
    if deferred:
        problems.append(f"{deferred} courriel(s) non pris pour l'instant par le serveur")
    if sending.refused:
        problems.append(f"{sending.refused} adresse(s) refusée(s) (comptées « courriel non distribué »)")
    if sending.rejected:
        problems.append(f"{sending.rejected} message(s) refusé(s) définitivement par le serveur")
    if sending.taken_over:
        problems.append(
            f"{sending.taken_over} courriel(s) repris par un autre envoi lancé entre-temps, qui les envoie"
        )
    return " ; ".join(problems) or None


def send_pending_emails(
    env: OutreachEnv,
    campaign: Campaign,
    launch_id: int,
    smtp: SmtpSettings,
    *,
    now: dt.datetime | None = None,
    resume: bool = False,
) -> SendReport:
    """Hand to `smtp` the e-mails of launch `launch_id` (of `campaign`) still to send (and, when
    `resume`, those a killed sending left uncertain). Refused before anything is sent: unknown launch,
    another campaign's, a public holiday, an exchange no longer in force, a purged batch."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    check_delivery_window(campaign, smtp, moment)
    token = secrets.token_hex(16)
    # The session owns the transaction: its commit signs the log's end (the claim's decryption is
    # audited), which a session joined to a connection's transaction would not do.
    with Session(env.engine, expire_on_commit=False) as session, session.begin():
        _locked(session.connection())
        launch_of(session, campaign, launch_id)
        batches, withdrawn, uncertain = _claim(session, env, launch_id, moment, resume=resume, token=token)
    attempts: dict[int, AttemptSending] = {}
    stopped = False
    tried = 0
    for batch in batches:
        if stopped:  # the relay is unreachable: the next batches would fail the same way
            break
        answered: list[int] = []
        on_result, flush = _recorder(env, batch, launch_id, moment, answered)
        before, marked, taken_over = _handing(env, batch, token, flush)
        try:
            delivery = deliver_emails(batch.messages(), smtp, on_result, before)
        except BaseException:
            # Interrupted: what the server answered is kept; the message it was being given stays
            # `en_cours` (uncertain); those marked after it, and the reserved ones, were never handed.
            flush()
            unanswered = sorted(marked - set(answered))
            _release(env, token, [batch.contacts[i] for i in unanswered[1:]])
            raise
        flush()
        handed = set(answered)
        _release(env, token, [batch.contacts[i] for i in sorted(marked - handed)])
        sending = attempts.setdefault(batch.attempt, AttemptSending())
        sending.sent += delivery.count(SENT)
        sending.refused += delivery.count(REFUSED)
        sending.rejected += delivery.count(REJECTED)
        sending.taken_over += len(taken_over)
        tried += len(marked)
        sending.problem = _problem(sending, delivery.deferred, delivery.failure)
        _audit(env, launch_id, batch, delivery.count(SENT), sending, smtp, delivery.failure)
        stopped = delivery.failure is not None
    _release(env, token)  # the batches left after the relay stopped answering
    with Session(env.engine) as session:
        still = session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(
                Contact.launch_id == launch_id,
                Contact.canal == "email",
                or_(Contact.envoi.is_(None), Contact.envoi == RESERVED),
            )
        )
    return SendReport(
        launch_id,
        tried=tried,
        sent=sum(a.sent for a in attempts.values()),
        refused=sum(a.refused for a in attempts.values()),
        rejected=sum(a.rejected for a in attempts.values()),
        withdrawn=withdrawn,
        uncertain=uncertain,
        waiting=still or 0,
        attempts=attempts,
    )


def _audit(
    env: OutreachEnv,
    launch_id: int,
    batch: _Batch,
    sent: int,
    sending: AttemptSending,
    smtp: SmtpSettings,
    failure: str | None,
) -> None:
    """The audit entry of one batch handed to the SMTP server: counts only."""
    with Session(env.engine) as session, session.begin():  # its commit signs the log's end
        audit.append(
            session,
            actor=env.actor,
            action="courriel.envoi" if failure is None else "courriel.envoi_interrompu",
            object_ref=f"campagne:{launch_id}",
            counts={
                "envoyes": sent,
                "refuses": sending.refused,
                "rejetes": sending.rejected,
                "prepares": len(batch.contacts),
                "repris_ailleurs": sending.taken_over,
            },
            details={"serveur": f"{smtp.host}:{smtp.port}", "tentative": batch.attempt, "incident": failure},
        )


def set_aside(env: OutreachEnv, campaign: Campaign, launch_id: int, state: str) -> int:
    """Mark every e-mail of the launch still to send (or uncertain) as given up (`ABANDONED`) or sent by
    another tool (`ELSEWHERE`), as the campaign manager says (audited); how many."""
    if state not in (ABANDONED, ELSEWHERE):
        raise ValueError(state)
    with Session(env.engine) as session, session.begin():  # its commit signs the log's end
        _locked(session.connection())
        launch_of(session, campaign, launch_id)
        marked = session.execute(
            update(Contact)
            .where(
                Contact.launch_id == launch_id,
                Contact.canal == "email",
                Contact.envoi.is_(None) | Contact.envoi.in_((RESERVED, IN_FLIGHT)),
            )
            .values(envoi=state, reserve_par=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not marked:
            return 0  # nothing was waiting: nothing to trace
        audit.append(
            session,
            actor=env.actor,
            action="courriel.abandon" if state == ABANDONED else "courriel.envoi_externe",
            object_ref=f"campagne:{launch_id}",
            counts={"courriels": marked},
        )
    return int(marked)


@dataclass(frozen=True)
class Stalled:
    """A launch whose e-mails have been waiting since `since`: still to send, or left uncertain by a
    sending that was killed (counts only)."""

    launch_id: int
    campagne: str
    to_send: int
    uncertain: int
    since: dt.datetime


def stalled_emails(engine: Engine, *, now: dt.datetime, older_than: dt.timedelta) -> list[Stalled]:
    """The launches with e-mails produced more than `older_than` before `now` that have not left (the
    follow-ups of their households wait for them), oldest first."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                Contact.launch_id, Contact.campagne, Contact.envoi, func.count(), func.min(Contact.produit_le)
            )
            .where(
                Contact.canal == "email",
                or_(Contact.envoi.is_(None), Contact.envoi.in_((RESERVED, IN_FLIGHT))),
                Contact.produit_le < now - older_than,
            )
            .group_by(Contact.launch_id, Contact.campagne, Contact.envoi)
        ).all()
    counts: dict[tuple[int, str], dict[str | None, int]] = {}
    since: dict[int, dt.datetime] = {}
    for launch_id, campagne, state, count, oldest in rows:
        counts.setdefault((launch_id, campagne), {})[state] = count
        since[launch_id] = min(since.get(launch_id, as_utc(oldest)), as_utc(oldest))
    stalled = [
        Stalled(
            launch_id,
            campagne,
            by_state.get(None, 0) + by_state.get(RESERVED, 0),
            by_state.get(IN_FLIGHT, 0),
            since[launch_id],
        )
        for (launch_id, campagne), by_state in counts.items()
    ]
    return sorted(stalled, key=lambda launch: (launch.since, launch.launch_id))
