"""Exchanges of personal data and the DPO's decisions (article 7 of the convention).

An exchange request names who asks, who receives, why, the processing-register entry, the exact
personal fields (contact fields, and what the detection says of the household: `DETECTION_FIELDS`),
the legal basis, how long the recipient keeps the data and when the approval expires.
The DPO approves it (opinion, recommendations) or refuses it. An approval is an Ed25519 signature over
the canonical JSON of exactly what was approved (`approval_payload`); it is verified again at every use
(`authorise`), so a changed field list, date or recipient in the database, or a signature made with
another key, is refused. The DPO may revoke an approval before its expiry (`revoke`): every later use
is refused, and the revocation, written in the hash-chained audit log, stays in force even if the
exchange's status were set back in the database.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import as_utc, caf_day, canonical_json, parse_stamp, utc_now, utc_stamp
from privacy.directory import PERSONAL_FIELDS
from privacy.errors import DecisionInvalid, ExchangeRefused, UnknownObject
from privacy.keys import Keyring, fingerprint
from privacy.models import AuditEntry, Exchange, RegisterEntry

# R.114-9-7 CRPA: data used to inform people of their rights are kept at most 12 months.
MAX_RETENTION_DAYS = 365
# An approval is reviewed at least as often as the data it lets out may be kept: the same 12 months.
MAX_APPROVAL_DAYS = MAX_RETENTION_DAYS

# Besides contact fields, what a list or a message can tell of the detection about a named person:
# the rights presumed (any message or list about a right names it) and the detection's reasons (the
# estimated amount, incomes, rent, rent debt). Data categories the DPO approves like the others.
PRESUMED_RIGHTS, REASONS = "droits_presumes", "motifs"
DETECTION_FIELDS: tuple[str, ...] = (PRESUMED_RIGHTS, REASONS)
EXCHANGE_FIELDS: tuple[str, ...] = (*PERSONAL_FIELDS, *DETECTION_FIELDS)

REQUESTED, APPROVED, REFUSED, REVOKED = "demandee", "approuvee", "refusee", "revoquee"
STATUS_LABELS = {REQUESTED: "demandée", APPROVED: "approuvée", REFUSED: "refusée", REVOKED: "révoquée"}
REVOCATION_ACTION = "echange.revocation"


@dataclass(frozen=True)
class ExchangeRequest:
    """What a requester asks the DPO to approve."""

    requester: str
    recipient: str
    purpose: str
    register_code: str
    fields: tuple[str, ...]
    legal_basis: str
    retention_days: int
    expires_on: date


@dataclass(frozen=True)
class Authorisation:
    """Proof, checked just now, that an approved exchange covers `fields` until `expires_on`.

    Produced only by `authorise`; `vault.reveal` and `retention.write_personal_output` check it again
    against the database and the DPO's public key before using it.
    """

    exchange_id: int
    fields: frozenset[str]
    recipient: str
    register_code: str
    retention_days: int
    expires_on: date
    signature: str


def approval_payload(exchange: Exchange) -> dict[str, Any]:
    """Exactly what the DPO signs: every term of the exchange and of the decision."""
    return {
        "type": "uptake-approbation-echange",
        "id": exchange.id,
        "requester": exchange.requester,
        "recipient": exchange.recipient,
        "purpose": exchange.purpose,
        "register_code": exchange.register_code,
        "fields": sorted(exchange.fields),
        "legal_basis": exchange.legal_basis,
        "retention_days": exchange.retention_days,
        "expires_on": exchange.expires_on.isoformat(),
        "requested_at": exchange.requested_at,
        "dpo": exchange.dpo,
        "avis": exchange.avis,
        "recommandations": list(exchange.recommandations or []),
        "decided_at": exchange.decided_at,
    }


def _check_fields(fields: Sequence[str]) -> None:
    unknown = sorted(set(fields) - set(EXCHANGE_FIELDS))
    if unknown:
        raise DecisionInvalid(
            f"champs inconnus : {', '.join(unknown)}", f"champs possibles : {', '.join(EXCHANGE_FIELDS)}"
        )
    if not fields:
        raise DecisionInvalid("aucun champ demandé", "nommez les champs strictement nécessaires")


def _check_terms(wanted: ExchangeRequest) -> None:
    # A blank recipient, purpose or legal basis would be approved, signed and honoured as is: the DPO
    # would have vouched for an exchange that says neither who receives the data, why, nor on what basis.
    blanks = {
        "destinataire (--destinataire)": wanted.recipient,
        "finalité (--finalite)": wanted.purpose,
        "base légale (--base-legale)": wanted.legal_basis,
    }
    for term, value in blanks.items():
        if not value.strip():
            raise DecisionInvalid(f"{term} vide", "ce terme de l'échange est obligatoire : renseignez-le")


def _latest_expiry(day: date) -> date:
    """The latest expiry date an approval requested or decided on `day` may have."""
    return day + timedelta(days=MAX_APPROVAL_DAYS)


def _check_expiry(expires_on: date, day: date, fix: str) -> None:
    if expires_on > _latest_expiry(day):
        raise DecisionInvalid(
            f"approbation demandée jusqu'au {expires_on:%d/%m/%Y}, plus de {MAX_APPROVAL_DAYS} jours "
            f"après le {day:%d/%m/%Y} (12 mois au plus, art. R.114-9-7 CRPA)",
            fix,
        )


def requested_by(exchange: Exchange, name: str) -> bool:
    """Whether `name` asked for `exchange`: then not the one to decide it (separation of duties)."""
    return name.strip().casefold() == exchange.requester.strip().casefold()


def scope(exchange: Exchange) -> tuple[str, str]:
    """What the DPO approved an exchange for: its recipient and purpose (spaces and case aside)."""
    return (" ".join(exchange.recipient.split()).casefold(), " ".join(exchange.purpose.split()).casefold())


def several_scopes(exchanges_found: Sequence[Exchange], where: str) -> str | None:
    """Why none of `exchanges_found` may be chosen for `where` (a campaign) when they were approved for
    different recipients or purposes: the DPO approved each for its own, and the newest is not
    necessarily this campaign's. None when they share one (an approval renewed: the newest is taken)."""
    if len({scope(e) for e in exchanges_found}) < 2:
        return None
    listed = " ; ".join(f"n°{e.id} pour « {e.recipient} » ({e.purpose})" for e in exchanges_found)
    return (
        f"plusieurs échanges approuvés pour des destinataires ou finalités différents conviennent à {where} "
        f"({listed}) : nommez celui de cette campagne (echange = N dans son fichier)"
    )


