"""The tamper-evident audit log: a hash chain of entries with Ed25519-signed checkpoints.

Each entry's hash is the SHA-256 of a canonical JSON of its content (time, actor, action, object,
counts, output hash, details) and of the previous entry's hash. The sequence number is deliberately
NOT inside the hash: the order of the log is the chain of `prev_hash` links, and the sequence
number is only where a row claims to be, so that a moved, inserted or renumbered row shows up as a
broken link that can be told apart from an edited row (whose own hash no longer matches).

A checkpoint signs "`seq` entries, the last one hashing to `entry_hash`". It detects what the chain
alone cannot: a truncation of the log's tail, and a chain rewritten from some entry on (hashes
recomputed) — the rewritten entry no longer matches the signed hash. Entries appended after the last
checkpoint can only be protected by the next one, so every transaction that appended to the log
signs its end before it commits, on an engine registered with `seal_commits` (the CLI, the web
application and the scheduler all are): no front door can leave an unsigned tail behind. Entries that
no checkpoint attests were therefore written around uptake (or rewritten after their checkpoints were
deleted): `verify` reports them, and a later commit never signs over them. Only the DPO, having reviewed
them, signs over them (`attest`), and only in a log whose chain and signatures otherwise hold.

Appends are serialised by updating the single row of `privacy_audit_lock` first: on PostgreSQL the
row lock makes concurrent writers wait for each other's commit; on SQLite the update takes the
database write lock (the driver opens the transaction at the first write, so no stale snapshot is
held) and other writers wait on the busy timeout.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine, delete, event, func, select, text, update
from sqlalchemy.orm import Session

from privacy import keyuse
from privacy.canonical import canonical_json, utc_now, utc_stamp
from privacy.errors import PrivacyError
from privacy.keys import Keyring, fingerprint
from privacy.models import AuditCheckpoint, AuditEntry, AuditLock

GENESIS = "0" * 64
CHECKPOINT_EVERY = 100
POINT, ANCHOR = "point", "ancre"

# Set on a session by `append`: its transaction has entries to sign before it commits.
_UNSIGNED = "audit_unsigned"
# The keyring that signs the transactions of each registered engine (opened only when needed).
_SEALERS: weakref.WeakKeyDictionary[Engine, Callable[[], Keyring]] = weakref.WeakKeyDictionary()

ProblemKind = Literal[
    "modifiee",
    "supprimee",
    "inseree",
    "reordonnee",
    "tronquee",
    "signature",
    "reecrite",
    "autre_cle",
    "non_signee",
]


def _entry_hash(
    *,
    at: str,
    actor: str,
    action: str,
    object_ref: str | None,
    counts: str | None,
    output_sha256: str | None,
    details: str | None,
    prev_hash: str,
) -> str:
    body = {
        "action": action,
        "actor": actor,
        "at": at,
        "counts": counts,
        "details": details,
        "object_ref": object_ref,
        "output_sha256": output_sha256,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    """The hash that `entry` should carry given its content and its `prev_hash`."""
    return _entry_hash(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        object_ref=entry.object_ref,
        counts=entry.counts,
        output_sha256=entry.output_sha256,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )


def _checkpoint_message(seq: int, entry_hash: str, signed_at: str, kind: str) -> bytes:
    # An anchor is a different statement ("everything before was removed on purpose"): its own type,
    # so that a periodic checkpoint can never pass for one.
    kind_type = "uptake-audit" if kind == POINT else f"uptake-audit-{kind}"
    return canonical_json({"entry_hash": entry_hash, "seq": seq, "signed_at": signed_at, "type": kind_type})


def _signed(point: AuditCheckpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(
            bytes.fromhex(point.signature),
            _checkpoint_message(point.seq, point.entry_hash, point.signed_at, point.kind),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_ref: str | None = None,
    counts: dict[str, Any] | None = None,
    output_sha256: str | None = None,
    details: dict[str, Any] | None = None,
    keyring: Keyring | None = None,
) -> AuditEntry:
    """Append one entry (in the caller's transaction) and return it.

    `object_ref` and `details` must hold pseudonyms, ids and counts only, never names, numbers or
    addresses. With `keyring`, a signed checkpoint is added every `CHECKPOINT_EVERY` entries.
    The entry is stamped with the clock at the time of writing, never with a moment the caller
    chooses: the log says when each processing was recorded, in the order it was, and an import of
    events dated otherwise (last week's outcomes, a simulated month) keeps their dates in its own
    tables.
    """
    session.execute(update(AuditLock).where(AuditLock.id == 1).values(appends=AuditLock.appends + 1))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    fields: dict[str, Any] = {
        "at": utc_stamp(utc_now()),
        "actor": actor,
        "action": action,
        "object_ref": object_ref,
        "counts": None if counts is None else json.dumps(counts, sort_keys=True, ensure_ascii=False),
        "output_sha256": output_sha256,
        "details": None if details is None else json.dumps(details, sort_keys=True, ensure_ascii=False),
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(seq=seq, hash=_entry_hash(**fields), **fields)
    session.add(entry)
    session.flush()
    session.info.setdefault(_UNSIGNED, seq)  # the first entry this transaction appended
    if keyring is not None and seq % CHECKPOINT_EVERY == 0:
        _sign(session, keyring, seq, entry.hash)
    return entry


def _sign(
    session: Session, keyring: Keyring, seq: int, entry_hash: str, kind: str = POINT
) -> AuditCheckpoint:
    signed_at = utc_stamp(utc_now())
    key = keyring.signing_key()
    checkpoint = AuditCheckpoint(
        seq=seq,
        entry_hash=entry_hash,
        signed_at=signed_at,
        key_fingerprint=fingerprint(key.public_key()),
        signature=key.sign(_checkpoint_message(seq, entry_hash, signed_at, kind)).hex(),
        kind=kind,
    )
    session.add(checkpoint)
    # The signing key's fingerprint, when first met, is recorded with the first checkpoint it signs.
    keyuse.write_met(session)
    session.flush()
    return checkpoint


def checkpoint(session: Session, keyring: Keyring) -> AuditCheckpoint | None:
    """Sign the current end of the log (nothing to do when it is empty or already signed)."""
    session.execute(update(AuditLock).where(AuditLock.id == 1).values(appends=AuditLock.appends + 1))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    if last is None:
        return None
    signed = session.execute(
        select(AuditCheckpoint.id).where(
            AuditCheckpoint.seq == last[0], AuditCheckpoint.entry_hash == last[1]
        )
    ).first()
    if signed is not None:
        return None
    return _sign(session, keyring, last[0], last[1])


def seal_commits(engine: Engine, keyring: Callable[[], Keyring]) -> None:
    """Have every session transaction on `engine` that appended to the log sign its end before it
    commits, with the keyring `keyring()` returns (called at the first such commit)."""
    _SEALERS[engine] = keyring


def leave_unsigned(session: Session) -> None:
    """Do not sign what this transaction appended (a verification that found the log broken must
    never endorse it)."""
    session.info.pop(_UNSIGNED, None)


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    own_from = session.info.pop(_UNSIGNED, None)
    if own_from is None:
        return
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    sealer = _SEALERS.get(engine)
    # Entries before this transaction's that no checkpoint attests were written around uptake (or
    # left unsigned by a verification that found the log broken): signing the end now would endorse
    # them, so they stay unsigned, and so does the rest, until the DPO reviews and attests them.
    signed_up_to = session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
    if sealer is not None and signed_up_to >= own_from - 1:
        checkpoint(session, sealer())


@dataclass(frozen=True)
class AuditProblem:
    """The first thing found wrong in the log: its kind, the entry number, a French explanation."""

    kind: ProblemKind
    seq: int
    message: str


@dataclass(frozen=True)
class AuditVerification:
    """Result of `verify`: `ok` when the chain and every checkpoint signature hold."""

    entries: int
    checkpoints: int
    problem: AuditProblem | None

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return self.problem is None


def _chain_problem(rows: list[AuditEntry], anchor: AuditCheckpoint | None) -> AuditProblem | None:
    position_of_hash = {row.hash: index for index, row in enumerate(rows)}
    previous_hash, previous_seq = (anchor.entry_hash, anchor.seq) if anchor else (GENESIS, 0)
    for index, row in enumerate(rows):
        if hash_of(row) != row.hash:
            return AuditProblem(
                "modifiee", row.seq, f"l'entrée n°{row.seq} a été modifiée (son empreinte ne correspond plus)"
            )
        if row.prev_hash != previous_hash:
            target = position_of_hash.get(row.prev_hash)
            if target is not None and target > index:
                return AuditProblem(
                    "reordonnee",
                    row.seq,
                    f"l'entrée n°{row.seq} a été déplacée : l'ordre du journal a été modifié",
                )
            if target is not None and target < index - 1:
                first = rows[target + 1].seq
                return AuditProblem("inseree", first, f"l'entrée n°{first} a été insérée dans le journal")
            if row.prev_hash == GENESIS and index > 0:
                return AuditProblem(
                    "inseree", rows[0].seq, f"l'entrée n°{rows[0].seq} a été insérée en tête du journal"
                )
            if row.seq != previous_seq + 1:
                missing = previous_seq + 1
                return AuditProblem("supprimee", missing, f"l'entrée n°{missing} a été supprimée")
            return AuditProblem(
                "modifiee",
                previous_seq,
                f"la chaîne est rompue entre les entrées n°{previous_seq} et n°{row.seq} : l'entrée "
                f"n°{previous_seq} a été modifiée (empreinte recalculée) ou une entrée a été supprimée",
            )
        if row.seq != previous_seq + 1:
            return AuditProblem(
                "supprimee", previous_seq + 1, f"le numéro d'entrée n°{previous_seq + 1} manque"
            )
        previous_hash, previous_seq = row.hash, row.seq
    return None


def _checkpoint_problem(
    rows: list[AuditEntry],
    checkpoints: list[AuditCheckpoint],
    public_key: Ed25519PublicKey,
    anchor: AuditCheckpoint | None,
    own_from: int | None,
) -> AuditProblem | None:
    by_seq = {row.seq: row for row in rows}
    last_seq = rows[-1].seq if rows else 0
    expected_print = fingerprint(public_key)
    last_good = anchor.seq if anchor else 0
    for point in checkpoints:
        if not _signed(point, public_key):
            other = "" if point.key_fingerprint == expected_print else f" (clé {point.key_fingerprint})"
            return AuditProblem(
                "signature",
                point.seq,
                f"le point de contrôle de l'entrée n°{point.seq} n'est pas signé par la clé du DPO{other} : "
                "journal re-signé ou point de contrôle falsifié",
            )
        if point.seq > last_seq:
            return AuditProblem(
                "tronquee",
                last_seq + 1,
                f"le journal a été tronqué : les entrées n°{last_seq + 1} à n°{point.seq}, attestées par "
                "un point de contrôle signé, manquent",
            )
        if point.seq <= last_good and point.kind == ANCHOR:
            continue  # the entries it attests were pruned on purpose
        row = by_seq.get(point.seq)
        if row is None or row.hash != point.entry_hash:
            return AuditProblem(
                "reecrite",
                last_good + 1,
                f"le journal a été réécrit entre les entrées n°{last_good + 1} et n°{point.seq} : l'entrée "
                f"n°{point.seq} ne correspond plus au point de contrôle signé",
            )
        last_good = point.seq
    # Every transaction that appends signs its end before it commits: entries that no signed
    # checkpoint attests were written around uptake, or rewritten with their checkpoints deleted (the
    # chain alone can be recomputed by anyone able to write to the database). Those the verifying
    # transaction appended itself are signed at its commit.
    unsigned_end = last_seq if own_from is None else min(last_seq, own_from - 1)
    if unsigned_end > last_good:
        return AuditProblem(
            "non_signee",
            last_good + 1,
            f"les entrées n°{last_good + 1} à n°{unsigned_end} ne sont attestées par aucun point de "
            "contrôle signé : écrites hors d'uptake, ou journal réécrit après suppression de ses points "
            "de contrôle",
        )
    return None


def _foreign_key_problem(
    rows: list[AuditEntry], checkpoints: list[AuditCheckpoint], public_key: Ed25519PublicKey
) -> AuditProblem | None:
    # Not one checkpoint verifies: the key given is not the one that signed this log (another file,
    # or the log re-signed whole after the key was replaced). Said apart from tampering, which a DPO
    # must not be told about when the mistake is only in the key they gave.
    if not checkpoints or any(_signed(point, public_key) for point in checkpoints):
        return None
    claimed = ", ".join(sorted({point.key_fingerprint for point in checkpoints}))
    return AuditProblem(
        "autre_cle",
        rows[0].seq if rows else 0,
        f"aucun des {len(checkpoints)} point(s) de contrôle du journal n'est signé par la clé "
        f"{fingerprint(public_key)} : ce n'est pas la clé qui a signé ce journal (mauvaise clé, ou clé "
        f"remplacée et journal re-signé) ; les points de contrôle annoncent la clé {claimed}",
    )


def verify(session_or_engine: Session | Engine, public_key: Ed25519PublicKey) -> AuditVerification:
    """Check the chain, then every checkpoint signature and what it attests; report the first problem.

    When no checkpoint at all verifies with `public_key`, the problem is `autre_cle` (this key did not
    sign this log), told apart from a log altered after it was signed.
    """
    if isinstance(session_or_engine, Engine):
        with Session(session_or_engine) as session:
            return verify(session, public_key)
    session = session_or_engine
    rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    checkpoints = list(
        session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq, AuditCheckpoint.id))
    )
    foreign = _foreign_key_problem(rows, checkpoints, public_key)
    if foreign is not None:
        return AuditVerification(entries=len(rows), checkpoints=len(checkpoints), problem=foreign)
    anchors = [c for c in checkpoints if c.kind == ANCHOR and _signed(c, public_key)]
    anchor = max(anchors, key=lambda c: c.seq, default=None)
    own_from = session.info.get(_UNSIGNED)
    problem = _chain_problem(rows, anchor) or _checkpoint_problem(
        rows, checkpoints, public_key, anchor, own_from
    )
    return AuditVerification(entries=len(rows), checkpoints=len(checkpoints), problem=problem)


ATTESTATION_ACTION = "journal.attestation"


class AttestationRefused(PrivacyError):
    """The DPO may not attest the log as it is: `problem` is what was found wrong with it."""

    def __init__(self, problem: AuditProblem) -> None:
        self.problem = problem
        # The same codes as `uptake audit verify`: 4 for a key that did not sign this log, 1 otherwise.
        self.exit_code = 4 if problem.kind == "autre_cle" else 1
        super().__init__(
            f"attestation refusée : {problem.message}. Rien n'a été attesté : une chaîne altérée ne "
            "s'atteste pas, elle est une preuve à examiner (uptake audit verify)"
        )


class LogChanged(PrivacyError):
    """The entries the DPO reviewed are no longer the log's unattested ones (attested meanwhile, or
    rewritten): nothing was attested, the review has to be done again."""


@dataclass(frozen=True)
class Unattested:
    """The entries `first` to `last` of an intact log that no signed checkpoint attests, the last one
    hashing to `last_hash` (so that an attestation signs exactly what the DPO was shown)."""

    first: int
    last: int
    last_hash: str

    @property
    def count(self) -> int:
        """How many entries the range holds."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class Attestation:
    """What `attest` did: the entry recording it, and the entries still unattested after it (written
    after the reviewed range, and the attestation entry that chains over them), None when none."""

    entry: AuditEntry
    left: Unattested | None


def unattested(
    session: Session, public_key: Ed25519PublicKey, *, noted: str | None = None, up_to: int | None = None
) -> Unattested | None:
    """The unattested tail of the log (only up to entry `up_to` when given), None when every entry is
    attested.

    Only a log whose chain and signatures hold (and, with `noted`, that still holds the landmark noted
    at an earlier verification) may have its tail attested: anything else raises `AttestationRefused`,
    for attesting it would endorse the tampering. A `PrivacyError` for an `up_to` outside the tail,
    `ValueError` for a malformed landmark."""
    problem = verify(session, public_key).problem
    if noted is not None and (problem is None or problem.kind == "non_signee"):
        # Unsigned entries in place of the ones noted are a rewritten tail, not one to attest.
        problem = landmark_problem(session, noted) or problem
    if problem is None:
        return None
    if problem.kind != "non_signee":
        raise AttestationRefused(problem)
    first, end = problem.seq, session.scalar(select(func.max(AuditEntry.seq))) or 0
    last = end if up_to is None else up_to
    if not first <= last <= end:
        raise PrivacyError(
            f"entrée n°{last} hors des entrées à attester : seules les entrées n°{first} à n°{end} ne sont "
            "attestées par aucun point de contrôle (--jusqu-a doit être entre les deux)"
        )
    last_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last))
    return Unattested(first=first, last=last, last_hash=str(last_hash))


