"""Data subjects: the opposition register (GDPR art. 21) and the access report (art. 15).

Oppositions are kept 12 to 24 months (R.114-9-7 CRPA; 24 by default) and honoured by every selection
through `opposed`. The access report takes a matricule, computes the household's pseudonym with the
key (the matricule itself is never stored or logged), and lists what privacy holds on it: the vault
record (which fields, never their values: those go out only through an approved exchange), the
oppositions, former pseudonyms after a key rotation, and every audit entry about it. Other packages'
data (flags, campaigns, outcomes) come in as extra sections from the front door, which may read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import caf_day, caf_moment_text, caf_stamp_day, parse_stamp, utc_now, utc_stamp
from privacy.directory import PSEUDONYM_COLUMN, PSEUDONYM_PATTERN
from privacy.errors import DecisionInvalid
from privacy.keys import Keyring
from privacy.models import (
    AuditEntry,
    ContactRecord,
    Opposition,
    OutputHousehold,
    PersonalOutput,
    PseudonymAlias,
)
from privacy.pseudonyms import key_text, pseudonym_of

MIN_OPPOSITION_MONTHS, MAX_OPPOSITION_MONTHS, DEFAULT_OPPOSITION_MONTHS = 12, 24, 24
SOURCE_MAX = 200  # privacy_opposition.source
_CHUNK = 500
_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)


def pseudonym_for(keyring: Keyring, matricule: str, *, territory: str, finalite: str) -> str:
    """The household's pseudonym for one purpose, from its matricule (which is neither kept nor logged).

    The matricule is typed by a person: spaces inside it (« 69 09 610 », as it is read out or printed)
    are dropped, as no matricule of an extract holds any."""
    typed = "".join(matricule.split())
    if not typed:
        raise DecisionInvalid("matricule vide", "donnez le matricule Caf du foyer")
    return pseudonym_of(key_text(keyring, territory, finalite), typed)


@dataclass(frozen=True)
class OppositionRecorded:
    """The day until which a household's objection is kept, and whether one already covered it."""

    expires_on: date
    already_in_force: bool = False


def record_opposition(
    session: Session,
    pseudonym: str,
    *,
    source: str,
    actor: str,
    months: int = DEFAULT_OPPOSITION_MONTHS,
    now: datetime | None = None,
) -> OppositionRecorded:
    """Record that a household objects to proactive contact, kept `months` (12–24); audited.

    An objection already in force for as long or longer is kept as it is, and nothing is added: the
    same letter typed twice, a form sent again, a second STOP reply."""
    if not _PSEUDONYM.match(pseudonym):
        # A mistyped pseudonym would oppose nobody while the household went on being contacted.
        raise DecisionInvalid(
            "pseudonyme mal formé (16 à 128 lettres, chiffres, « _ » ou « - »)",
            "donnez l'id_foyer tel qu'il figure dans l'extrait, ou le matricule du foyer à la place",
        )
    source = " ".join(source.split())
    if not 0 < len(source) <= SOURCE_MAX:
        # Where the objection came from is what the DPO shows if it is ever contested.
        raise DecisionInvalid(
            "mode de réception de l'opposition vide"
            if not source
            else f"mode de réception de plus de {SOURCE_MAX} caractères",
            "dites en quelques mots comment elle a été reçue : courrier, courriel, accueil, réponse STOP…",
        )
    if not MIN_OPPOSITION_MONTHS <= months <= MAX_OPPOSITION_MONTHS:
        raise DecisionInvalid(
            f"durée de conservation d'une opposition de {months} mois",
            f"donnez entre {MIN_OPPOSITION_MONTHS} et {MAX_OPPOSITION_MONTHS} mois (art. R.114-9-7 CRPA)",
        )
    moment = now or utc_now()
    expires_on = caf_day(moment) + timedelta(days=round(months * 365.25 / 12))
    covering = session.scalars(
        select(func.max(Opposition.expires_on)).where(
            Opposition.pseudonym == pseudonym, Opposition.expires_on >= expires_on
        )
    ).first()
    if covering is not None:
        return OppositionRecorded(covering, already_in_force=True)
    row = Opposition(pseudonym=pseudonym, recorded_at=utc_stamp(moment), expires_on=expires_on, source=source)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="opposition.enregistrement",
        object_ref=pseudonym,
        details={"source": source, "jusqu_au": row.expires_on.isoformat()},
    )
    return OppositionRecorded(row.expires_on)


def opposed(session: Session, pseudonyms: Iterable[str], *, now: datetime | None = None) -> set[str]:
    """The pseudonyms, among `pseudonyms`, with an opposition in force."""
    today = caf_day(now or utc_now())
    names = list(dict.fromkeys(pseudonyms))
    found: set[str] = set()
    for start in range(0, len(names), _CHUNK):
        query = select(Opposition.pseudonym).where(
            Opposition.pseudonym.in_(names[start : start + _CHUNK]), Opposition.expires_on >= today
        )
        found.update(session.scalars(query))
    return found


def active_oppositions(session: Session, *, now: datetime | None = None) -> pl.DataFrame:
    """Every pseudonym with an opposition in force, as a one-column frame (`id_foyer`) for anti-joins."""
    today = caf_day(now or utc_now())
    names = session.scalars(
        select(Opposition.pseudonym).where(Opposition.expires_on >= today).distinct()
    ).all()
    return pl.DataFrame({PSEUDONYM_COLUMN: list(names)}, schema={PSEUDONYM_COLUMN: pl.String})


