"""The DPO's pages: exchanges to decide, processing register, audit log and its verification,
access log (who viewed which household), purges, data subjects' requests."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detection.retention import archived_extracts, kept_flags
from privacy import audit, exchanges, register, retention, subjects
from privacy.canonical import caf_day, caf_midnight, caf_stamp_text, parse_stamp, utc_stamp
from privacy.errors import KeyringError, PrivacyError
from privacy.models import AuditCheckpoint, AuditEntry, Exchange, PersonalOutput
from privacy.pseudonyms import DEFAULT_FINALITE
from privacy.spreadsheet import InertWriter
from uptake import french
from uptake.audit_labels import action_label, attested_range, detail_label, entry_pairs
from uptake.audit_review import Review, review
from uptake.jobs import drop_folders, purge_everything, scheduled_flags_months
from uptake.scheduler import FAILED, OUTCOME_LABELS, list_schedules, purge_sentence
from uptake.subject_sections import (
    REGISTER_MISSING,
    TYPO,
    campaign_titles,
    context_sections,
    data_held,
    household_known,
    opposition_notice,
    output_label,
)
from uptake.web.access import allow, current_account, guard
from uptake.web.errors import error_page
from uptake.web.fields import LINE_BREAKS, RecordId
from uptake.web.household_views import VIEW_ACTION
from uptake.web.rendering import render
from uptake.web.services import context_of, db, keyring_of

router = APIRouter(prefix="/dpo", dependencies=guard(allow("dpo")))
ROUTERS = (router,)

AUDIT_PAGE_SIZE = 50
ACCESS_LOG_LIMIT = 500


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _exchanges_page(request: Request, *, notice: str | None = None, error: str | None = None) -> Response:
    today = caf_day(context_of(request).now())  # the day `privacy.exchanges` judges an approval by
    with db(request) as session:
        rows = exchanges.list_exchanges(session)
        in_force = [e for e in rows if e.status == exchanges.APPROVED and e.expires_on >= today]
        held = retention.held_counts(session)
        without_entry = exchanges.without_register_entry(session, rows)
    pending = [e for e in rows if e.status == exchanges.REQUESTED]
    decided = [e for e in rows if e.status != exchanges.REQUESTED]
    login = current_account(request).login
    return render(
        request,
        "dpo/exchanges.html",
        {
            "title": "Échanges de données à décider",
            "pending": pending,
            "own_requests": {e.id for e in pending if exchanges.requested_by(e, login)},
            "in_force": in_force,
            "decided": decided,
            "held": held,
            "without_entry": without_entry,
            "entry_removed": exchanges.REGISTER_ENTRY_REMOVED,
            "labels": exchanges.STATUS_LABELS,
            "revoked": exchanges.REVOKED,
            "notice": notice,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/echanges")
def exchanges_page(request: Request, fait: str | None = None) -> Response:
    """Requests awaiting a decision, the approvals in force (revocable), then the decisions taken."""
    notices = {
        "approuve": "Échange approuvé et signé.",
        "refuse": "Échange refusé.",
        "revoque": "Échange révoqué : plus aucune liste, relance ni fiche d'appel ne peut l'utiliser.",
        "revoque-purge": "Échange révoqué, et les sorties déjà produites sous cet échange détruites.",
        "revoque-purge-partielle": (
            "Échange révoqué, et ses sorties détruites, sauf des fichiers écrits hors du dossier de données "
            "par un autre dossier de données, dont celui-ci est une copie : ils sont laissés en place, et "
            "nommés dans le journal d'audit. S'ils doivent disparaître, faites-le depuis le dossier "
            "d'origine."
        ),
    }
    return _exchanges_page(request, notice=notices.get(fait or ""))


@router.get("/echanges/{exchange_id}")
def exchange_page(request: Request, exchange_id: RecordId) -> Response:
    """One exchange whole: the request, the decision and whether its signature still holds, its
    revocation, and every output produced under it (kept or purged) — printable for the partners."""
    with db(request) as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None:
            return error_page(request, 404, f"Aucun échange n° {exchange_id}.")
        signed = exchanges.signature_holds(exchange, keyring_of(request)) if exchange.signature else None
        status = exchanges.STATUS_LABELS.get(exchange.status, exchange.status)
        if exchanges.without_register_entry(session, [exchange]):
            status = f"{status} — {exchanges.REGISTER_ENTRY_REMOVED}"
        outputs = list(
            session.scalars(
                select(PersonalOutput)
                .where(PersonalOutput.exchange_id == exchange_id)
                .order_by(PersonalOutput.created_at)
            )
        )
    return render(
        request,
        "dpo/exchange.html",
        {
            "title": f"Échange n° {exchange_id}",
            "e": exchange,
            "status": status,
            "signed": signed,
            "outputs": outputs,
        },
    )


@router.post("/echanges/{exchange_id}/revoquer")
def revoke_exchange(
    request: Request,
    exchange_id: RecordId,
    motif: Annotated[str, LINE_BREAKS, Form(min_length=1, max_length=4000)],
    purger: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Revoke an approval before its expiry; optionally destroy what was produced under it."""
    login = current_account(request).login
    try:
        with db(request) as session:
            exchanges.revoke(session, exchange_id, dpo=login, motif=motif)
            purged = (
                retention.purge_exchange_outputs(session, keyring_of(request), exchange_id, actor=login)
                if purger
                else None
            )
    except PrivacyError as exc:
        return _exchanges_page(request, error=str(exc))
    done = "revoque"
    if purged is not None:
        done = "revoque-purge-partielle" if purged.files_left else "revoque-purge"
    return RedirectResponse(f"/dpo/echanges?fait={done}", status_code=303)


