"""The contact vault: the contact directory, validated, each record encrypted under its pseudonym.

A record is the canonical JSON of its valid fields, encrypted with AES-GCM under the territory's vault key
with the pseudonym as associated data: a ciphertext moved to another household's row fails to decrypt.
Invalid values (phone numbers that are not French-valid, malformed e-mail addresses, unknown civilités)
are reported by record number and column, never by value, and are not stored at all.
The only way to read a record back is `reveal`, which requires an `Authorisation` and checks it again.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import phonenumbers
import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from privacy import audit, exchanges
from privacy.canonical import canonical_json, utc_now, utc_stamp
from privacy.directory import (
    CHANNEL_FIELDS,
    CIVILITES,
    CONTACT_COLUMNS,
    PERSONAL_FIELDS,
    PSEUDONYM_COLUMN,
    PSEUDONYM_PATTERN,
    REQUIRED_FIELDS,
)
from privacy.errors import InputInvalid, PrivacyError
from privacy.files import read_batches, scan_table
from privacy.keys import Keyring, vault_key_name
from privacy.models import ContactRecord
from privacy.phones import french_e164

_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)
_POSTCODE = re.compile(r"^\d{5}$")
_CHUNK = 500
# Records read, validated, encrypted and written at a time: memory bounded whatever the directory's size.
IMPORT_BATCH_ROWS = 5_000
# A complete directory that no longer holds more than half of the households held is almost surely a
# wrong or cut file (a month's departures are a few per cent): it erases nothing unless told to.
MASS_DELETION_SHARE = 0.5
MASS_DELETION_FLOOR = 20


@dataclass(frozen=True)
class ContactIssue:
    """A problem with one value: where it is (record number, column) and what is wrong, never the value."""

    record: int
    column: str
    problem: str


@dataclass
class ImportReport:
    """What `import_contacts` did."""

    records: int = 0
    stored: int = 0
    replaced: int = 0
    rejected: int = 0
    deleted: int = 0
    # With `replace_all`, the deletion of the absent households was not made: the file had rejected
    # records, or none, so it cannot be taken for the whole directory.
    deletion_skipped: bool = False
    dropped_columns: list[str] = field(default_factory=list)
    issues: list[ContactIssue] = field(default_factory=list)
    # Per field, the households whose stored valid value was kept, the file's one being invalid.
    kept: Counter[str] = field(default_factory=Counter)

    def issue_counts(self) -> dict[str, int]:
        """Number of invalid values per column."""
        return dict(Counter(issue.column for issue in self.issues))

    @property
    def complete(self) -> bool:
        """Whether every record of the file was stored (none rejected for its identifier)."""
        return self.rejected == 0


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _validate(record_no: int, row: dict[str, object], report: ImportReport) -> dict[str, str] | None:
    """The record's valid fields, or None when the record cannot be stored (bad pseudonym)."""
    pseudonym = _clean(row.get(PSEUDONYM_COLUMN))
    if pseudonym is None or not _PSEUDONYM.match(pseudonym):
        report.issues.append(ContactIssue(record_no, PSEUDONYM_COLUMN, "pseudonyme absent ou mal formé"))
        return None
    kept: dict[str, str] = {PSEUDONYM_COLUMN: pseudonym}
    for name in PERSONAL_FIELDS:
        value = _clean(row.get(name))
        if value is None:
            if name in REQUIRED_FIELDS:
                report.issues.append(ContactIssue(record_no, name, "valeur obligatoire absente"))
            continue
        problem: str | None = None
        if name == "civilite" and value not in CIVILITES:
            problem = "civilité inconnue (M., Mme ou vide)"
        elif name == "telephone":
            try:
                e164 = french_e164(value)
            except phonenumbers.NumberParseException:
                problem = "numéro de téléphone illisible"
            else:
                if e164 is None:
                    problem = "numéro de téléphone invalide"
                else:
                    value = e164
        elif name == "email":
            try:
                value = validate_email(value, check_deliverability=False).normalized
            except EmailNotValidError:
                problem = "adresse électronique invalide"
        elif name == "code_postal" and not _POSTCODE.match(value):
            problem = "code postal invalide (5 chiffres)"
        if problem:
            report.issues.append(ContactIssue(record_no, name, problem))
        else:
            kept[name] = value
    return kept


