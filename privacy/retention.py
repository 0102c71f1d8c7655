"""Personal outputs and their retention: the ONE way to write a file holding personal data, and the purge.

`write_personal_output` refuses unless an approved exchange covers every personal field of the content,
writes the file for the recipient, keeps an encrypted copy under a per-batch key (in the keyring),
records the retention end (at most the exchange's retention, itself at most 12 months) and appends an
audit entry with the file's SHA-256. `purge` deletes expired files and their encrypted copies and
destroys their per-batch keys (crypto-shredding: a copy that escaped, e.g. in a backup of the data
folder, can no longer be decrypted), drops exchange traces after 36 months and oppositions after their
retention, and records what it did in the audit log. Outcomes, held by other packages, are pseudonymised
and stay.
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import io
import os
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from privacy import audit, exchanges
from privacy.canonical import caf_day, caf_midnight, caf_stamp_day, utc_now, utc_stamp
from privacy.datafolder import folder_name, own_file
from privacy.directory import PERSONAL_FIELDS, PSEUDONYM_COLUMN
from privacy.errors import DecisionInvalid, ExchangeRefused, PrivacyError, UnknownObject
from privacy.keys import Keyring
from privacy.models import Exchange, Opposition, OutputHousehold, PersonalOutput
from privacy.spreadsheet import inert_frame

EXCHANGE_TRACE_MONTHS = 36  # R.114-9-7 CRPA: traces of exchanges are kept 36 months
# CNIL recommendation 2021-122: logs kept 6 months to 1 year by default. The exchanges themselves
# (privacy_exchange, and who was on which list) are kept their own 36 months.
AUDIT_LOG_MONTHS = 12


def add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months (clamped to the end of shorter months)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def kept_since(now: datetime, months: int) -> datetime:
    """The moment (midnight in France, `months` calendar months before the day of `now`, in UTC as
    moments are stored) before which what was made is past a retention of `months` months."""
    return caf_midnight(add_months(caf_day(now), -months))


def first_day_past(day: date, months: int) -> date:
    """The first day whose date `months` months earlier is after `day`: when a purge keeping
    `months` months first removes what was made on `day`.

    Not simply `add_months(day, months)` plus one: clamping to month ends makes that day map back to
    `day` itself (made on 30 November, six months later is 30 May, and 31 May goes back to 30
    November), so the day is searched forward, a few days at most.
    """
    candidate = add_months(day, months) + timedelta(days=1)
    while add_months(candidate, -months) <= day:
        candidate += timedelta(days=1)
    return candidate


@dataclass(frozen=True)
class WrittenOutput:
    """A personal output as recorded: its id, where it is, its hash and until when it is kept."""

    id: str
    path: Path
    sha256: str
    fields: tuple[str, ...]
    rows: int | None
    retention_until: date


def outputs_dir(keyring_home: Path) -> Path:
    """Where the encrypted copies of personal outputs are kept (beside the keys, in the data folder)."""
    return keyring_home / "sorties-chiffrees"


def _data_folder(keyring: Keyring) -> Path:
    """The data folder at work: the one holding the keyring."""
    return keyring.keys_dir.parent


def _serialise(content: pl.DataFrame | bytes | str, path: Path) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    buffer = io.BytesIO()
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        content.write_parquet(buffer)
    elif suffix == ".json":
        content.write_json(buffer)
    else:
        inert_frame(content).write_csv(buffer, separator=";" if suffix == ".csv" else ",")
    return buffer.getvalue()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def write_personal_output(
    session: Session,
    keyring: Keyring,
    authorisation: exchanges.Authorisation,
    path: Path,
    content: pl.DataFrame | bytes | str,
    *,
    actor: str,
    label: str,
    fields: Collection[str] | None = None,
    households: Collection[str] | None = None,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> WrittenOutput:
    """Write a file holding personal data for an approved exchange; refused (nothing written) otherwise.

    For a frame, the personal fields are its columns named in the contact directory contract (plus
    `fields`); for bytes or text (letters, e-mails), `fields` must name the personal fields it holds.
    A frame is written as CSV with `;` (`.csv`), Parquet (`.parquet`) or JSON (`.json`).
    The households it concerns (`households`, plus a frame's `id_foyer` column) are recorded, so that an
    access request shows which lists a household was on.
    """
    moment = now or utc_now()
    if isinstance(content, pl.DataFrame):
        personal = {c for c in content.columns if c in PERSONAL_FIELDS} | set(fields or ())
        rows: int | None = content.height
        if PSEUDONYM_COLUMN in content.columns:
            households = [*(households or ()), *content.get_column(PSEUDONYM_COLUMN).drop_nulls().to_list()]
    else:
        if fields is None:
            raise PrivacyError(
                "sortie sans liste de champs personnels : précisez `fields` pour un contenu texte ou binaire"
            )
        personal, rows = set(fields), None
    granted = exchanges.recheck(session, keyring, authorisation, sorted(personal), now=moment)
    days = min(retention_days or granted.retention_days, granted.retention_days, exchanges.MAX_RETENTION_DAYS)
    data = _serialise(content, path)
    output_id = uuid.uuid4().hex
    key_name = f"sortie-{output_id}"
    encrypted_path = outputs_dir(_data_folder(keyring)) / f"{output_id}.bin"
    digest = hashlib.sha256(data).hexdigest()
    try:
        batch_key = secrets.token_bytes(32)
        keyring.store(key_name, batch_key)
        nonce = secrets.token_bytes(12)
        _write_private(encrypted_path, nonce + AESGCM(batch_key).encrypt(nonce, data, output_id.encode()))
        _write_private(path, data)
        record = PersonalOutput(
            id=output_id,
            exchange_id=granted.exchange_id,
            label=label,
            path=str(path.resolve()),
            encrypted_path=str(encrypted_path.absolute()),
            data_folder=folder_name(_data_folder(keyring)),
            key_name=key_name,
            sha256=digest,
            fields=sorted(personal),
            rows=rows,
            created_at=utc_stamp(moment),
            retention_until=caf_day(moment) + timedelta(days=days),
        )
        session.add(record)
        session.add_all(
            OutputHousehold(output_id=output_id, pseudonym=p) for p in dict.fromkeys(households or ())
        )
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="sortie.ecriture",
            object_ref=f"sortie:{output_id}",
            counts={"lignes": rows, "foyers": len(set(households or ()))},
            output_sha256=digest,
            details={
                "echange": granted.exchange_id,
                "libelle": label,
                "champs": sorted(personal),
                "conservation_jusqu_au": record.retention_until.isoformat(),
            },
            keyring=keyring,
        )
    except BaseException:
        _discard(keyring, key_name, path, encrypted_path)
        raise
    _discard_on_rollback(session, keyring, key_name, path, encrypted_path)
    return WrittenOutput(output_id, path, digest, tuple(sorted(personal)), rows, record.retention_until)


def _discard(keyring: Keyring, key_name: str, *paths: Path) -> None:
    """Remove an unrecorded output: its key first (the copy is then unreadable whatever happens to the
    files), then each file even when another cannot be (a path whose folder is a file was never written)."""
    keyring.destroy(key_name)
    for target in reversed(paths):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            target.unlink()


_PENDING = "privacy_pending_outputs"


def _discard_on_rollback(session: Session, keyring: Keyring, key_name: str, *paths: Path) -> None:
    """If the caller's transaction rolls back, the output has no record: remove its files and its key."""
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []

        def on_rollback(_session: Session) -> None:
            for args in pending:
                _discard(*args)
            pending.clear()

        event.listen(session, "after_rollback", on_rollback)
        event.listen(session, "after_commit", lambda _session: pending.clear())
    pending.append((keyring, key_name, *paths))


def read_output(
    session: Session,
    keyring: Keyring,
    authorisation: exchanges.Authorisation,
    output_id: str,
    *,
    now: datetime | None = None,
) -> bytes:
    """The content of a personal output, decrypted from its copy, for its (still valid) exchange."""
    record = session.get(PersonalOutput, output_id)
    if record is None:
        raise UnknownObject("sortie", output_id)
    if record.exchange_id != authorisation.exchange_id:
        raise ExchangeRefused(authorisation.exchange_id, ["cette sortie relève d'un autre échange"])
    exchanges.recheck(session, keyring, authorisation, record.fields, now=now or utc_now())
    if record.purged_at:
        raise PrivacyError(
            f"la sortie {output_id} a été purgée le {caf_stamp_day(record.purged_at)} : elle n'existe plus"
        )
    copy = own_file(record.encrypted_path, record.data_folder, _data_folder(keyring))
    if copy is None:  # never: the copy is written inside the data folder
        raise PrivacyError(f"la copie chiffrée de la sortie {output_id} est hors du dossier de données")
    blob = copy.read_bytes()
    return decrypt_copy(keyring, record.key_name, output_id, blob)


def decrypt_copy(keyring: Keyring, key_name: str, output_id: str, blob: bytes) -> bytes:
    """Decrypt an encrypted copy with its batch key (`KeyringError` once the key is destroyed)."""
    key = keyring.load(key_name)
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], output_id.encode())
    except InvalidTag:
        raise PrivacyError(f"copie chiffrée de la sortie {output_id} altérée") from None