@router.post("/echanges/{exchange_id}/approuver")
def approve_exchange(
    request: Request,
    exchange_id: RecordId,
    avis: Annotated[str, LINE_BREAKS, Form(min_length=1, max_length=4000)],
    recommandations: Annotated[str, LINE_BREAKS, Form(max_length=8000)] = "",
) -> Response:
    """Approve with an opinion and recommendations (one per line); the decision is signed."""
    login = current_account(request).login
    try:
        with db(request) as session:
            exchanges.approve(
                session,
                keyring_of(request),
                exchange_id,
                dpo=login,
                avis=avis,
                recommandations=_lines(recommandations),
            )
    except PrivacyError as exc:
        return _exchanges_page(request, error=str(exc))
    return RedirectResponse("/dpo/echanges?fait=approuve", status_code=303)


@router.post("/echanges/{exchange_id}/refuser")
def refuse_exchange(
    request: Request,
    exchange_id: RecordId,
    avis: Annotated[str, LINE_BREAKS, Form(min_length=1, max_length=4000)],
) -> Response:
    """Refuse, with the reason."""
    try:
        with db(request) as session:
            exchanges.refuse(session, exchange_id, dpo=current_account(request).login, avis=avis)
    except PrivacyError as exc:
        return _exchanges_page(request, error=str(exc))
    return RedirectResponse("/dpo/echanges?fait=refuse", status_code=303)


@router.get("/registre")
def register_page(request: Request) -> Response:
    """The record of processing activities (GDPR art. 30)."""
    with db(request) as session:
        rows = register.entries(session)
    return render(
        request,
        "dpo/register.html",
        {"title": "Registre des traitements", "rows": rows, "labels": register.LABELS},
    )


@router.get("/registre.csv")
def register_csv(request: Request) -> Response:
    """The register as a CSV file (`;` separated)."""
    with db(request) as session:
        text = register.to_csv(register.entries(session))
    return _csv_download(text, "registre-des-traitements.csv")