def _encrypt(cipher: AESGCM, pseudonym: str, values: dict[str, str]) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(12)
    return nonce, cipher.encrypt(nonce, canonical_json(values), pseudonym.encode())


@dataclass(frozen=True)
class _Held:
    """A household's record as stored before the import (still encrypted)."""

    nonce: bytes
    ciphertext: bytes
    usable: frozenset[str]


def _keep_held_values(
    cipher: AESGCM, pseudonym: str, before: _Held, values: dict[str, str], invalid: set[str]
) -> list[str]:
    """Keep in `values` the stored valid value of each field the file gives invalid (a number
    mistyped in this month's directory must not erase the good one held); the fields kept."""
    restorable = (before.usable & invalid) - set(values)
    if not restorable:
        return []
    held = json.loads(cipher.decrypt(before.nonce, before.ciphertext, pseudonym.encode()))
    kept = sorted(name for name in restorable if name in held)
    values.update({name: held[name] for name in kept})
    invalid.difference_update(kept)
    return kept


def _validated(
    batch: pl.DataFrame, report: ImportReport, seen: set[str]
) -> list[tuple[str, dict[str, str], set[str]]]:
    """The storable records of `batch` (pseudonym, valid values, fields given invalid), numbered on from
    those already read; each problem added to `report`, and each household to `seen`."""
    pending: list[tuple[str, dict[str, str], set[str]]] = []
    for row in batch.iter_rows(named=True):
        report.records += 1
        record_no = report.records
        # This record's issues are the ones `_validate` adds: looked up among all the file's issues,
        # an import took time in records × issues (hours for a department's directory).
        first_issue = len(report.issues)
        values = _validate(record_no, row, report)
        if values is None:
            report.rejected += 1
            continue
        pseudonym = values.pop(PSEUDONYM_COLUMN)
        if pseudonym in seen:
            report.issues.append(ContactIssue(record_no, PSEUDONYM_COLUMN, "foyer en double dans le fichier"))
            report.rejected += 1
            continue
        seen.add(pseudonym)
        invalid = {i.column for i in report.issues[first_issue:]}
        pending.append((pseudonym, values, invalid))
    return pending


def _store(
    session: Session,
    cipher: AESGCM,
    chunk: list[tuple[str, dict[str, str], set[str]]],
    territory: str,
    stamp: str,
    report: ImportReport,
) -> None:
    """Encrypt and write the records of `chunk` (at most `_CHUNK`), replacing those held."""
    existing = ContactRecord.pseudonym.in_([pseudonym for pseudonym, _, _ in chunk])
    held = {
        pseudonym: _Held(nonce, ciphertext, frozenset(usable))
        for pseudonym, nonce, ciphertext, usable in session.execute(
            select(
                ContactRecord.pseudonym,
                ContactRecord.nonce,
                ContactRecord.ciphertext,
                ContactRecord.usable_fields,
            ).where(existing)
        )
    }
    report.replaced += len(held)
    records = []
    for pseudonym, values, invalid in chunk:
        before = held.get(pseudonym)
        if before is not None:
            report.kept.update(_keep_held_values(cipher, pseudonym, before, values, invalid))
        nonce, ciphertext = _encrypt(cipher, pseudonym, values)
        records.append(
            ContactRecord(
                pseudonym=pseudonym,
                territory=territory,
                nonce=nonce,
                ciphertext=ciphertext,
                usable_fields=sorted(values),
                invalid_fields=sorted(invalid),
                imported_at=stamp,
            )
        )
    session.execute(delete(ContactRecord).where(existing))
    session.add_all(records)
    session.flush()