@dataclass(frozen=True)
class OutputPurge:
    """What purging one output did to its files and its key."""

    files_deleted: int
    keys_destroyed: int
    # Files another data folder wrote outside itself (this folder is a copy of it, or was moved):
    # not this folder's to delete.
    files_left: tuple[str, ...]


def _purge_output(
    session: Session, keyring: Keyring, record: PersonalOutput, *, actor: str, now: datetime, why: str = ""
) -> OutputPurge:
    """Delete one output's files and destroy its key; audited."""
    files, left = 0, []
    for name in (record.path, record.encrypted_path):
        target = own_file(name, record.data_folder, _data_folder(keyring))
        if target is None:
            left.append(name)
        elif target.exists():
            target.unlink()
            files += 1
    keys = keyring.destroy(record.key_name)
    record.purged_at = utc_stamp(now)
    details: dict[str, object] = {
        "echange": record.exchange_id,
        "conservation_jusqu_au": record.retention_until.isoformat(),
    }
    if why:
        details["motif"] = why
    if left:
        details["fichiers_laisses"] = left
        details["ecrits_depuis"] = record.data_folder
    audit.append(
        session,
        actor=actor,
        action="purge.sortie",
        object_ref=f"sortie:{record.id}",
        output_sha256=record.sha256,
        details=details,
    )
    return OutputPurge(files, keys, tuple(left))