def require_signer(keyring: Keyring, public_key: Ed25519PublicKey) -> None:
    """Refuse (`PrivacyError`) to attest with a keyring that does not sign with `public_key`, the key
    the log was verified with: its checkpoint would not verify with that key."""
    if fingerprint(keyring.signing_key().public_key()) != fingerprint(public_key):
        raise PrivacyError(
            f"attestation refusée : le trousseau local ne signe pas avec la clé {fingerprint(public_key)} "
            "donnée pour la vérification (--cle-publique). Rien n'a été attesté."
        )


def attest(
    session: Session,
    keyring: Keyring,
    reviewed: Unattested,
    *,
    dpo: str,
    public_key: Ed25519PublicKey | None = None,
    noted: str | None = None,
    up_to: int | None = None,
) -> Attestation:
    """Sign, in the DPO's name, the unattested entries `reviewed` that the DPO has looked at (only
    up to entry `up_to` of them when given).

    The log is verified again under the append lock: `AttestationRefused` if it broke since,
    `LogChanged` if the reviewed entries are no longer the unattested ones (attested meanwhile, or
    rewritten). The attestation entry is appended; when the review reaches the end of the log, the
    checkpoint then signed covers everything. Entries appended since the review (or left out with
    `up_to`) are not signed: the checkpoint stops at the last reviewed entry, and they stay
    unattested, with the attestation entry that chains over them, until the DPO reviews them too.
    """
    public = public_key or keyring.public_key()
    require_signer(keyring, public)
    session.execute(update(AuditLock).where(AuditLock.id == 1).values(appends=AuditLock.appends + 1))
    tail = unattested(session, public, noted=noted)
    if (
        tail is None
        or tail.first != reviewed.first
        or tail.last < reviewed.last
        or session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == reviewed.last))
        != reviewed.last_hash
    ):
        raise LogChanged(
            "attestation refusée : le journal a changé depuis son affichage. Rien n'a été attesté : "
            "relancez la commande pour revoir ce qui reste à attester."
        )
    if up_to is not None and up_to != reviewed.last:
        # The hash of the last entry shown still matches, so the chain up to it, `up_to` included, is
        # what the DPO was shown: only the end of what is signed moves.
        if not reviewed.first <= up_to < reviewed.last:
            raise PrivacyError(
                f"entrée n°{up_to} hors des entrées examinées : choisissez une entrée entre "
                f"n°{reviewed.first} et n°{reviewed.last}. Rien n'a été attesté."
            )
        up_to_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == up_to))
        reviewed = Unattested(first=reviewed.first, last=up_to, last_hash=str(up_to_hash))
    entry = append(
        session,
        actor=dpo,
        action=ATTESTATION_ACTION,
        counts={"entrees": reviewed.count},
        details={"depuis_l_entree": reviewed.first, "jusqu_a_l_entree": reviewed.last},
    )
    if reviewed.last == tail.last:
        checkpoint(session, keyring)
        return Attestation(entry=entry, left=None)
    _sign(session, keyring, reviewed.last, reviewed.last_hash)
    return Attestation(entry=entry, left=Unattested(reviewed.last + 1, entry.seq, entry.hash))