def import_contacts(
    session: Session,
    keyring: Keyring,
    source: Path | pl.DataFrame,
    *,
    territory: str,
    actor: str,
    replace_all: bool = False,
    mass_deletion: bool = False,
    now: datetime | None = None,
    batch_rows: int = IMPORT_BATCH_ROWS,
) -> ImportReport:
    """Validate a contact directory (file or frame) and store every usable record encrypted; audited.

    A field the file gives invalid keeps the household's stored valid value (`ImportReport.kept`).

    The file is read, validated, encrypted and written `batch_rows` records at a time, in the caller's
    transaction: a department's directory is never whole in memory, and a file found unreadable further
    down (`InputInvalid`) leaves the caller nothing to commit.

    With `replace_all`, the file is the whole directory: the territory's records of households absent
    from it are deleted (storage limitation). Not when the file had rejected records (a cut or broken
    file is not the whole directory: `deletion_skipped`), and not more than half of the households
    held unless `mass_deletion` (`InputInvalid`, nothing written).
    """
    moment = now or utc_now()
    where = str(source) if isinstance(source, Path) else "annuaire"
    if isinstance(source, Path):
        scan = scan_table(source)
        columns = scan.collect_schema().names()
    else:
        columns = source.columns
    if PSEUDONYM_COLUMN not in columns:
        raise InputInvalid(
            where,
            f"colonne `{PSEUDONYM_COLUMN}` absente",
            "pseudonymisez d'abord l'annuaire brut : "
            "uptake pseudonymise … --contacts FICHIER --contacts-out SORTIE",
        )
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        # An extract given for the directory would otherwise replace every household's contacts by
        # nothing.
        raise InputInvalid(
            where,
            f"colonne(s) obligatoire(s) de l'annuaire absente(s) : {', '.join(missing)}",
            "donnez l'annuaire des contacts (id_foyer, nom, prenom, puis telephone, email, adresse…), "
            "pas l'extrait des foyers",
        )
    report = ImportReport(dropped_columns=sorted(set(columns) - set(CONTACT_COLUMNS)))
    kept_columns = [c for c in CONTACT_COLUMNS if c in columns]
    batches = (
        read_batches(scan.select(kept_columns), source, batch_rows)
        if isinstance(source, Path)
        else source.select(kept_columns).iter_slices(batch_rows)
    )
    cipher = AESGCM(keyring.secret(vault_key_name(territory)))
    stamp = utc_stamp(moment)
    # Every pseudonym of the file: a household twice is rejected wherever its lines are, and
    # `replace_all` deletes those absent. A few dozen megabytes for a department, not its records.
    seen: set[str] = set()
    for batch in batches:
        pending = _validated(batch, report, seen)
        for start in range(0, len(pending), _CHUNK):
            _store(session, cipher, pending[start : start + _CHUNK], territory, stamp, report)
        report.stored += len(pending)
    if replace_all and (not report.complete or not report.records):
        # A broken file, or a header alone, is not the whole directory.
        report.deletion_skipped = True
    elif replace_all:
        held_names = list(
            session.scalars(select(ContactRecord.pseudonym).where(ContactRecord.territory == territory))
        )
        stale = [name for name in held_names if name not in seen]
        if (
            not mass_deletion
            and len(stale) > MASS_DELETION_FLOOR
            and len(stale) > MASS_DELETION_SHARE * len(held_names)
        ):
            raise InputInvalid(
                where,
                f"ce fichier pris pour l'annuaire complet effacerait {len(stale)} des {len(held_names)} "
                "foyers du coffre ; rien n'a été importé",
                "vérifiez que c'est bien l'annuaire complet et entier du mois ; si ces foyers sont "
                "vraiment sortis, relancez avec --effacement-massif",
            )
        for start in range(0, len(stale), _CHUNK):
            session.execute(
                delete(ContactRecord).where(ContactRecord.pseudonym.in_(stale[start : start + _CHUNK]))
            )
        report.deleted = len(stale)
    audit.append(
        session,
        actor=actor,
        action="annuaire.import",
        object_ref=f"territoire:{territory}",
        counts={
            "enregistrements": report.records,
            "stockes": report.stored,
            "remplaces": report.replaced,
            "rejetes": report.rejected,
            "supprimes": report.deleted,
            "valeurs_invalides": report.issue_counts(),
        },
        details={"colonnes_ignorees": report.dropped_columns},
        keyring=keyring,
    )
    return report


def reveal(
    session: Session,
    keyring: Keyring,
    authorisation: exchanges.Authorisation,
    pseudonyms: Iterable[str],
    fields: Collection[str],
    *,
    actor: str = "uptake",
    now: datetime | None = None,
) -> dict[str, dict[str, str | None]]:
    """Decrypt `fields` of the households `pseudonyms` for an approved exchange; audited.

    The authorisation is checked again (approval, expiry, fields, signature) before anything is
    decrypted. Households absent from the vault are absent from the result; a field the household
    has no valid value for is None.
    """
    moment = now or utc_now()
    wanted = list(dict.fromkeys(fields))
    exchanges.recheck(session, keyring, authorisation, wanted, now=moment)
    names = list(dict.fromkeys(pseudonyms))
    result: dict[str, dict[str, str | None]] = {
        pseudonym: {name: values.get(name) for name in wanted}
        for pseudonym, values in _decrypted(session, keyring, names)
    }
    audit.append(
        session,
        actor=actor,
        action="annuaire.dechiffrement",
        object_ref=f"echange:{authorisation.exchange_id}",
        counts={"demandes": len(names), "trouves": len(result)},
        details={"champs": wanted},
    )
    return result