def _audit_page(
    request: Request,
    page: int,
    verification: audit.AuditVerification | None = None,
    operation: str | None = None,
    landmark: str | None = None,
    landmark_error: str | None = None,
    *,
    to_attest: Review | None = None,
    noted: str = "",
    attested: int | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    where = [AuditEntry.action == operation] if operation else []
    with db(request) as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
        page = min(page, pages)  # past the end (an old link, a typed number): the oldest entries
        rows = list(
            session.scalars(
                select(AuditEntry)
                .where(*where)
                .order_by(AuditEntry.seq.desc())
                .offset((page - 1) * AUDIT_PAGE_SIZE)
                .limit(AUDIT_PAGE_SIZE)
            )
        )
        present = session.scalars(select(AuditEntry.action).distinct()).all()
        notice = _attested_notice(session, attested) if attested is not None else None
    operations = sorted(((code, action_label(code)) for code in present), key=lambda pair: pair[1])
    return render(
        request,
        "dpo/audit.html",
        {
            "title": "Journal d'audit",
            "rows": rows,
            "page": page,
            "pages": pages,
            "total": total,
            "verification": verification,
            "landmark": landmark,
            "landmark_error": landmark_error,
            "to_attest": to_attest,
            "noted": noted,
            "notice": notice,
            "error": error,
            "operation": operation or "",
            "operations": operations,
            "label": action_label,
            "attested_range": attested_range,
            "query": urlencode({"operation": operation}) + "&" if operation else "",
            "csv_url": "/dpo/journal.csv" + (f"?{urlencode({'operation': operation})}" if operation else ""),
        },
        status_code=status_code,
    )


def _attested_notice(session: Session, seq: int) -> str | None:
    """What the attestation recorded as entry `seq` did, read from the log (never from the address,
    which anyone can type); None when that entry is no attestation."""
    entry = session.scalar(
        select(AuditEntry).where(AuditEntry.seq == seq, AuditEntry.action == audit.ATTESTATION_ACTION)
    )
    if entry is None:
        return None
    covered = attested_range(entry.action, entry.details) or "entrées"
    notice = (
        f"{covered[:1].upper()}{covered[1:]} attestées par {entry.actor} : l'attestation est inscrite au "
        f"journal (entrée n° {seq}) et un point de contrôle signé les couvre."
    )
    signed_up_to = session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
    if signed_up_to < seq:
        notice += (
            f" Les entrées à partir du n° {signed_up_to + 1} (dont cette attestation, qui les suit dans la "
            "chaîne) restent à attester : vérifiez l'intégrité du journal pour les examiner."
        )
    return notice


@router.get("/journal")
def audit_page(
    request: Request,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    atteste: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The audit log, newest entries first; optionally one operation only. After an attestation
    (`atteste`: the number of the entry recording it), what it covered."""
    return _audit_page(request, page, operation=operation or None, attested=atteste)


AUDIT_EXPORT_LIMIT = 100_000


@router.get("/journal.csv")
def audit_csv(request: Request, operation: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """The audit log (one operation, or all), newest first, as CSV for the DPO's reviews; audited."""
    where = [AuditEntry.action == operation] if operation else []
    buffer = io.StringIO()
    writer = InertWriter(buffer)
    writer.writerow(
        ["N°", "Date", "Horodatage (UTC)", "Acteur", "Opération", "Code", "Objet", "Comptes et détails"]
    )
    with db(request) as session:
        rows = session.scalars(
            select(AuditEntry).where(*where).order_by(AuditEntry.seq.desc()).limit(AUDIT_EXPORT_LIMIT + 1)
        ).all()
        cut = len(rows) > AUDIT_EXPORT_LIMIT
        rows = rows[:AUDIT_EXPORT_LIMIT]
        for e in rows:
            said = entry_pairs(e.counts) + entry_pairs(e.details)
            covered = attested_range(e.action, e.details)
            writer.writerow(
                [
                    e.seq,
                    caf_stamp_text(e.at),
                    e.at,
                    e.actor,
                    action_label(e.action),
                    e.action,
                    e.object_ref or "",
                    covered or " ; ".join(f"{key} : {value}" for key, value in said),
                ]
            )
        if cut:  # said in the file itself, where the reader looks for the older entries
            limit = french.count(AUDIT_EXPORT_LIMIT)
            writer.writerow(
                [f"… export limité aux {limit} entrées les plus récentes : filtrez par opération"]
            )
        audit.append(
            session,
            actor=current_account(request).login,
            action="journal.export",
            counts={"lignes": len(rows)},
            details={"operation": operation} if operation else None,
        )
    return _csv_download(buffer.getvalue(), "journal-audit.csv")


@router.post("/journal/verifier")
def verify_audit(request: Request, repere: Annotated[str, Form(max_length=90)] = "") -> Response:
    """Check the hash chain and the signed checkpoints, and the landmark noted at the previous
    verification when given (entries cut at the end with their checkpoints); show the first break,
    if any, and the landmark to note for the next time. Entries that only lack a signed checkpoint
    are shown for the DPO to review and attest."""
    keyring = keyring_of(request)
    to_attest = None
    with db(request) as session:
        # A mistyped landmark is said whatever the state of the log.
        try:
            cut = audit.landmark_problem(session, repere) if repere.strip() else None
        except ValueError as exc:
            return _audit_page(request, 1, landmark_error=f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        verified = audit.verify(session, keyring.public_key())
        # Unsigned entries in place of the ones noted are a rewritten tail, not one to attest.
        unsigned_only = verified.problem is None or verified.problem.kind == "non_signee"
        result = replace(verified, problem=cut or verified.problem) if unsigned_only else verified
        audit.append(
            session,
            actor=current_account(request).login,
            action="journal.verification",
            counts={"entrees": result.entries, "points_de_controle": result.checkpoints},
            details={"intact": result.ok, "entree": result.problem.seq if result.problem else None},
        )
        # The commit signs the verified end of the log, never a broken chain. A log cut at its end (told
        # by the landmark) is signed all the same: its end is what it is, the next landmark compares it.
        if not verified.ok:
            audit.leave_unsigned(session)
        if result.problem is not None and result.problem.kind == "non_signee":
            # Read after this verification's own entry, which stays unsigned with them: it is offered too.
            pending = audit.unattested(session, keyring.public_key(), noted=repere.strip() or None)
            to_attest = review(session, pending) if pending is not None else None
        noted = audit.landmark(session)
    return _audit_page(
        request,
        1,
        result,
        landmark=noted if result.ok else None,
        to_attest=to_attest,
        noted=repere.strip(),
    )


# What the DPO is told when the log cannot be attested as shown; each time, nothing was written.
NOTHING_TO_ATTEST = (
    "Rien à attester : toutes les entrées du journal sont attestées par un point de contrôle signé (un "
    "autre compte DPO les a peut-être attestées entre-temps). Rien n'a été écrit."
)
LOG_CHANGED = (
    "Le journal a changé depuis son affichage (entrées attestées entre-temps, ou réécrites) : rien n'a "
    "été attesté. Revoyez ci-dessous les entrées qui restent à attester, puis attestez-les de nouveau."
)


@router.post("/journal/attester")
def attest_audit(
    request: Request,
    premiere: Annotated[int, Form(ge=1)],
    derniere: Annotated[int, Form(ge=1)],
    empreinte: Annotated[str, Form(pattern=r"^[0-9a-f]{64}$")],
    jusqu_a: Annotated[int, Form(ge=1)],
    repere: Annotated[str, Form(max_length=90)] = "",
) -> Response:
    """Attest, in the signed-in DPO's name, the unattested entries `premiere` to `derniere` shown on
    the page (the last one hashing to `empreinte`), up to entry `jusqu_a`: refused, with nothing
    written, if the log broke or changed since it was shown, or if this server cannot sign."""
    login = current_account(request).login
    shown = audit.Unattested(first=premiere, last=derniere, last_hash=empreinte)
    noted = repere.strip()
    try:
        keyring = keyring_of(request)
        keyring.signing_key()  # a server without the key is told so before the log is read
        with db(request) as session:
            done = audit.attest(session, keyring, shown, dpo=login, noted=noted or None, up_to=jusqu_a)
    except KeyringError as exc:
        return _audit_page(
            request,
            1,
            error=(
                "Ce serveur ne peut pas signer le journal : sa clé de signature est inutilisable "
                f"({exc}). Rien n'a été attesté. Faites rétablir la clé de ce serveur, ou attestez depuis "
                "le poste qui la détient (uptake audit attester --dpo IDENTIFIANT)."
            ),
            status_code=503,
        )
    except audit.AttestationRefused as exc:
        return _audit_page(
            request,
            1,
            error=(
                f"Attestation refusée : {exc.problem.message}. Rien n'a été attesté : une chaîne altérée ne "
                "s'atteste pas, c'est une preuve à examiner. Vérifiez l'intégrité du journal pour voir où "
                "il a été altéré, et conservez une copie de la base."
            ),
            status_code=409,
        )
    except audit.LogChanged:
        to_attest = _current_review(request, noted)
        return _audit_page(
            request,
            1,
            to_attest=to_attest,
            noted=noted,
            error=LOG_CHANGED if to_attest is not None else NOTHING_TO_ATTEST,
            status_code=409,
        )
    except (PrivacyError, ValueError) as exc:  # an entry outside those shown, a malformed landmark
        said = str(exc)
        return _audit_page(
            request,
            1,
            to_attest=_current_review(request, noted),
            noted=noted,
            error=f"{said[:1].upper()}{said[1:]}{'' if said.endswith('.') else '.'}",
            status_code=400,
        )
    return RedirectResponse(f"/dpo/journal?atteste={done.entry.seq}", status_code=303)


def _current_review(request: Request, noted: str) -> Review | None:
    """The entries left to attest now, for the DPO to review again; None when there are none (or
    when the log cannot be attested at all, which the page says otherwise)."""
    keyring = keyring_of(request)
    with db(request) as session:
        try:
            pending = audit.unattested(session, keyring.public_key(), noted=noted or None)
        except (PrivacyError, ValueError):
            return None
        return review(session, pending) if pending is not None else None


def _access_rows(
    request: Request, acteur: str | None, foyer: str | None, du: date | None, au: date | None
) -> list[dict[str, str]]:
    query = select(AuditEntry).where(AuditEntry.action == VIEW_ACTION)
    if acteur:
        query = query.where(AuditEntry.actor == acteur)
    if foyer:
        query = query.where(AuditEntry.object_ref == foyer)
    # The days are the Caf's: a view at 00:30 on the 12th in Paris is stamped 23:30 UTC on the 11th.
    # A day at either end of the calendar (01/01/0001, 31/12/9999, as a date picker lets one type)
    # bounds nothing, and has no midnight the other side of UTC.
    if du and du > date.min + timedelta(days=1):
        query = query.where(AuditEntry.at >= utc_stamp(caf_midnight(du)))
    if au and au < date.max - timedelta(days=1):
        query = query.where(AuditEntry.at < utc_stamp(caf_midnight(au + timedelta(days=1))))
    with db(request) as session:
        entries = list(session.scalars(query.order_by(AuditEntry.seq.desc()).limit(ACCESS_LOG_LIMIT)))
    rows = []
    for entry in entries:
        details = json.loads(entry.details) if entry.details else {}
        rows.append(
            {
                "quand": french.moment(parse_stamp(entry.at)),
                "horodatage": entry.at,
                "qui": entry.actor,
                "foyer": entry.object_ref or "",
                "motif": str(details.get("motif", "")),
                "campagne": str(details.get("campagne", "")),
                "seq": str(entry.seq),
            }
        )
    return rows


@router.get("/consultations")
def access_log_page(
    request: Request,
    acteur: Annotated[str | None, Query(max_length=64)] = None,
    foyer: Annotated[str | None, Query(max_length=128)] = None,
    du: date | None = None,
    au: date | None = None,
) -> Response:
    """Who viewed which household (by pseudonym), when and why; filterable."""
    reversed_range = _reversed_range(du, au)
    rows = [] if reversed_range else _access_rows(request, acteur or None, foyer or None, du, au)
    filters = {"acteur": acteur or "", "foyer": foyer or "", "du": du or "", "au": au or ""}
    query = urlencode({k: str(v) for k, v in filters.items() if v})
    return render(
        request,
        "dpo/access_log.html",
        {
            "title": "Consultations de foyers",
            "rows": rows,
            "filters": filters,
            "csv_url": "/dpo/consultations.csv" + (f"?{query}" if query else ""),
            "limit": ACCESS_LOG_LIMIT,
            "error": reversed_range,
        },
        status_code=400 if reversed_range else 200,
    )


def _reversed_range(du: date | None, au: date | None) -> str | None:
    """What is wrong with a period that ends before it starts (it would show « no view », wrongly)."""
    if du and au and du > au:
        return (
            f"La période demandée finit ({au:%d/%m/%Y}) avant de commencer ({du:%d/%m/%Y}) : "
            "inversez les deux dates."
        )
    return None


@router.get("/consultations.csv")
def access_log_csv(
    request: Request,
    acteur: Annotated[str | None, Query(max_length=64)] = None,
    foyer: Annotated[str | None, Query(max_length=128)] = None,
    du: date | None = None,
    au: date | None = None,
) -> Response:
    """The access log with the same filters, as CSV."""
    reversed_range = _reversed_range(du, au)
    if reversed_range:
        return PlainTextResponse(reversed_range, status_code=400)
    rows = _access_rows(request, acteur or None, foyer or None, du, au)
    buffer = io.StringIO()
    writer = InertWriter(buffer)
    writer.writerow(
        ["Date", "Horodatage (UTC)", "Agent", "Foyer (pseudonyme)", "Motif", "Campagne", "Entrée du journal"]
    )
    for row in rows:
        writer.writerow(
            [
                row["quand"],
                row["horodatage"],
                row["qui"],
                row["foyer"],
                row["motif"],
                row["campagne"],
                row["seq"],
            ]
        )
    with db(request) as session:
        audit.append(
            session,
            actor=current_account(request).login,
            action="consultations.export",
            counts={"lignes": len(rows)},
        )
    return _csv_download(buffer.getvalue(), "consultations-foyers.csv")


# What each purge entry of the audit log counted, as the DPO reads them.
PURGE_COUNTS = {
    "sorties": "sorties échues",
    "fichiers_supprimes": "fichiers supprimés",
    "cles_detruites": "clés détruites",
    "echanges": "échanges de plus de 36 mois",
    "oppositions": "oppositions échues",
    "entrees_journal": "entrées du journal retirées",
    "entrees_supprimees": "entrées retirées",
    "drapeaux": "drapeaux",
    "fichiers": "fichiers",
}


def _purge_operation(entry: AuditEntry) -> dict[str, object]:
    said = [
        f"{PURGE_COUNTS.get(key, detail_label(key))} : {value}"
        for key, value in french.stored_pairs(entry.counts)
    ]
    return {
        "at": datetime.fromisoformat(entry.at),
        "label": action_label(entry.action),
        "object": entry.object_ref or "",
        "actor": entry.actor,
        "counts": " · ".join(said),
    }


@router.get("/purges")
def purges_page(request: Request, fait: str | None = None) -> Response:
    """Files of personal data already purged, and those due (with their retention end); the
    detection runs whose flags are kept, and from when the purge deletes them."""
    notice = (
        "Purge effectuée : son bilan est dans « Dernières opérations de purge »." if fait == "purge" else None
    )
    return _purges_page(request, notice=notice)


@router.post("/purges/lancer")
def run_purge(request: Request) -> Response:
    """Apply every retention period now, as the scheduled purge does (audited, in the DPO's name)."""
    context = context_of(request)
    months = scheduled_flags_months(list_schedules(context.engine))
    with db(request) as session:
        done = purge_everything(context, session, actor=current_account(request).login, flags_months=months)
    problems = []
    if done.extracts.not_deleted:
        problems.append(
            f"{len(done.extracts.not_deleted)} extrait(s) échu(s) n'ont pas pu être supprimés (droits "
            "insuffisants ?) : donnez au compte du service le droit d'écrire dans les dossiers de dépôt"
        )
    if done.outputs.audit_entries is None:
        problems.append(
            "journal d'audit altéré : il n'a pas été élagué (vérifiez-le dans « Journal d'audit »)"
        )
    if problems:
        return _purges_page(request, error="Purge effectuée, mais : " + " ; ".join(problems) + ".")
    return RedirectResponse("/dpo/purges?fait=purge", status_code=303)


def _purges_page(request: Request, *, notice: str | None = None, error: str | None = None) -> Response:
    # The days shown are those of the retention the purge schedule applies.
    context = context_of(request)
    schedules = list_schedules(context.engine)
    months = scheduled_flags_months(schedules)
    extracts = archived_extracts(drop_folders(schedules), months=months)
    with db(request) as session:
        flags = kept_flags(session, months=months)
        done = list(
            session.scalars(
                select(PersonalOutput)
                .where(PersonalOutput.purged_at.is_not(None))
                .order_by(PersonalOutput.purged_at.desc())
            )
        )
        due = list(
            session.scalars(
                select(PersonalOutput)
                .where(PersonalOutput.purged_at.is_(None))
                .order_by(PersonalOutput.retention_until)
            )
        )
        operations = [
            _purge_operation(entry)
            for entry in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("purge%") | (AuditEntry.action == "journal.elagage"))
                .order_by(AuditEntry.seq.desc())
                .limit(20)
            )
        ]
    return render(
        request,
        "dpo/purges.html",
        {
            "title": "Purges",
            "done": done,
            "due": due,
            "operations": operations,
            "flags": flags,
            "extracts": extracts,
            "flags_months": months,
            "today": caf_day(context.now()),  # the day a purge judges by
            # Retention is applied only by a purge: the DPO sees whether one runs, and how it ended.
            "purge_schedules": [info for info in schedules if info.job == "purge"],
            "failed": FAILED,
            "unpurged": purge_sentence(schedules),
            "outcome_labels": OUTCOME_LABELS,
            "notice": notice,
            "error": error,
        },
    )


def _csv_download(text: str, filename: str) -> Response:
    # A BOM so that spreadsheet software opens accented French text correctly.
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _requests_page(
    request: Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    warning: str | None = None,
    report: subjects.AccessReport | None = None,
    status_code: int = 200,
) -> Response:
    with db(request) as session:
        in_force = subjects.active_oppositions(session).height
    return render(
        request,
        "dpo/requests.html",
        {
            "title": "Demandes des personnes",
            "in_force": in_force,
            "notice": notice,
            "error": error,
            "warning": warning,
            "report": report,
            "default_months": subjects.DEFAULT_OPPOSITION_MONTHS,
            "min_months": subjects.MIN_OPPOSITION_MONTHS,
            "max_months": subjects.MAX_OPPOSITION_MONTHS,
        },
        status_code=status_code,
    )


@router.get("/demandes")
def requests_page(request: Request) -> Response:
    """Record an opposition (art. 21) or produce an access report (art. 15)."""
    return _requests_page(request)


@router.post("/demandes/opposition")
def record_opposition(
    request: Request,
    source: Annotated[str, Form(min_length=1, max_length=200)],
    pseudonyme: Annotated[str, Form(max_length=128)] = "",
    matricule: Annotated[str, Form(max_length=64)] = "",
    mois: Annotated[int, Form()] = subjects.DEFAULT_OPPOSITION_MONTHS,
) -> Response:
    """Record that a household objects to proactive contact; honoured by every later list. The
    household is named by its pseudonym or by its matricule (never stored nor logged)."""
    keyring = keyring_of(request)
    if bool(pseudonyme.strip()) == bool(matricule.strip()):
        both = "Donnez le pseudonyme du foyer ou son matricule, l'un des deux seulement."
        return _requests_page(request, error=both, status_code=400)
    try:
        if matricule.strip():
            pseudonyme = subjects.pseudonym_for(
                keyring, matricule, territory=context_of(request).key_territory, finalite=DEFAULT_FINALITE
            )
        with db(request) as session:
            known = household_known(session, [pseudonyme])
            recorded = subjects.record_opposition(
                session, pseudonyme, source=source, actor=current_account(request).login, months=mois
            )
            listed = retention.already_listed_notice(retention.outputs_holding(session, pseudonyme))
    except PrivacyError as exc:
        return _requests_page(request, error=str(exc), status_code=400)
    return _requests_page(
        request,
        notice=opposition_notice(recorded),
        warning=listed
        if known
        else (
            "Aucun foyer n'est connu aujourd'hui sous cet identifiant : l'opposition s'appliquera s'il "
            f"apparaît dans un prochain extrait. Vérifiez l'identifiant : {TYPO}."
        ),
    )


@router.post("/demandes/acces")
def access_request(
    request: Request, matricule: Annotated[str, Form(min_length=1, max_length=64)]
) -> Response:
    """The access report of one household, found from its matricule (never stored nor logged)."""
    context = context_of(request)
    keyring = keyring_of(request)
    try:
        with db(request) as session:
            report = subjects.access_report(
                session,
                keyring,
                matricule.strip(),
                territory=context.key_territory,
                finalites=[DEFAULT_FINALITE],
                actor=current_account(request).login,
                extra=context_sections(session, context),
                operation_label=action_label,
                output_label=output_label(campaign_titles(context.settings.config_dir)),
            )
            held = data_held(session, list(report.pseudonyms.values()))
    except PrivacyError as exc:
        return _requests_page(request, error=str(exc), status_code=400)
    warnings = [] if report.register_codes else [f"{REGISTER_MISSING[:1].upper()}{REGISTER_MISSING[1:]}."]
    if not held:
        warnings.append(f"Aucune donnée n'est détenue sous ce matricule. Vérifiez-le : {TYPO}.")
    warning = " ".join(warnings) or None
    return _requests_page(request, report=report, warning=warning)