def held_outputs(session: Session, exchange_id: int) -> list[PersonalOutput]:
    """The outputs written for `exchange_id` and not purged yet (oldest first)."""
    return list(
        session.scalars(
            select(PersonalOutput)
            .where(PersonalOutput.exchange_id == exchange_id, PersonalOutput.purged_at.is_(None))
            .order_by(PersonalOutput.created_at)
        )
    )


def outputs_holding(session: Session, pseudonym: str) -> list[PersonalOutput]:
    """The outputs not purged yet that hold the household `pseudonym` (oldest first)."""
    return list(
        session.scalars(
            select(PersonalOutput)
            .where(
                PersonalOutput.id.in_(
                    select(OutputHousehold.output_id).where(OutputHousehold.pseudonym == pseudonym)
                ),
                PersonalOutput.purged_at.is_(None),
            )
            .order_by(PersonalOutput.created_at)
        )
    )


def already_listed_notice(outputs: Sequence[PersonalOutput]) -> str | None:
    """What to tell whoever records an objection for a household already on lists produced before:
    uptake leaves out an opposed household from everything it produces or sends from then on, but a
    file already handed over (SMS provider, printed letters, a call list saved elsewhere) does not
    change by itself. None when it is on no list still kept."""
    if not outputs:
        return None
    named = ", ".join(
        f"{Path(output.path).name} (échange n°{output.exchange_id}, {caf_stamp_day(output.created_at)})"
        for output in outputs
    )
    return (
        f"Ce foyer figure déjà dans {len(outputs)} fichier(s) produit(s) avant son opposition et encore "
        f"conservé(s) : {named}. uptake l'exclut de tout ce qu'il produit ou envoie désormais (listes, "
        "relances, courriels, liste d'appels de l'application), mais ces fichiers ne changent pas : "
        "prévenez ceux à qui ils ont été remis de ne plus le contacter."
    )


def held_counts(session: Session) -> dict[int, int]:
    """How many outputs not purged yet each exchange has (exchanges with none are absent)."""
    counted = session.execute(
        select(PersonalOutput.exchange_id, func.count())
        .where(PersonalOutput.purged_at.is_(None))
        .group_by(PersonalOutput.exchange_id)
    )
    return {exchange_id: count for exchange_id, count in counted}


def _early_purge_reason(exchange: Exchange, today: date) -> str:
    """Why the outputs of `exchange` may be destroyed before their retention end, or `DecisionInvalid`.

    An approval that no longer holds, revoked or expired, is the DPO's to close; one still in force is
    revoked first, so that no new list is produced under it once its outputs are gone.
    """
    if exchange.status == exchanges.REVOKED:
        return "échange révoqué"
    if exchange.status == exchanges.APPROVED and exchange.expires_on < today:
        return "approbation expirée"
    if exchange.status == exchanges.APPROVED:
        raise DecisionInvalid(
            f"l'approbation de l'échange n°{exchange.id} est encore valide "
            f"(jusqu'au {exchange.expires_on:%d/%m/%Y})",
            f"révoquez-la d'abord (uptake exchanges revoke {exchange.id} --dpo … --motif … "
            "--purger-sorties) ; sinon ses sorties sont purgées à la fin de leur durée de conservation",
        )
    raise DecisionInvalid(
        f"l'échange n°{exchange.id} n'est ni révoqué ni expiré "
        f"(statut : {exchanges.STATUS_LABELS.get(exchange.status, exchange.status)})",
        "seules les sorties d'un échange révoqué ou dont l'approbation a expiré se purgent par avance",
    )


