"""Data subjects: the opposition register (GDPR art. 21) and the access report (art. 15).

Oppositions are kept 12 to 24 months (R.114-9-7 CRPA; 24 by default) and honoured by every selection
through `opposed`. The access report takes a matricule, computes the household's pseudonym with the
key (the matricule itself is never stored or logged), and lists what privacy holds on it: the vault
record (which fields, never their values: those go out only through an approved exchange), the
oppositions, former pseudonyms after a key rotation, and every audit entry about it. Other packages'
data (flags, campaigns, outcomes) come in as extra sections from the front door, which may read them.
What article 15(1) owes besides the data (purposes, recipients, retention) is read from the register's
entries, so that the person is never told other than the register; sources and rights are the tool's.
"""

from __future__ import annotations

import re
import textwrap
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
from privacy.exchanges import PRESUMED_RIGHTS, REASONS
from privacy.keys import Keyring
from privacy.models import (
    AuditEntry,
    ContactRecord,
    Opposition,
    OutputHousehold,
    PersonalOutput,
    PseudonymAlias,
    RegisterEntry,
)
from privacy.pseudonyms import DEFAULT_FINALITE, key_text, pseudonym_of
from privacy.retention import AUDIT_LOG_MONTHS

MIN_OPPOSITION_MONTHS, MAX_OPPOSITION_MONTHS, DEFAULT_OPPOSITION_MONTHS = 12, 24, 24
SOURCE_MAX = 200  # privacy_opposition.source
_CHUNK = 500
_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)
# Width of the text report's paragraphs (its rows stay on one line each, however long).
TEXT_WIDTH = 100


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
    """A part of an access report: a French title, column headers, rows of text, and what the part
    is, said for the person who asked (`note`)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class AccessNotice:
    """A part of the information owed with the data (art. 15(1)): a title, paragraphs, a list."""

    title: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


@dataclass
class AccessReport:
    """Everything held on one household, found from its matricule, and what the person is owed with
    it: purposes, sources, recipients, retention, rights (`notices`, from the register's entries)."""

    generated_at: str
    pseudonyms: dict[str, str]
    sections: list[AccessSection] = field(default_factory=list)
    notices: list[AccessNotice] = field(default_factory=list)
    # The register entries the notices come from: none means the register is not loaded, and the
    # report lacks what article 15(1) requires (the front doors tell the DPO).
    register_codes: tuple[str, ...] = ()


# How each purpose of pseudonymisation is named for the person.
PURPOSE_LABELS = {DEFAULT_FINALITE: "repérage des droits et prises de contact"}
# The contact fields and the detection's fields of an exchange, as the person reads them.
FIELD_LABELS = {
    "civilite": "civilité",
    "nom": "nom",
    "prenom": "prénom",
    "telephone": "téléphone",
    "email": "courriel",
    "adresse": "adresse",
    "code_postal": "code postal",
    "ville": "ville",
    PRESUMED_RIGHTS: "droits que vous pourriez avoir",
    REASONS: "motifs du repérage et montant estimé",
}
# Where an objection came from, when its source is a code: the outreach records those it takes
# from a contact's outcome as `outreach:<how it was recorded>`.
_OUTREACH_ORIGIN = "outreach:"
# Where the data come from (art. 15(1)(g)): the tool collects nothing on its own.
SOURCES = (
    "Votre dossier à la Caf : chaque mois, un extrait (composition du foyer, ressources, logement, "
    "prestations versées, événements de vie), où votre numéro d'allocataire est remplacé par un "
    "pseudonyme.",
    "L'annuaire de vos coordonnées tenu par la Caf, importé dans l'outil où il reste chiffré.",
    "Ce que vous avez dit ou répondu : aux travailleurs sociaux qui vous ont appelé (résultat de "
    "l'appel et leurs notes), dans un questionnaire retourné, par une réponse STOP à un SMS ; et les "
    "courriers revenus ou courriels non distribués.",
    "Le dossier de la Caf du mois suivant, pour savoir si un droit a été ouvert après le contact.",
)
NO_DECISION = (
    "Aucune décision sur vos droits n'est prise par ce traitement automatisé (article 22 du RGPD) : il "
    "signale seulement des droits que vous pourriez avoir ; un droit ne s'ouvre que sur votre demande, "
    "examinée par la Caf."
)
CNIL = (
    "Si vous estimez que vos droits ne sont pas respectés, vous pouvez adresser une réclamation à la "
    "CNIL (www.cnil.fr, 3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07)."
)


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
    output_label: Callable[[str], str] = str,
    now: datetime | None = None,
) -> AccessReport:
    """Build the access report of one household (art. 15) and audit the request (pseudonym only).

    `extra`, given the household's current pseudonyms, returns the sections other packages hold;
    `operation_label` names each operation of the log in words (the log stores codes), and
    `output_label` each list sent (their labels name campaigns by their ids). The information owed
    with the data (purposes, recipients, retention) is read from the register's entries, so that the
    report never says other than the register.
    """
    moment = now or utc_now()
    pseudonyms = {f: pseudonym_for(keyring, matricule, territory=territory, finalite=f) for f in finalites}
    current = list(dict.fromkeys(pseudonyms.values()))
    aliases = list(session.scalars(select(PseudonymAlias).where(PseudonymAlias.new_pseudonym.in_(current))))
    every = current + [a.old_pseudonym for a in aliases]
    report = AccessReport(caf_moment_text(moment), pseudonyms)
    report.sections.append(
        AccessSection(
            "Pseudonymes du foyer",
            ("Usage", "Pseudonyme"),
            tuple((PURPOSE_LABELS.get(f, f"finalité « {f} »"), p) for f, p in pseudonyms.items())
            + tuple(
                (
                    f"ancien pseudonyme, remplacé le {caf_day(parse_stamp(a.rotated_at)):%d/%m/%Y} "
                    "(changement de clé)",
                    a.old_pseudonym,
                )
                for a in aliases
            ),
            note="L'outil ne connaît ni votre nom ni votre numéro d'allocataire : il le remplace par un "
            "pseudonyme, un code calculé avec une clé secrète. Toutes les données ci-dessous sont "
            "rattachées à ce code.",
        )
    )
    contacts = list(session.scalars(select(ContactRecord).where(ContactRecord.pseudonym.in_(every))))
    report.sections.append(
        AccessSection(
            "Coordonnées détenues (chiffrées)",
            (
                "Coordonnées connues",
                "Coordonnées écartées (invalides, courrier revenu, courriel en échec)",
                "Importées le",
            ),
            tuple(
                (
                    _fields_text(c.usable_fields),
                    _fields_text(c.invalid_fields),
                    caf_stamp_day(c.imported_at),
                )
                for c in contacts
            ),
            note="Leurs valeurs ne sont pas reproduites ici : ce sont celles de votre dossier à la Caf, "
            "importées dans l'outil où elles restent chiffrées ; elles ne sont déchiffrées que pour "
            "les listes de contact approuvées par le délégué à la protection des données. Pour les "
            "connaître ou les corriger : votre espace « Mon Compte » sur caf.fr, ou l'accueil de votre "
            "Caf. Elles sont remplacées à chaque nouvel import de l'annuaire, et effacées quand vous "
            "n'y figurez plus.",
        )
    )
    oppositions = list(session.scalars(select(Opposition).where(Opposition.pseudonym.in_(every))))
    report.sections.append(
        AccessSection(
            "Oppositions au contact proactif",
            ("Enregistrée le", "Conservée jusqu'au", "Origine"),
            tuple(
                (caf_stamp_day(o.recorded_at), f"{o.expires_on:%d/%m/%Y}", _origin(o.source))
                for o in oppositions
            ),
            note="Tant qu'une opposition est en vigueur, vous ne figurez sur aucune liste de contact.",
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
            "Listes de contact où vous figurez",
            ("Liste", "Produite le", "Données", "Conservée jusqu'au", "État"),
            tuple(
                (
                    output_label(o.label),
                    caf_stamp_day(o.created_at),
                    _fields_text(o.fields),
                    f"{o.retention_until:%d/%m/%Y}",
                    f"détruite le {caf_stamp_day(o.purged_at)}" if o.purged_at else "conservée",
                )
                for o in outputs
            ),
            note="Fichiers produits pour vous contacter (SMS, courriels, appels, courriers), chacun dans "
            "le cadre d'un échange approuvé par le délégué à la protection des données, qui en fixe les "
            "données et la durée de conservation.",
        )
    )
    if extra is not None:
        report.sections.extend(extra(current))
    entries = audit.entries_about(session, every)
    report.sections.append(_audit_section(entries, operation_label))
    register_entries = list(session.scalars(select(RegisterEntry).order_by(RegisterEntry.code)))
    report.register_codes = tuple(entry.code for entry in register_entries)
    report.notices.extend(_notices(register_entries))
    audit.append(
        session,
        actor=actor,
        action="personne.acces",
        object_ref=current[0] if current else None,
        counts={"entrees_journal": len(entries)},
    )
    return report