def _decrypted(session: Session, keyring: Keyring, names: list[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each household of `names` present in the vault, with its decrypted values (callers audit)."""
    ciphers: dict[str, AESGCM] = {}
    for start in range(0, len(names), _CHUNK):
        query = select(ContactRecord).where(ContactRecord.pseudonym.in_(names[start : start + _CHUNK]))
        for record in session.scalars(query):
            cipher = ciphers.get(record.territory)
            if cipher is None:
                cipher = ciphers[record.territory] = AESGCM(keyring.load(vault_key_name(record.territory)))
            try:
                plain = cipher.decrypt(record.nonce, record.ciphertext, record.pseudonym.encode())
            except InvalidTag:
                raise PrivacyError(
                    f"enregistrement du coffre altéré pour le foyer {record.pseudonym} : déchiffrement refusé"
                ) from None
            yield record.pseudonym, json.loads(plain)


def households_with(
    session: Session,
    keyring: Keyring,
    candidates: Iterable[str],
    field: str,
    values: Collection[str],
    *,
    purpose: str,
    actor: str,
) -> dict[str, set[str]]:
    """Which of the `candidates` households have each of `values` as their `field` in the vault
    (a telephone in E.164, an e-mail address, compared without case); audited.

    For a « STOP » reply (an objection, GDPR art. 21) or a bounced address (accuracy, art. 5-1-d):
    only the candidates' records are decrypted (the households that were sent a message on that
    channel), in memory, and nothing is revealed but the match; the audit log keeps the field, the
    purpose and the counts, never a value.
    """
    wanted = {value.casefold(): value for value in values}
    found: dict[str, set[str]] = {}
    names = list(dict.fromkeys(candidates))
    for pseudonym, record in _decrypted(session, keyring, names):
        held = record.get(field)
        if held is not None and held.casefold() in wanted:
            found.setdefault(wanted[held.casefold()], set()).add(pseudonym)
    audit.append(
        session,
        actor=actor,
        action="annuaire.rapprochement",
        object_ref="annuaire",
        counts={"foyers_examines": len(names), "valeurs": len(wanted), "valeurs_trouvees": len(found)},
        details={"champ": field, "finalite": purpose},
    )
    return found


def mark_unusable(
    session: Session,
    pseudonym: str,
    fields: Collection[str],
    *,
    reason: str,
    actor: str,
) -> bool:
    """Stop using `fields` of a household's record (a letter came back: its address is wrong); audited.

    The values stay encrypted as they were; the next import of the directory decides afresh. Returns
    whether the household has a record in the vault.
    """
    record = session.get(ContactRecord, pseudonym)
    if record is None:
        return False
    record.usable_fields = [f for f in record.usable_fields if f not in fields]
    record.invalid_fields = sorted(set(record.invalid_fields) | set(fields))
    audit.append(
        session,
        actor=actor,
        action="annuaire.coordonnee_inutilisable",
        object_ref=pseudonym,
        details={"champs": sorted(fields), "motif": reason},
    )
    return True


def usable_channels(session: Session, territory: str | None = None) -> pl.DataFrame:
    """Per household, which contact channels have a valid value (`canal_sms`...), read without decrypting."""
    query = select(ContactRecord.pseudonym, ContactRecord.usable_fields)
    if territory is not None:
        query = query.where(ContactRecord.territory == territory)
    rows = session.execute(query).all()
    data: dict[str, list[object]] = {PSEUDONYM_COLUMN: [r[0] for r in rows]}
    for channel, needed in CHANNEL_FIELDS.items():
        data[f"canal_{channel}"] = [all(n in r[1] for n in needed) for r in rows]
    schema = {PSEUDONYM_COLUMN: pl.String, **{f"canal_{c}": pl.Boolean for c in CHANNEL_FIELDS}}
    return pl.DataFrame(data, schema=schema)