def _check_decider(exchange: Exchange, dpo: str, avis: str) -> None:
    if not dpo.strip():
        raise DecisionInvalid("nom du DPO vide (--dpo)", "nommez le DPO qui décide")
    if not avis.strip():
        raise DecisionInvalid(
            "avis du DPO vide", "motivez la décision : l'avis est conservé avec elle et signé"
        )
    if requested_by(exchange, dpo):
        raise DecisionInvalid(
            f"l'échange n°{exchange.id} a été demandé par « {dpo.strip()} » : "
            "le demandeur ne peut pas décider de sa propre demande",
            "la décision revient à un DPO qui n'a pas fait la demande",
        )


def request(session: Session, wanted: ExchangeRequest, *, now: datetime | None = None) -> Exchange:
    """Record an exchange request (status `demandee`) and audit it.

    Refused (`DecisionInvalid`, naming the term) when the recipient, purpose or legal basis is blank,
    or when the approval would hold more than `MAX_APPROVAL_DAYS` days from today.
    """
    moment = now or utc_now()
    if session.get(RegisterEntry, wanted.register_code) is None:
        raise ExchangeRefused(
            None,
            [
                f"l'entrée « {wanted.register_code} » n'existe pas dans le registre des traitements "
                "(chargez-la avec `uptake register load`)"
            ],
        )
    _check_terms(wanted)
    _check_fields(wanted.fields)
    if not 1 <= wanted.retention_days <= MAX_RETENTION_DAYS:
        raise DecisionInvalid(
            f"durée de conservation de {wanted.retention_days} jours",
            f"donnez entre 1 et {MAX_RETENTION_DAYS} jours (12 mois au plus, art. R.114-9-7 CRPA)",
        )
    if wanted.expires_on <= caf_day(moment):
        raise DecisionInvalid("date d'expiration déjà passée", "donnez une date future (AAAA-MM-JJ)")
    _check_expiry(
        wanted.expires_on,
        caf_day(moment),
        f"donnez --expire-le {_latest_expiry(caf_day(moment)).isoformat()} au plus tard, "
        "et renouvelez la demande à l'échéance",
    )
    exchange = Exchange(
        requester=wanted.requester,
        recipient=wanted.recipient.strip(),
        purpose=wanted.purpose.strip(),
        register_code=wanted.register_code,
        fields=sorted(set(wanted.fields)),
        legal_basis=wanted.legal_basis.strip(),
        retention_days=wanted.retention_days,
        expires_on=wanted.expires_on,
        requested_at=utc_stamp(moment),
        status=REQUESTED,
    )
    session.add(exchange)
    session.flush()
    audit.append(
        session,
        actor=wanted.requester,
        action="echange.demande",
        object_ref=f"echange:{exchange.id}",
        details={"champs": exchange.fields, "registre": exchange.register_code},
    )
    return exchange