def _fields_text(fields: Sequence[str]) -> str:
    return ", ".join(FIELD_LABELS.get(name, name) for name in fields)


def _origin(source: str) -> str:
    return "dite lors d'un contact" if source.startswith(_OUTREACH_ORIGIN) else source


def _audit_section(entries: Sequence[AuditEntry], label: Callable[[str], str]) -> AccessSection:
    return AccessSection(
        "Journal des opérations concernant le foyer",
        ("N°", "Date", "Par", "Opération"),
        # The person reads the Caf's clock, not the UTC the entries are stamped and signed in.
        tuple((str(e.seq), caf_moment_text(parse_stamp(e.at)), e.actor, label(e.action)) for e in entries),
        note="Chaque opération sur vos données est inscrite, avec le compte ou le traitement qui l'a "
        "faite, dans un journal protégé contre toute modification, conservé "
        f"{AUDIT_LOG_MONTHS} mois.",
    )


def _notices(entries: Sequence[RegisterEntry]) -> list[AccessNotice]:
    """What article 15(1) owes the person besides the data, from the register's entries."""
    rights = AccessNotice(
        "Vos droits",
        (
            "Vous pouvez demander la rectification de vos données (article 16 du RGPD), leur limitation "
            "(article 18), ou vous opposer au contact proactif (article 21) auprès de votre Caf ou de "
            "son délégué à la protection des données"
            + (f" : {', '.join(dict.fromkeys(e.dpo for e in entries))}" if entries else "")
            + ".",
            CNIL,
        ),
    )
    sources = AccessNotice("D'où viennent ces données", items=SOURCES)
    if not entries:
        missing = AccessNotice(
            "Finalités, destinataires et durées de conservation",
            (
                "La fiche du registre des traitements n'est pas chargée dans l'outil : demandez ces "
                "informations au délégué à la protection des données de la Caf.",
                NO_DECISION,
            ),
        )
        return [missing, sources, rights]
    return [
        *(
            AccessNotice(
                "Pourquoi vos données sont traitées",
                (
                    f"{e.nom}.",
                    f"Responsable du traitement : {e.responsable}.",
                    f"Base légale : {e.base_legale}.",
                    NO_DECISION,
                ),
                tuple(e.finalites),
            )
            for e in entries
        ),
        sources,
        AccessNotice("Données traitées", items=tuple(dict.fromkeys(d for e in entries for d in e.donnees))),
        AccessNotice(
            "Qui les reçoit",
            tuple(dict.fromkeys(e.transferts for e in entries)),
            tuple(dict.fromkeys(d for e in entries for d in e.destinataires)),
        ),
        AccessNotice(
            "Combien de temps elles sont conservées",
            items=tuple(dict.fromkeys(part for e in entries for part in retention_items(e.conservation))),
        ),
        rights,
    ]