@dataclass(frozen=True)
class AccessSection:
    """A part of an access report: a French title, column headers and rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class AccessReport:
    """Everything held on one household, found from its matricule."""

    generated_at: str
    territory: str
    pseudonyms: dict[str, str]
    sections: list[AccessSection] = field(default_factory=list)


def access_report(
    session: Session,
    keyring: Keyring,
    matricule: str,
    *,
    territory: str,
    finalites: Sequence[str],
    actor: str,
    extra: Callable[[list[str]], Sequence[AccessSection]] | None = None,
    operation_label: Callable[[str], str] = str,
    now: datetime | None = None,
) -> AccessReport:
    """Build the access report of one household (art. 15) and audit the request (pseudonym only).

    `extra`, given the household's current pseudonyms, returns the sections other packages hold;
    `operation_label` names each operation of the log in words (the log stores codes).
    """
    moment = now or utc_now()
    pseudonyms = {f: pseudonym_for(keyring, matricule, territory=territory, finalite=f) for f in finalites}
    current = list(dict.fromkeys(pseudonyms.values()))
    aliases = list(session.scalars(select(PseudonymAlias).where(PseudonymAlias.new_pseudonym.in_(current))))
    every = current + [a.old_pseudonym for a in aliases]
    report = AccessReport(caf_moment_text(moment), territory, pseudonyms)
    report.sections.append(
        AccessSection(
            "Pseudonymes du foyer",
            ("Finalité", "Pseudonyme"),
            tuple((f, p) for f, p in pseudonyms.items())
            + tuple(
                (f"ancien (rotation du {caf_day(parse_stamp(a.rotated_at)):%d/%m/%Y})", a.old_pseudonym)
                for a in aliases
            ),
        )
    )
    contacts = list(session.scalars(select(ContactRecord).where(ContactRecord.pseudonym.in_(every))))
    report.sections.append(
        AccessSection(
            "Coordonnées détenues (chiffrées ; valeurs communiquées par courrier sur demande)",
            ("Pseudonyme", "Champs renseignés", "Champs invalides écartés", "Importé le"),
            tuple(
                (
                    c.pseudonym[:16] + "…",
                    ", ".join(c.usable_fields),
                    ", ".join(c.invalid_fields) or "aucun",
                    caf_stamp_day(c.imported_at),
                )
                for c in contacts
            ),
        )
    )
    oppositions = list(session.scalars(select(Opposition).where(Opposition.pseudonym.in_(every))))
    report.sections.append(
        AccessSection(
            "Oppositions au contact proactif",
            ("Enregistrée le", "Conservée jusqu'au", "Origine"),
            tuple((caf_stamp_day(o.recorded_at), f"{o.expires_on:%d/%m/%Y}", o.source) for o in oppositions),
        )
    )
    outputs = session.execute(
        select(PersonalOutput)
        .join(OutputHousehold, OutputHousehold.output_id == PersonalOutput.id)
        .where(OutputHousehold.pseudonym.in_(every))
        .order_by(PersonalOutput.created_at)
    ).scalars()
    report.sections.append(
        AccessSection(
            "Listes transmises dans le cadre d'un échange approuvé",
            ("Liste", "Échange", "Date", "Champs", "Conservée jusqu'au", "État"),
            tuple(
                (
                    o.label,
                    f"n°{o.exchange_id}",
                    caf_stamp_day(o.created_at),
                    ", ".join(o.fields),
                    f"{o.retention_until:%d/%m/%Y}",
                    f"purgée le {caf_stamp_day(o.purged_at)}" if o.purged_at else "conservée",
                )
                for o in outputs
            ),
        )
    )
    if extra is not None:
        report.sections.extend(extra(current))
    entries = audit.entries_about(session, every)
    report.sections.append(_audit_section(entries, operation_label))
    audit.append(
        session,
        actor=actor,
        action="personne.acces",
        object_ref=current[0] if current else None,
        counts={"entrees_journal": len(entries)},
    )
    return report


def _audit_section(entries: Sequence[AuditEntry], label: Callable[[str], str]) -> AccessSection:
    return AccessSection(
        "Journal des opérations concernant le foyer",
        ("N°", "Date", "Acteur", "Opération"),
        # The person reads the Caf's clock, not the UTC the entries are stamped and signed in.
        tuple((str(e.seq), caf_moment_text(parse_stamp(e.at)), e.actor, label(e.action)) for e in entries),
    )


def render_text(report: AccessReport) -> str:
    """The access report as plain French text."""
    lines = [
        "Rapport d'accès aux données (RGPD, article 15)",
        f"Territoire : {report.territory} — édité le {report.generated_at}",
        "",
    ]
    for section in report.sections:
        lines.append(section.title)
        lines.append("-" * len(section.title))
        if not section.rows:
            lines.append("(aucune donnée)")
        for row in section.rows:
            lines.append("  " + " ; ".join(f"{c} : {v}" for c, v in zip(section.columns, row, strict=True)))
        lines.append("")
    return "\n".join(lines)


def render_html(report: AccessReport) -> str:
    """The access report as a French, accessible HTML page."""
    env = Environment(loader=PackageLoader("privacy", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("acces.html").render(report=report)