def get(session: Session, exchange_id: int) -> Exchange:
    """The exchange `exchange_id`, or `UnknownObject`."""
    exchange = session.get(Exchange, exchange_id)
    if exchange is None:
        raise UnknownObject("échange", str(exchange_id))
    return exchange


def list_exchanges(session: Session, status: str | None = None) -> list[Exchange]:
    """Every exchange (newest first), optionally only those with one status."""
    query = select(Exchange).order_by(Exchange.id.desc())
    if status:
        query = query.where(Exchange.status == status)
    return list(session.scalars(query))


def without_register_entry(session: Session, rows: list[Exchange]) -> set[int]:
    """The exchanges among `rows`, pending or approved, whose register entry was removed since: none
    of them can be used (nor decided) until the entry is loaded again."""
    live = [e for e in rows if e.status in (REQUESTED, APPROVED)]
    codes = set(
        session.scalars(
            select(RegisterEntry.code).where(RegisterEntry.code.in_({e.register_code for e in live}))
        )
    )
    return {e.id for e in live if e.register_code not in codes}


REGISTER_ENTRY_REMOVED = (
    "fiche du registre retirée : inutilisable tant qu'elle n'est pas rechargée (uptake register load)"
)


def _pending(session: Session, exchange_id: int) -> Exchange:
    exchange = get(session, exchange_id)
    if exchange.status != REQUESTED:
        raise DecisionInvalid(
            f"l'échange n°{exchange_id} est déjà décidé (statut : {STATUS_LABELS[exchange.status]})",
            "une décision ne se modifie pas : faites une nouvelle demande",
        )
    return exchange


def approve(
    session: Session,
    keyring: Keyring,
    exchange_id: int,
    *,
    dpo: str,
    avis: str,
    recommandations: Sequence[str] = (),
    now: datetime | None = None,
) -> Exchange:
    """The DPO approves: the decision is signed with the DPO key and audited.

    Refused when `dpo` requested the exchange, and when the approval would hold more than
    `MAX_APPROVAL_DAYS` days from today (a request recorded before that limit existed).
    """
    moment = now or utc_now()
    exchange = _pending(session, exchange_id)
    _check_decider(exchange, dpo, avis)
    if session.get(RegisterEntry, exchange.register_code) is None:
        raise ExchangeRefused(
            exchange_id, [f"l'entrée « {exchange.register_code} » du registre n'existe plus"]
        )
    if exchange.expires_on <= caf_day(moment):
        raise DecisionInvalid(f"l'échange n°{exchange_id} a déjà expiré", "faites une nouvelle demande")
    _check_expiry(
        exchange.expires_on, caf_day(moment), "refusez cette demande et faites-en faire une plus courte"
    )
    key = keyring.signing_key()
    exchange.status = APPROVED
    exchange.dpo = dpo
    exchange.avis = avis
    # A blank line of the form, or an empty option, is no recommendation.
    exchange.recommandations = [" ".join(r.split()) for r in recommandations if r.strip()]
    exchange.decided_at = utc_stamp(moment)
    exchange.key_fingerprint = fingerprint(key.public_key())
    exchange.signature = key.sign(canonical_json(approval_payload(exchange))).hex()
    session.flush()
    audit.append(
        session,
        actor=dpo,
        action="echange.approbation",
        object_ref=f"echange:{exchange.id}",
        details={"champs": exchange.fields, "expire_le": exchange.expires_on.isoformat()},
        keyring=keyring,
    )
    return exchange


def refuse(
    session: Session, exchange_id: int, *, dpo: str, avis: str, now: datetime | None = None
) -> Exchange:
    """The DPO refuses, with the reason; audited. Refused when `dpo` requested the exchange."""
    moment = now or utc_now()
    exchange = _pending(session, exchange_id)
    _check_decider(exchange, dpo, avis)
    exchange.status = REFUSED
    exchange.dpo = dpo
    exchange.avis = avis
    exchange.decided_at = utc_stamp(moment)
    session.flush()
    audit.append(session, actor=dpo, action="echange.refus", object_ref=f"echange:{exchange.id}")
    return exchange


