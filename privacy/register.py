"""The record of processing activities (GDPR art. 30): TOML files, loaded into the database, exported.

One file per processing in `config/registre/*.toml`, a `[traitement]` table with French keys. Every
exchange (and campaign) points to an entry's `code`; without an entry, exchanges are refused. Loading
a folder makes the database register exactly its entries, and the audit log says what that changed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import audit
from privacy.canonical import caf_moment_text, utc_now, utc_stamp
from privacy.config_errors import ConfigProblem, read_config
from privacy.errors import InputInvalid, UnknownObject, said_at
from privacy.models import RegisterEntry
from privacy.spreadsheet import InertWriter

REGISTER_DIR = "registre"

# Column labels of the exports, in French, in the order of article 30.
LABELS: dict[str, str] = {
    "code": "Référence",
    "nom": "Traitement",
    "responsable": "Responsable du traitement",
    "dpo": "Délégué à la protection des données",
    "finalites": "Finalités",
    "base_legale": "Base légale",
    "personnes": "Catégories de personnes",
    "donnees": "Catégories de données",
    "destinataires": "Destinataires",
    "transferts": "Transferts hors UE",
    "conservation": "Durées de conservation",
    "mesures_securite": "Mesures de sécurité",
    "aipd": "Analyse d'impact (AIPD)",
    "source": "Fichier source",
    "updated_at": "Mis à jour le",
}


class RegisterEntryIn(BaseModel):
    """A register entry as written in a TOML file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
    nom: str = Field(min_length=3)
    responsable: str = Field(min_length=2)
    dpo: str = Field(min_length=2)
    finalites: list[str] = Field(min_length=1)
    base_legale: str = Field(min_length=3)
    personnes: list[str] = Field(min_length=1)
    donnees: list[str] = Field(min_length=1)
    destinataires: list[str] = Field(min_length=1)
    transferts: str
    conservation: str = Field(min_length=3)
    mesures_securite: list[str] = Field(min_length=1)
    aipd: str


class _RegisterFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    traitement: RegisterEntryIn


_FIXES = {
    "missing": "ajoutez-la (voir les clés attendues dans la fiche d'exemple)",
    "extra_forbidden": "supprimez cette clé ou corrigez son orthographe",
    "string_pattern_mismatch": "un code de 2 à 64 lettres, chiffres, « _ », « . » ou « - »",
}


def load_file(path: Path) -> RegisterEntryIn:
    """Read and validate one register file; `InputInvalid` names the key and the fix."""
    try:
        return read_config(path, _RegisterFile, _FIXES).traitement
    except ConfigProblem as problem:
        others = [said_at(o.key, o.problem, o.fix, line=o.line) for o in problem.problems[1:]]
        raise InputInvalid(
            str(path), problem.problem, problem.fix, key=problem.key, line=problem.line, others=others
        ) from None


def _register_files(folder: Path) -> list[Path]:
    # Loading makes the register exactly the folder's entries: a mistyped or empty folder would
    # otherwise empty the register, and every exchange and campaign with it.
    if not folder.is_dir():
        raise InputInvalid(
            str(folder),
            "dossier des fiches du registre introuvable",
            "donnez le dossier qui contient les fiches *.toml (par défaut config/registre)",
        )
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise InputInvalid(
            str(folder),
            "aucune fiche *.toml dans ce dossier",
            "donnez le dossier qui contient les fiches du registre (par défaut config/registre)",
        )
    return paths


def load_dir(folder: Path) -> list[RegisterEntryIn]:
    """Every `*.toml` entry of a folder, sorted by file name; a missing or empty folder and a duplicated
    code are errors (`InputInvalid`)."""
    entries: list[RegisterEntryIn] = []
    seen: dict[str, Path] = {}
    for path in _register_files(folder):
        entry = load_file(path)
        if entry.code in seen:
            raise InputInvalid(
                str(path), f"code « {entry.code} » déjà utilisé par {seen[entry.code].name}", ""
            )
        seen[entry.code] = path
        entries.append(entry)
    return entries


@dataclass
class RegisterChanges:
    """What a load changed in the register: codes added, changed (with the fields) and removed."""

    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def _changed_fields(row: RegisterEntry, entry: RegisterEntryIn) -> list[str]:
    return [name for name, value in entry.model_dump().items() if getattr(row, name) != value]


def pending_changes(session: Session, entries: Sequence[RegisterEntryIn]) -> RegisterChanges:
    """What loading `entries` would change in the stored register (nothing is changed here)."""
    existing = {row.code: row for row in session.scalars(select(RegisterEntry))}
    changes = RegisterChanges(removed=sorted(set(existing) - {entry.code for entry in entries}))
    for entry in entries:
        row = existing.get(entry.code)
        if row is None:
            changes.added.append(entry.code)
        elif fields := _changed_fields(row, entry):
            changes.changed[entry.code] = fields
    return changes


def _write(row: RegisterEntry, entry: RegisterEntryIn, *, source: str, stamp: str) -> None:
    for name, value in entry.model_dump().items():
        setattr(row, name, value)
    row.source = source
    row.updated_at = stamp


def save(
    session: Session,
    entries: Sequence[RegisterEntryIn],
    *,
    actor: str,
    source: str,
    now: datetime | None = None,
) -> RegisterChanges:
    """Make the register exactly `entries` (by code): add, update, remove the others; audited.

    The audit entry names the codes added, changed (with the names of the fields changed) and
    removed, so that the DPO can tell what a load did to the register. An entry whose content is
    unchanged keeps its source and date.
    """
    moment = now or utc_now()
    stamp = utc_stamp(moment)
    changes = pending_changes(session, entries)
    existing = {row.code: row for row in session.scalars(select(RegisterEntry))}
    for entry in entries:
        if entry.code in changes.added:
            row = RegisterEntry(code=entry.code)
            session.add(row)
        elif entry.code in changes.changed:
            row = existing[entry.code]
        else:
            continue
        _write(row, entry, source=source, stamp=stamp)
    for code in changes.removed:
        session.delete(existing[code])
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="registre.chargement",
        object_ref="registre",
        counts={
            "fiches": len(entries),
            "ajoutees": len(changes.added),
            "modifiees": len(changes.changed),
            "retirees": len(changes.removed),
        },
        details={"ajoutees": changes.added, "modifiees": changes.changed, "retirees": changes.removed},
    )
    return changes


def entries(session: Session) -> list[RegisterEntry]:
    """Every register entry, by code."""
    return list(session.scalars(select(RegisterEntry).order_by(RegisterEntry.code)))


def get(session: Session, code: str) -> RegisterEntry:
    """One entry, or `UnknownObject`."""
    row = session.get(RegisterEntry, code)
    if row is None:
        raise UnknownObject("fiche du registre", code)
    return row


def _cell(value: object) -> str:
    return " | ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def to_csv(rows: Sequence[RegisterEntry]) -> str:
    """The register as a French CSV (`;` separated, one entry per line, lists joined by ` | `)."""
    buffer = io.StringIO()
    writer = InertWriter(buffer)
    writer.writerow(LABELS.values())
    for row in rows:
        writer.writerow(_cell(getattr(row, name)) for name in LABELS)
    return buffer.getvalue()


def to_html(rows: Sequence[RegisterEntry], *, generated_at: datetime | None = None) -> str:
    """The register as a French, accessible HTML page."""
    env = Environment(loader=PackageLoader("privacy", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("registre.html").render(
        rows=rows, labels=LABELS, generated_at=caf_moment_text(generated_at or utc_now())
    )