# How many hexadecimal digits of an entry's hash a landmark keeps: enough that no other entry can be
# forged to match it, short enough to be copied by hand.
LANDMARK_DIGITS = 16


def landmark(session: Session) -> str | None:
    """The end of the log as the DPO notes it outside the database (`125:3f9a…`, the last entry's
    number and the start of its hash); None for an empty log.

    A hash chain cannot show by itself that its newest entries were cut off, with their checkpoints,
    by someone able to write to the database: given back to `landmark_problem` at the next
    verification, the noted landmark does."""
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return None if last is None else f"{last[0]}:{last[1][:LANDMARK_DIGITS]}"


def landmark_problem(session: Session, noted: str) -> AuditProblem | None:
    """What is wrong with the log against a landmark noted at an earlier verification: its entry
    missing (the log was cut after it) or different (rewritten). An entry pruned since at the end of
    its retention, behind a signed anchor, is not a problem. `ValueError` for a malformed landmark."""
    number, _, digits = noted.strip().partition(":")
    if not number.isdigit() or not re.fullmatch(r"[0-9a-f]{8,64}", digits):
        raise ValueError(
            f"repère « {noted} » illisible : écrivez-le comme uptake l'a affiché, par exemple "
            "125:3f9a1c2b4d5e6f70"
        )
    seq = int(number)
    entry_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
    if entry_hash is None:
        anchored = session.scalar(select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.kind == ANCHOR))
        if anchored is not None and seq <= anchored:
            return None  # pruned with the entries past their retention
        last = session.scalar(select(func.max(AuditEntry.seq))) or 0
        return AuditProblem(
            "tronquee",
            seq,
            f"l'entrée n°{seq} du repère noté manque : le journal s'arrête à l'entrée n°{last}, des entrées "
            "ont été retirées à sa fin avec leurs points de contrôle",
        )
    if not entry_hash.startswith(digits):
        return AuditProblem(
            "reecrite", seq, f"l'entrée n°{seq} n'est plus celle du repère noté : le journal a été réécrit"
        )
    return None