def revoke(
    session: Session, exchange_id: int, *, dpo: str, motif: str, now: datetime | None = None
) -> Exchange:
    """The DPO revokes an approved exchange before its expiry, with the reason; audited.

    From then on no list, follow-up or call card can use it; what was already produced under it is
    kept until its retention end unless purged (`retention.purge_exchange_outputs`).
    """
    moment = now or utc_now()
    exchange = get(session, exchange_id)
    if exchange.status != APPROVED:
        raise DecisionInvalid(
            f"l'échange n°{exchange_id} n'est pas approuvé "
            f"(statut : {STATUS_LABELS.get(exchange.status, exchange.status)})",
            "seul un échange approuvé se révoque",
        )
    if exchange.expires_on < caf_day(moment):
        raise DecisionInvalid(
            f"l'approbation de l'échange n°{exchange_id} a expiré le {exchange.expires_on:%d/%m/%Y}",
            "elle ne peut déjà plus servir : il n'y a rien à révoquer ; pour détruire dès maintenant "
            f"ce qui a été produit sous elle : uptake exchanges purge-outputs {exchange_id}",
        )
    if not motif.strip():
        raise DecisionInvalid("motif de la révocation manquant", "dites pourquoi l'échange est révoqué")
    exchange.status = REVOKED
    exchange.revoked_at = utc_stamp(moment)
    exchange.revoked_by = dpo
    exchange.revocation_reason = motif.strip()
    session.flush()
    audit.append(
        session,
        actor=dpo,
        action=REVOCATION_ACTION,
        object_ref=f"echange:{exchange.id}",
        details={"champs": exchange.fields},
    )
    return exchange


def signature_holds(exchange: Exchange, keyring: Keyring) -> bool:
    """Whether the DPO's signature still matches every term of the decision as stored now."""
    if not exchange.signature:
        return False
    try:
        keyring.public_key().verify(
            bytes.fromhex(exchange.signature), canonical_json(approval_payload(exchange))
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _revocation_logged(session: Session, exchange_id: int) -> bool:
    found = session.scalar(
        select(AuditEntry.seq)
        .where(AuditEntry.action == REVOCATION_ACTION, AuditEntry.object_ref == f"echange:{exchange_id}")
        .limit(1)
    )
    return found is not None


def authorise(
    session: Session, keyring: Keyring, exchange_id: int, fields: Collection[str], *, now: datetime
) -> Authorisation:
    """An `Authorisation` for `fields` under exchange `exchange_id` at `now`, or `ExchangeRefused`.

    Refused, with every reason named: unknown exchange, not approved or revoked, not yet valid or
    expired, fields outside the approval, signature invalid (decision altered, or signed with another
    key).
    """
    now = as_utc(now)
    exchange = session.get(Exchange, exchange_id)
    if exchange is None:
        raise ExchangeRefused(exchange_id, ["cet échange n'existe pas"])
    reasons: list[str] = []
    if exchange.status == REVOKED:
        # The reason is the DPO's free text: it stays in `uptake exchanges show`, out of error messages.
        when = f" le {parse_stamp(exchange.revoked_at):%d/%m/%Y}" if exchange.revoked_at else ""
        reasons.append(
            f"approbation révoquée par le DPO{when} (son motif : « uptake exchanges show {exchange.id} » ou "
            "la page de l'échange)"
        )
    elif _revocation_logged(session, exchange.id):
        reasons.append("approbation révoquée par le DPO (révocation inscrite au journal d'audit)")
    elif exchange.status != APPROVED or not exchange.signature or not exchange.decided_at:
        # « échange » is masculine; the status labels agree with « demande ».
        status = STATUS_LABELS.get(exchange.status, exchange.status).removesuffix("e")
        reasons.append(f"échange {status}, non approuvé par le DPO")
    else:
        if not signature_holds(exchange, keyring):
            reasons.append(
                "signature de l'approbation invalide (décision modifiée ou signée par une autre clé)"
            )
        if now < parse_stamp(exchange.decided_at):
            reasons.append("approbation postérieure à la date d'utilisation")
    if caf_day(now) > exchange.expires_on:
        reasons.append(f"approbation expirée le {exchange.expires_on.isoformat()}")
    outside = sorted(set(fields) - set(exchange.fields))
    if outside:
        reasons.append(f"champs hors de l'approbation : {', '.join(outside)}")
    if session.get(RegisterEntry, exchange.register_code) is None:
        reasons.append(f"l'entrée « {exchange.register_code} » du registre n'existe pas")
    if reasons:
        raise ExchangeRefused(exchange_id, reasons)
    return Authorisation(
        exchange_id=exchange.id,
        fields=frozenset(exchange.fields),
        recipient=exchange.recipient,
        register_code=exchange.register_code,
        retention_days=exchange.retention_days,
        expires_on=exchange.expires_on,
        signature=exchange.signature or "",
    )


def recheck(
    session: Session,
    keyring: Keyring,
    authorisation: Authorisation,
    fields: Collection[str],
    *,
    now: datetime,
) -> Authorisation:
    """Verify again, at the moment of use, that `authorisation` still holds and covers `fields`."""
    fresh = authorise(session, keyring, authorisation.exchange_id, fields, now=now)
    if fresh.signature != authorisation.signature:
        raise ExchangeRefused(
            authorisation.exchange_id, ["l'autorisation présentée ne correspond pas à la décision"]
        )
    return fresh
