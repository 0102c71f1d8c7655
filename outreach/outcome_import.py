"""`uptake outcomes import FILE.csv`: outcomes typed by social workers in a spreadsheet, all or nothing.

Columns (header line required; `;` or `,` separated; UTF-8): `id_foyer` or `reference` (the one
printed on a letter, `Q-<lancement>-<rang>`: a returned letter is typed back by it), `resultat`,
`date` (AAAA-MM-JJ, or with the time), optional `montant` (required for `droit_ouvert`; decimal comma
accepted), `acteur`, `canal`, `commentaire`. Every bad line is reported with its line number (the
header is line 1) and nothing is imported if any line is bad.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import CHANNELS
from outreach.errors import LineProblem, OutcomeImportInvalid, OutreachError
from outreach.models import Assignment
from outreach.outcomes import OUTCOMES, record_outcome
from outreach.questionnaires import parse_reference

REQUIRED_COLUMNS = ("resultat", "date")
# A household is named by one of these.
HOUSEHOLD_COLUMNS = ("id_foyer", "reference")
OPTIONAL_COLUMNS = ("montant", "acteur", "canal", "commentaire")
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


@dataclass(frozen=True)
class ParsedOutcome:
    """One valid line."""

    line: int
    id_foyer: str
    launch_id: int | None
    resultat: str
    survenu_le: dt.datetime
    montant: float | None
    acteur: str | None
    canal: str | None
    commentaire: str | None


def parse_date(text: str) -> dt.datetime | None:
    """A date typed in a spreadsheet (AAAA-MM-JJ, with or without the time, or JJ/MM/AAAA), in UTC."""
    for parse in (dt.datetime.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y")):
        try:
            moment = parse(text)
        except ValueError:
            continue
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return None


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the numbered lines (header = line 1) of a CSV typed in a spreadsheet.

    `;` or `,` separated (whichever the header uses more), UTF-8 with or without BOM, cells stripped.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise OutreachError(f"{path} : fichier introuvable. Vérifiez le chemin.") from None
    except UnicodeDecodeError:
        raise OutcomeImportInvalid(
            str(path),
            [LineProblem(1, "(fichier)", "le fichier n'est pas en UTF-8 : réenregistrez-le en UTF-8")],
        ) from None
    first = text.splitlines()[0] if text else ""
    reader = csv.DictReader(text.splitlines(), delimiter=";" if first.count(";") >= first.count(",") else ",")
    header = [h.strip() for h in (reader.fieldnames or [])]
    rows = [
        (number, {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None})
        for number, raw in enumerate(reader, start=2)
    ]
    return header, rows


def _parse_amount(text: str) -> float | None:
    cleaned = text.replace("\u202f", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def parse_outcomes(
    path: Path, known: set[str], *, now: dt.datetime, referenced: Mapping[tuple[int, int], str] | None = None
) -> list[ParsedOutcome]:
    """Every line of the file, validated; `OutcomeImportInvalid` lists every bad line.

    `known` holds the pseudonyms some campaign flagged; `referenced` the pseudonym of each (launch,
    rank) a reference may name.
    """
    header, rows = read_rows(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    problems = [LineProblem(1, c, "colonne obligatoire absente de l'en-tête") for c in missing]
    if not any(c in header for c in HOUSEHOLD_COLUMNS):
        problems.append(LineProblem(1, "id_foyer", "colonne absente : il faut id_foyer ou reference"))
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    parsed: list[ParsedOutcome] = []
    for number, row in rows:
        before = len(problems)
        pseudonym, launch_id = _household(number, row, known, referenced or {}, problems)
        result = row.get("resultat", "")
        if result not in OUTCOMES:
            problems.append(
                LineProblem(number, "resultat", f"`{result}` inconnu (valeurs : {', '.join(OUTCOMES)})")
            )
        moment = parse_date(row.get("date", ""))
        if moment is None:
            problems.append(LineProblem(number, "date", "date illisible (AAAA-MM-JJ ou JJ/MM/AAAA)"))
        elif moment > now + dt.timedelta(days=1):
            problems.append(LineProblem(number, "date", "date dans le futur"))
        amount: float | None = None
        if row.get("montant"):
            amount = _parse_amount(row["montant"])
            if amount is None or amount < 0:
                problems.append(LineProblem(number, "montant", "montant illisible (par exemple 182,50)"))
            elif result != "droit_ouvert":
                problems.append(
                    LineProblem(number, "montant", "un montant n'est admis que pour `droit_ouvert`")
                )
        elif result == "droit_ouvert":
            problems.append(LineProblem(number, "montant", "montant mensuel obligatoire pour `droit_ouvert`"))
        channel = row.get("canal") or None
        if channel is not None and channel not in CHANNELS:
            problems.append(LineProblem(number, "canal", f"canal inconnu (valeurs : {', '.join(CHANNELS)})"))
        if len(problems) == before:
            assert moment is not None
            parsed.append(
                ParsedOutcome(
                    number,
                    pseudonym,
                    launch_id,
                    result,
                    moment,
                    amount,
                    row.get("acteur") or None,
                    channel,
                    row.get("commentaire") or None,
                )
            )
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    return parsed


def _household(
    number: int,
    row: Mapping[str, str],
    known: set[str],
    referenced: Mapping[tuple[int, int], str],
    problems: list[LineProblem],
) -> tuple[str, int | None]:
    """The line's household (its pseudonym, and its launch when named by reference)."""
    pseudonym, text = row.get("id_foyer", ""), row.get("reference", "")
    if pseudonym and text:
        problems.append(LineProblem(number, "reference", "donnez id_foyer ou reference, pas les deux"))
    elif text:
        where = parse_reference(text)
        if where is None:
            problems.append(LineProblem(number, "reference", "référence mal écrite (par exemple Q-12-345)"))
        elif where not in referenced:
            problems.append(LineProblem(number, "reference", f"{text} : aucun courrier n'a cette référence"))
        else:
            return referenced[where], where[0]
    elif not _PSEUDONYM.match(pseudonym):
        problems.append(LineProblem(number, "id_foyer", "pseudonyme absent ou mal formé"))
    elif pseudonym not in known:
        problems.append(LineProblem(number, "id_foyer", "foyer inconnu : aucune campagne ne l'a signalé"))
    return pseudonym, None


def import_outcomes(session: Session, path: Path, *, actor: str, now: dt.datetime | None = None) -> int:
    """Validate then record every outcome of the file in the caller's transaction; returns the count."""
    moment = now or dt.datetime.now(dt.UTC)
    known = set(session.scalars(select(Assignment.id_foyer).distinct()))
    referenced: dict[tuple[int, int], str] = {}
    for launch_id, rank, pseudonym in session.execute(
        select(Assignment.launch_id, Assignment.rang, Assignment.id_foyer).where(Assignment.rang.is_not(None))
    ):
        if rank is not None:
            referenced[(launch_id, rank)] = pseudonym
    lines = parse_outcomes(path, known, now=moment, referenced=referenced)
    for line in lines:
        record_outcome(
            session,
            id_foyer=line.id_foyer,
            launch_id=line.launch_id,
            resultat=line.resultat,
            acteur=line.acteur or actor,
            survenu_le=line.survenu_le,
            montant=line.montant,
            canal=line.canal,
            source="import",
            commentaire=line.commentaire,
            now=moment,
        )
    return len(lines)