# The append-only triggers of migration privacy_0002, lifted for the length of a prune transaction.
_GUARDED = ("privacy_audit", "privacy_audit_checkpoint")
_GUARD_MESSAGE = "journal d''audit en ajout seul : modification et suppression interdites"


def _lift_guards(session: Session) -> None:
    for table in _GUARDED:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        else:
            session.execute(text(f"DROP TRIGGER {table}_no_delete"))


def _restore_guards(session: Session) -> None:
    for table in _GUARDED:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
        else:
            session.execute(
                text(
                    f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{_GUARD_MESSAGE}'); END"
                )
            )


def prune(session: Session, keyring: Keyring, *, before: datetime, actor: str) -> int:
    """Remove the entries older than `before` (end of the log's retention); returns how many.

    The log is verified first (a tampered log is evidence: it is not pruned). A signed anchor then
    records the hash of the last removed entry, so that the remaining chain still verifies from it and
    any other removal is still detected. The prune itself is appended to the log.
    """
    session.execute(update(AuditLock).where(AuditLock.id == 1).values(appends=AuditLock.appends + 1))
    cutoff = utc_stamp(before)
    # The newest entry is always kept, however old: the next entry chains to it (an emptied log
    # would start again from the first number, and read as truncated).
    first_kept = session.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= cutoff))
    if first_kept is None:
        first_kept = session.scalar(select(func.max(AuditEntry.seq)))
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.seq < (first_kept or 0))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if last is None:
        return 0
    result = verify(session, keyring.public_key())
    if result.problem is not None:
        raise PrivacyError(
            f"élagage du journal refusé : {result.problem.message}. Faites vérifier le journal."
        )
    removed = session.scalar(select(func.count()).where(AuditEntry.seq <= last.seq)) or 0
    _sign(session, keyring, last.seq, last.hash, kind=ANCHOR)
    _lift_guards(session)
    session.execute(delete(AuditEntry).where(AuditEntry.seq <= last.seq))
    session.execute(
        delete(AuditCheckpoint).where(
            AuditCheckpoint.seq <= last.seq,
            ~((AuditCheckpoint.kind == ANCHOR) & (AuditCheckpoint.seq == last.seq)),
        )
    )
    _restore_guards(session)
    append(
        session,
        actor=actor,
        action="journal.elagage",
        counts={"entrees_supprimees": int(removed)},
        details={"jusqu_a_l_entree": last.seq, "anterieures_au": cutoff[:10]},
    )
    checkpoint(session, keyring)
    return int(removed)


def entries_about(session: Session, references: list[str]) -> list[AuditEntry]:
    """Every entry whose object or details mention one of `references` (pseudonyms, ids)."""
    found: dict[int, AuditEntry] = {}
    for ref in references:
        if not ref:
            continue
        query = select(AuditEntry).where(
            (AuditEntry.object_ref == ref) | AuditEntry.details.contains(ref, autoescape=True)
        )
        for entry in session.scalars(query):
            found[entry.seq] = entry
    return [found[seq] for seq in sorted(found)]