def retention_items(conservation: str) -> list[str]:
    """A register entry's retention text, one duration per item: its parts separated by « ; » outside
    parentheses (a part may itself list things with « ; » between brackets), each capitalised."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(conservation):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth <= 0:
            parts.append(conservation[start:i])
            start = i + 1
    parts.append(conservation[start:])
    return [part[:1].upper() + part[1:] for part in (p.strip() for p in parts) if part]


def render_text(report: AccessReport) -> str:
    """The access report as plain French text: one line per row, its empty fields left out."""
    lines = [
        "Rapport d'accès à vos données (RGPD, article 15)",
        f"Édité le {report.generated_at}",
        "",
    ]
    for section in report.sections:
        lines += [section.title, "-" * len(section.title)]
        if section.note:
            lines += [*textwrap.wrap(section.note, TEXT_WIDTH), ""]
        if not section.rows:
            lines.append("(aucune donnée)")
        for row in section.rows:
            shown = [f"{c} : {v}" for c, v in zip(section.columns, row, strict=True) if v]
            lines.append("  • " + " ; ".join(shown))
        lines.append("")
    for notice in report.notices:
        lines += [notice.title, "=" * len(notice.title)]
        for paragraph in notice.paragraphs:
            lines += [*textwrap.wrap(paragraph, TEXT_WIDTH), ""]
        for item in notice.items:
            lines += textwrap.wrap(item, TEXT_WIDTH, initial_indent="  • ", subsequent_indent="    ")
        if notice.items:
            lines.append("")
    return "\n".join(lines)


def render_html(report: AccessReport) -> str:
    """The access report as a French, accessible HTML page."""
    env = Environment(loader=PackageLoader("privacy", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("acces.html").render(report=report)