@dataclass(frozen=True)
class ExchangeOutputsPurge:
    """What purging the outputs of one exchange did."""

    outputs: int
    files_deleted: int
    files_left: tuple[str, ...]  # another data folder's files (`OutputPurge.files_left`)


def purge_exchange_outputs(
    session: Session, keyring: Keyring, exchange_id: int, *, actor: str, now: datetime | None = None
) -> ExchangeOutputsPurge:
    """Purge now every output still held for a revoked or expired exchange, whatever its retention end.

    Each output is audited as a purge with its reason. An exchange whose approval is still in force
    is refused: revoke it first.
    """
    moment = now or utc_now()
    why = _early_purge_reason(exchanges.get(session, exchange_id), caf_day(moment))
    records = held_outputs(session, exchange_id)
    done = [_purge_output(session, keyring, record, actor=actor, now=moment, why=why) for record in records]
    return ExchangeOutputsPurge(
        len(records),
        sum(one.files_deleted for one in done),
        tuple(name for one in done for name in one.files_left),
    )


@dataclass(frozen=True)
class PurgeReport:
    """What one purge removed."""

    outputs: int
    files_deleted: int
    keys_destroyed: int
    files_left: tuple[str, ...]  # another data folder's files (`OutputPurge.files_left`)
    exchanges: int
    oppositions: int
    audit_entries: int | None  # None: the log failed verification and was left untouched


def purge(
    session: Session,
    keyring: Keyring,
    *,
    actor: str,
    audit_months: int = AUDIT_LOG_MONTHS,
    now: datetime | None = None,
) -> PurgeReport:
    """Delete expired outputs and destroy their keys, drop old exchange traces, oppositions and log entries.

    Audited. Safe to call from a scheduled job: it only touches what is past its retention end. The
    audit log is pruned only when it verifies (an altered log is evidence); the rest is purged anyway.
    """
    moment = now or utc_now()
    today = caf_day(moment)
    expired = list(
        session.scalars(
            select(PersonalOutput).where(
                PersonalOutput.purged_at.is_(None), PersonalOutput.retention_until < today
            )
        )
    )
    done = [_purge_output(session, keyring, record, actor=actor, now=moment) for record in expired]
    trace_limit = add_months(today, -EXCHANGE_TRACE_MONTHS)
    old_exchanges = list(session.scalars(select(Exchange.id).where(Exchange.expires_on < trace_limit)))
    if old_exchanges:
        session.execute(delete(Exchange).where(Exchange.id.in_(old_exchanges)))
    old_outputs = select(PersonalOutput.id).where(
        PersonalOutput.created_at < utc_stamp(caf_midnight(trace_limit))
    )
    session.execute(delete(OutputHousehold).where(OutputHousehold.output_id.in_(old_outputs)))
    old_oppositions = len(session.scalars(select(Opposition.id).where(Opposition.expires_on < today)).all())
    if old_oppositions:
        session.execute(delete(Opposition).where(Opposition.expires_on < today))
    pruned: int | None = None
    if audit.verify(session, keyring.public_key()).ok:
        pruned = audit.prune(
            session,
            keyring,
            before=caf_midnight(add_months(today, -audit_months)),
            actor=actor,
        )
    report = PurgeReport(
        len(expired),
        sum(one.files_deleted for one in done),
        sum(one.keys_destroyed for one in done),
        tuple(name for one in done for name in one.files_left),
        len(old_exchanges),
        old_oppositions,
        pruned,
    )
    audit.append(
        session,
        actor=actor,
        action="purge",
        counts={
            "sorties": report.outputs,
            "fichiers_supprimes": report.files_deleted,
            "fichiers_laisses": len(report.files_left),
            "cles_detruites": report.keys_destroyed,
            "echanges": report.exchanges,
            "oppositions": report.oppositions,
            "entrees_journal": report.audit_entries,
        },
        details={"echanges_supprimes": old_exchanges},
    )
    if pruned is None:
        # The log failed its verification: it is evidence, and signing its end now would endorse the
        # entries found wrong. What this transaction appended stays unsigned with them.
        audit.leave_unsigned(session)
    else:
        audit.checkpoint(session, keyring)  # a scheduled purge leaves the log's end signed
    return report
