"""`uptake outcomes import FILE`: outcomes typed by social workers in a spreadsheet, all or nothing.

The file is a CSV or an Excel workbook (.xlsx: the call list uptake wrote, filled in). Columns (header
line required; a CSV `;`, `,` or tab separated, in UTF-8): `id_foyer` or `reference` (the one
printed on a letter, `Q-<lancement>-<rang>`: a returned letter is typed back by it), `resultat`,
`date` (AAAA-MM-JJ, or with the time), optional `montant` (required for `droit_ouvert`; decimal comma
accepted), `acteur`, `canal`, `commentaire`, `lancement` (the launch's number: the line is attached to
it); any other column is refused, as its values would be lost, except in a call list uptake wrote, which
may come back filled in as it is (`CALL_LIST_COLUMNS`). A call list names its campaign and launch on
every line, so that the lists of two launches merged by hand go back each line to its own launch.
Every bad line is reported with its line number (the header is line 1) and nothing is imported if any
line is bad.

An import may be run again: an outcome already recorded identically is counted, not recorded twice,
so that the indicators do not grow with each run. Two outcomes are the same when they have the same
household, launch (the one the line's `lancement` or reference names, else the household's latest,
where it is attached),
result, day it happened (in France) and amount; who typed it, the channel and the note do not make
another outcome of it. A file holding the same outcome twice is refused.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.campaigns import CHANNELS
from outreach.channels import WORKLIST_HEADERS
from outreach.errors import LineProblem, OutcomeImportInvalid, OutcomeInvalid, OutreachError
from outreach.models import Assignment, Launch, Outcome
from outreach.outcomes import check_note, check_outcome, record_outcome
from outreach.questionnaires import parse_reference
from outreach.workbook import is_xlsx, workbook_records
from privacy import audit
from privacy.canonical import caf_day, caf_time_zone
from privacy.rotation import current_pseudonyms

REQUIRED_COLUMNS = ("resultat", "date")
# A household is named by one of these.
HOUSEHOLD_COLUMNS = ("id_foyer", "reference")
OPTIONAL_COLUMNS = ("montant", "acteur", "canal", "commentaire", "lancement")
OUTCOME_COLUMNS = (*HOUSEHOLD_COLUMNS, *REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
# A call list uptake wrote comes back filled in: its own columns (names, phone, script…) are read
# but not kept, its French spreadsheet headers name its columns, and its lines left without a
# result (households not called yet) are skipped.
CALL_LIST_COLUMNS = tuple(c for c in WORKLIST_HEADERS if c not in OUTCOME_COLUMNS)
CALL_LIST_LABELS = {label: name for name, label in WORKLIST_HEADERS.items()}
_CALL_LIST_MARK = "appeler_a_partir_de"
_PSEUDONYM = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
# A launch's number as the call list writes it (12), or as messages and pages name it (lancement n°12).
_LAUNCH_NUMBER = re.compile(r"^(?:lancement\s*)?(?:n°\s*)?(?P<number>\d{1,9})$", re.IGNORECASE)
# Tried in this order when the header holds as many of each: a French spreadsheet writes `;`.
_SEPARATORS = (";", ",", "\t")
_SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "une tabulation"}
_CHUNK = 500

# What makes two outcomes the same: household, launch, result, day, amount in cents.
OutcomeIdentity = tuple[str, int | None, str, dt.date, int | None]


def outcome_identity(
    id_foyer: str, launch_id: int | None, resultat: str, survenu_le: dt.datetime, montant: float | None
) -> OutcomeIdentity:
    """The identity of an outcome, by which a second import of it is recognised."""
    cents = None if montant is None else round(montant * 100)
    # The day at the Caf: a worker's entry at 00:30 and a sheet's date name the same day.
    return id_foyer, launch_id, resultat, caf_day(survenu_le), cents


@dataclass(frozen=True)
class ParsedOutcome:
    """One valid line; `launch_id` is the launch its `lancement` or reference names, `attached_to` the
    launch it will be attached to (that one, else the household's latest)."""

    line: int
    id_foyer: str
    launch_id: int | None
    attached_to: int | None
    resultat: str
    survenu_le: dt.datetime
    montant: float | None
    acteur: str | None
    canal: str | None
    commentaire: str | None

    @property
    def identity(self) -> OutcomeIdentity:
        """What makes it the same as another outcome."""
        return outcome_identity(self.id_foyer, self.attached_to, self.resultat, self.survenu_le, self.montant)


@dataclass(frozen=True)
class KnownLaunches:
    """What a line's `lancement` is checked against: each launch's campaign, and which of the
    (launch, household) pairs the file names are in their launch."""

    campaigns: Mapping[int, str]
    members: Collection[tuple[int, str]]


@dataclass(frozen=True)
class OutcomesImported:
    """What an import did: outcomes recorded, and lines already recorded identically (left as they were)."""

    recorded: int
    already_recorded: int

    @property
    def lines(self) -> int:
        """The file's lines (blank ones aside)."""
        return self.recorded + self.already_recorded


def parse_date(text: str) -> dt.datetime | None:
    """A date typed in a spreadsheet (AAAA-MM-JJ, with or without the time, or JJ/MM/AAAA), in UTC.

    Without a time zone it is the Caf's: « 02/03/2026 » typed in Cayenne is that day there, not the
    evening before (midnight UTC)."""
    for parse in (dt.datetime.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y")):
        try:
            moment = parse(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=caf_time_zone())
        return moment.astimezone(dt.UTC)
    return None


def no_line(path: Path) -> OutreachError:
    """The refusal of a file that holds its header and no line, given by hand: nothing to import is the
    wrong file. The imports accept it, as a provider's drop or the demo's may hold no line."""
    return OutreachError(
        f"{path} : le fichier ne contient aucune ligne sous son en-tête, rien n'a été importé. Vérifiez "
        "que c'est le bon fichier, enregistré après la saisie."
    )


def read_rows(
    path: Path,
    columns: Collection[str] | None,
    *,
    required: Sequence[tuple[str, ...]] = (),
    labels: Mapping[str, str] | None = None,
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the numbered lines (header = line 1) of a CSV typed in a spreadsheet, or of
    the spreadsheet itself (an Excel .xlsx: its first sheet, row numbers as the spreadsheet shows them).

    `;`, `,` or tab separated (whichever the header uses most), UTF-8 with or without BOM, cells
    stripped; a line whose cells are all empty (`;;;;` under the data) is skipped. A header cell
    names a column of `columns` whatever its case and accents (`Résultat` is `resultat`), or by one of
    its `labels` (other name → column: the French headers uptake writes in its spreadsheets). Nothing
    typed is dropped silently: `OutcomeImportInvalid` names every column outside `columns` (with the
    closest known one; `None` for a provider's export, whose other columns are not read), every column
    of `required` missing (each a tuple of alternatives: one of them is enough) and every line whose
    number of cells differs from the header's.
    """
    records, problems, separator = _read_records(path)
    if not any(any(cells) for _, cells in records) and not problems:
        raise OutreachError(
            f"{path} : le fichier est vide. Il faut une ligne d'en-tête (les noms des colonnes) puis une "
            "ligne par enregistrement : vérifiez que c'est le bon fichier, enregistré après la saisie."
        )
    header = [cell.strip() for cell in records[0][1]] if records else []
    if columns is not None:
        header = _known_names(header, columns, labels or {})
    if separator is None:
        # A workbook's rows are as wide as its sheet: a cell beyond the header is one without a name.
        width = max(len(cells) for _, cells in records)
        header += [""] * (width - len(header))
        records = [(number, cells + [""] * (width - len(cells))) for number, cells in records]
    if not any(header):
        said = "la première ligne doit être l'en-tête (les noms des colonnes)"
        raise OutcomeImportInvalid(str(path), problems or [LineProblem(1, "(ligne)", said)])
    problems = _header_problems(header, columns, required) + problems
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in records[1:]:
        values = [cell.strip() for cell in cells]
        if not any(values):
            continue
        before = len(problems)
        problems += _shape_problems(number, header, values, separator)
        if len(problems) == before:
            rows.append((number, {name: value for name, value in zip(header, values, strict=True) if name}))
    if problems:
        raise OutcomeImportInvalid(str(path), sorted(problems, key=lambda p: p.line))
    return [name for name in header if name], rows


# Files given for a CSV by mistake, told by their first bytes rather than as text that is not UTF-8.
_NOT_CSV = (
    (b"PK\x03\x04", "c'est un classeur LibreOffice (.ods) ou une archive, pas un classeur Excel ni un CSV"),
    (b"\xd0\xcf\x11\xe0", "c'est un classeur Excel ancien (.xls), ni .xlsx ni CSV"),
    (b"PAR1", "c'est un fichier Parquet, pas un fichier CSV"),
    (b"%PDF", "c'est un document PDF, pas un fichier CSV"),
)
_AS_CSV = (
    "Ouvrez-le dans le tableur et enregistrez-le en classeur Excel (.xlsx) ou en « CSV UTF-8 (délimité "
    "par des points-virgules) »."
)


def _read_records(path: Path) -> tuple[list[tuple[int, list[str]]], list[LineProblem], str | None]:
    """The file's records (an Excel workbook's first sheet, or a CSV), the problem that stopped the
    reading of a CSV, and the CSV's separator (None for a workbook); a missing file, a folder, another
    kind of file or bytes that are not UTF-8 are told."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise OutreachError(f"{path} : fichier introuvable. Vérifiez le chemin.") from None
    except IsADirectoryError:
        raise OutreachError(
            f"{path} : c'est un dossier, pas un fichier. Donnez le chemin du fichier (.xlsx ou CSV)."
        ) from None
    if is_xlsx(data):
        return workbook_records(data), [], None
    for magic, what in _NOT_CSV:
        if data.startswith(magic):
            raise OutreachError(f"{path} : {what}. {_AS_CSV}")
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise OutcomeImportInvalid(
            str(path),
            [
                LineProblem(
                    line, "(fichier)", "le fichier n'est pas en UTF-8 : réenregistrez-le en « CSV UTF-8 »"
                )
            ],
        ) from None
    if not text.strip():
        return [], [], ""
    separator = max(_SEPARATORS, key=text.splitlines()[0].count)
    records, problems = _records(text, separator)
    return records, problems, separator


def _records(text: str, separator: str) -> tuple[list[tuple[int, list[str]]], list[LineProblem]]:
    """Each record with the line it starts on; reading stops at the first one that is not CSV (what
    follows a stray quote cannot be trusted), told as a problem of that line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        number = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records, []
        except csv.Error as exc:
            return records, [LineProblem(number, "(ligne)", _malformed(exc))]
        records.append((number, cells))


def _malformed(exc: csv.Error) -> str:
    # The csv module tells an over-long cell by this wording only. Its message is never shown: others
    # quote a character of the file.
    if "field larger than field limit" in str(exc):
        limit = f"{csv.field_size_limit():,}".replace(",", "\u202f")
        return (
            f"une cellule dépasse {limit} caractères : raccourcissez-la (un guillemet non refermé plus haut "
            "peut aussi en être la cause) ; les lignes suivantes n'ont pas été lues"
        )
    return (
        "CSV mal formé (guillemet non refermé, ou texte collé après un guillemet fermant) : corrigez la "
        "ligne dans le tableur puis réenregistrez le fichier ; les lignes suivantes n'ont pas été lues"
    )


def folded(text: str) -> str:
    """`text` without case, accents nor repeated spaces: how a header cell is compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _known_names(header: Sequence[str], columns: Collection[str], labels: Mapping[str, str]) -> list[str]:
    """Each header cell as the column it names (by its name or a label, any case or accents)."""
    names = {folded(name): name for name in columns} | {folded(label): name for label, name in labels.items()}
    return [names.get(folded(cell), cell) for cell in header]


def _header_problems(
    header: Sequence[str], columns: Collection[str] | None, required: Sequence[tuple[str, ...]]
) -> list[LineProblem]:
    """Columns repeated, unknown (with the closest known name) or missing from the header."""
    problems: list[LineProblem] = []
    seen: set[str] = set()
    for name in (n for n in header if n):
        if name in seen:
            problems.append(LineProblem(1, name, "colonne en double dans l'en-tête : gardez-en une seule"))
        elif columns is not None and name not in columns:
            problems.append(LineProblem(1, name, _unknown_column(name, columns)))
        seen.add(name)
    for alternatives in required:
        if not seen & set(alternatives):
            said = (
                "colonne obligatoire absente de l'en-tête"
                if len(alternatives) == 1
                else f"colonne absente : il faut {' ou '.join(alternatives)}"
            )
            problems.append(LineProblem(1, alternatives[0], said))
    return problems


def _unknown_column(name: str, columns: Collection[str]) -> str:
    close = difflib.get_close_matches(name.casefold(), list(columns), n=1)
    if close:
        return f"colonne inconnue : vouliez-vous dire `{close[0]}` ? Renommez-la dans l'en-tête"
    return f"colonne inconnue (colonnes possibles : {', '.join(columns)}) : renommez-la ou supprimez-la"


def _shape_problems(
    number: int, header: Sequence[str], values: Sequence[str], separator: str | None
) -> list[LineProblem]:
    """A line with more or fewer cells than the header, or a value under a column without a name."""
    shown = _SEPARATOR_NAMES.get(separator or "", "")
    if len(values) > len(header):
        return [
            LineProblem(
                number,
                f"(colonne n° {len(header) + 1})",
                f"{len(values)} cellules pour {len(header)} colonnes dans l'en-tête : une valeur contient "
                f"sans doute le séparateur ({shown}) ; mettez-la entre guillemets, ou ajoutez sa colonne "
                "à l'en-tête",
            )
        ]
    if len(values) < len(header):
        return [
            LineProblem(
                number,
                header[len(values)] or f"(colonne n° {len(values) + 1})",
                f"{len(values)} cellules pour {len(header)} colonnes dans l'en-tête : complétez la ligne "
                "(une cellule, vide au besoin, par colonne)",
            )
        ]
    return [
        LineProblem(
            number,
            f"(colonne sans nom n° {position})",
            "valeur sous une colonne sans nom : nommez la colonne dans l'en-tête, ou videz la cellule",
        )
        for position, (name, value) in enumerate(zip(header, values, strict=True), start=1)
        if not name and value
    ]


def _parse_amount(text: str) -> float | None:
    cleaned = text.replace("\u202f", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def parse_outcomes(
    path: Path,
    latest: Mapping[str, int],
    *,
    now: dt.datetime,
    referenced: Mapping[tuple[int, int], str] | None = None,
    renamed: Callable[[Collection[str]], Mapping[str, str]] | None = None,
    launches: Callable[[Collection[tuple[int, str]]], KnownLaunches] | None = None,
) -> list[ParsedOutcome]:
    """Every line of the file, validated; `OutcomeImportInvalid` lists every bad line.

    `launches` tells, for the (launch, household) pairs the file's `lancement` column names, what they
    are checked against (`KnownLaunches`); without it, no launch is known.

    `renamed` gives the current pseudonym of those of the file no campaign knows, when a key rotation
    renamed them since the file was written (a call list filled in across a rotation).

    `latest` holds the latest launch of each household some campaign flagged; `referenced` the
    pseudonym of each (launch, rank) a reference may name. The same outcome twice is a bad line.
    """
    header, rows = read_rows(
        path,
        (*OUTCOME_COLUMNS, *CALL_LIST_COLUMNS),
        required=(HOUSEHOLD_COLUMNS, *((c,) for c in REQUIRED_COLUMNS)),
        labels=CALL_LIST_LABELS,
    )
    if _CALL_LIST_MARK in header:
        rows = [(number, row) for number, row in rows if row.get("resultat")]
    elif stray := [c for c in header if c in CALL_LIST_COLUMNS]:
        # Outside a call list these columns would be typed for nothing: refused, as any unknown one.
        raise OutcomeImportInvalid(
            str(path), [LineProblem(1, c, _unknown_column(c, OUTCOME_COLUMNS)) for c in stray]
        )
    unknown = {row["id_foyer"] for _, row in rows if row.get("id_foyer") and row["id_foyer"] not in latest}
    current = renamed(unknown) if renamed is not None and unknown else {}
    rows = [
        (number, {**row, "id_foyer": current[row["id_foyer"]]} if row.get("id_foyer") in current else row)
        for number, row in rows
    ]
    named = {
        (launch_id, row.get("id_foyer", ""))
        for _, row in rows
        if (launch_id := parse_launch(row.get("lancement", ""))) is not None
    }
    known = launches(named) if launches is not None and named else KnownLaunches({}, ())
    problems: list[LineProblem] = []
    parsed: list[ParsedOutcome] = []
    first_of: dict[OutcomeIdentity, int] = {}
    for number, row in rows:
        line = _parse_line(number, row, latest, referenced or {}, known, now, problems)
        if line is None:
            continue
        first = first_of.setdefault(line.identity, number)
        if first != number:
            problems.append(
                LineProblem(
                    number,
                    "resultat",
                    f"même résultat qu'à la ligne {first} (même foyer, lancement, résultat, jour et montant) "
                    ": supprimez l'une des deux lignes",
                )
            )
        else:
            parsed.append(line)
    if problems:
        raise OutcomeImportInvalid(str(path), problems)
    return parsed


def _parse_line(
    number: int,
    row: Mapping[str, str],
    latest: Mapping[str, int],
    referenced: Mapping[tuple[int, int], str],
    known: KnownLaunches,
    now: dt.datetime,
    problems: list[LineProblem],
) -> ParsedOutcome | None:
    """The line's outcome, or None when it is bad (its problems added to `problems`)."""
    before = len(problems)
    pseudonym, launch_id = _household(number, row, latest, referenced, problems)
    if row.get("lancement"):
        launch_id = _named_launch(number, row, pseudonym, launch_id, known, problems, len(problems) > before)
    checked = _result_and_amount(number, row, problems)
    moment = parse_date(row.get("date", ""))
    if moment is None:
        problems.append(LineProblem(number, "date", "date illisible (AAAA-MM-JJ ou JJ/MM/AAAA)"))
    elif moment > now + dt.timedelta(days=1):
        problems.append(
            LineProblem(number, "date", "date dans le futur : écrivez le jour où le résultat a été obtenu")
        )
    channel = row.get("canal") or None
    if channel is not None and channel not in CHANNELS:
        problems.append(LineProblem(number, "canal", f"canal inconnu (valeurs : {', '.join(CHANNELS)})"))
    note = row.get("commentaire") or None
    try:
        check_note(note)
    except OutcomeInvalid as refused:  # never quoting the note: it may hold what it must not
        problems.append(LineProblem(number, "commentaire", f"{refused.problem}. {refused.fix}"))
    if len(problems) > before or checked is None or moment is None:
        return None
    result, amount = checked
    return ParsedOutcome(
        number,
        pseudonym,
        launch_id,
        launch_id if launch_id is not None else latest.get(pseudonym),
        result,
        moment,
        amount,
        row.get("acteur") or None,
        channel,
        note,
    )


def _result_and_amount(
    number: int, row: Mapping[str, str], problems: list[LineProblem]
) -> tuple[str, float | None] | None:
    """The line's result and amount, checked as a recorded outcome is (`check_outcome`), or None."""
    result, text = row.get("resultat", ""), row.get("montant", "")
    amount = _parse_amount(text) if text else None
    if text and amount is None:
        problems.append(
            LineProblem(number, "montant", "montant illisible : écrivez un nombre, par exemple 182,50")
        )
        return None
    try:
        check_outcome(result, amount)
    except OutcomeInvalid as refused:
        problems.append(LineProblem(number, refused.field, f"{refused.problem}. {refused.fix}"))
        return None
    return result, amount


def _household(
    number: int,
    row: Mapping[str, str],
    known: Collection[str],
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


def parse_launch(text: str) -> int | None:
    """The launch number a `lancement` cell holds (`12`, `n°12`, `lancement n°12`), or None."""
    found = _LAUNCH_NUMBER.match(text.strip())
    return int(found["number"]) if found else None


def _named_launch(
    number: int,
    row: Mapping[str, str],
    pseudonym: str,
    by_reference: int | None,
    known: KnownLaunches,
    problems: list[LineProblem],
    household_bad: bool,
) -> int | None:
    """The launch the line's `lancement` names, checked: it exists, is of the line's campaign (when the
    call list gives it), agrees with the reference and holds the household."""
    launch_id = parse_launch(row["lancement"])
    origin = "reprenez-le de la liste d'appels d'où vient la ligne"
    if launch_id is None:
        problems.append(
            LineProblem(
                number,
                "lancement",
                "numéro de lancement illisible : écrivez le numéro seul (par exemple 12), tel que la liste "
                "d'appels le donne, ou videz la cellule",
            )
        )
        return None
    owner = known.campaigns.get(launch_id)
    campaign = row.get("campagne", "")
    if owner is None:
        problems.append(
            LineProblem(
                number,
                "lancement",
                f"aucun lancement n'a le n°{launch_id} (voir `uptake campaigns list`) : {origin}",
            )
        )
    elif campaign and campaign != owner:
        said = f"de {campaign}" if campaign in known.campaigns.values() else "de la campagne de cette ligne"
        problems.append(
            LineProblem(
                number,
                "lancement",
                f"le lancement n°{launch_id} est un lancement de {owner}, pas {said} : la ligne a été "
                f"recopiée d'une autre liste ; reprenez sa campagne et son numéro de lancement de la liste "
                "d'appels d'où elle vient",
            )
        )
    elif by_reference is not None and by_reference != launch_id:
        problems.append(
            LineProblem(
                number,
                "lancement",
                f"la référence est celle du lancement n°{by_reference}, pas du n°{launch_id} : corrigez "
                "l'une des deux, ou videz la cellule du lancement",
            )
        )
    elif not household_bad and (launch_id, pseudonym) not in known.members:
        problems.append(
            LineProblem(
                number,
                "lancement",
                f"ce foyer n'est pas dans le lancement n°{launch_id} ({owner}) : la ligne a sans doute été "
                f"recopiée sous un autre numéro ; {origin}",
            )
        )
    return launch_id


def import_outcome_file(
    session: Session, path: Path, *, actor: str, now: dt.datetime | None = None
) -> OutcomesImported:
    """Validate then record every outcome of the file not already recorded, in the caller's transaction."""
    moment = now or dt.datetime.now(dt.UTC)
    latest = {
        pseudonym: launch_id
        for pseudonym, launch_id in session.execute(
            select(Assignment.id_foyer, func.max(Assignment.launch_id)).group_by(Assignment.id_foyer)
        )
    }
    referenced: dict[tuple[int, int], str] = {}
    for launch_id, rank, pseudonym in session.execute(
        select(Assignment.launch_id, Assignment.rang, Assignment.id_foyer).where(Assignment.rang.is_not(None))
    ):
        if rank is not None:
            referenced[(launch_id, rank)] = pseudonym
    lines = parse_outcomes(
        path,
        latest,
        now=moment,
        referenced=referenced,
        renamed=lambda unknown: current_pseudonyms(session, unknown),
        launches=lambda named: _known_launches(session, named),
    )
    recorded = _recorded_identities(session, {line.id_foyer for line in lines})
    fresh = [line for line in lines if line.identity not in recorded]
    for line in fresh:
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
    # What was recorded, from which file and by whom; never a household's line.
    audit.append(
        session,
        actor=actor,
        action="resultats.import",
        object_ref=f"fichier:{path.name}",
        counts={"lignes": len(lines), "resultats": len(fresh)},
    )
    return OutcomesImported(len(fresh), len(lines) - len(fresh))


def chunks(names: Collection[str]) -> list[list[str]]:
    """`names` in lists short enough for an `IN (…)` on every database."""
    ordered = sorted(names)
    return [ordered[start : start + _CHUNK] for start in range(0, len(ordered), _CHUNK)]


def _known_launches(session: Session, named: Collection[tuple[int, str]]) -> KnownLaunches:
    """Each launch's campaign, and which of the `named` (launch, household) pairs are in their launch."""
    campaigns = {
        launch_id: campaign for launch_id, campaign in session.execute(select(Launch.id, Launch.campagne))
    }
    households: dict[int, set[str]] = {}
    for launch_id, pseudonym in named:
        if launch_id in campaigns:
            households.setdefault(launch_id, set()).add(pseudonym)
    members: set[tuple[int, str]] = set()
    for launch_id, names in households.items():
        for chunk in chunks(names):
            query = select(Assignment.id_foyer).where(
                Assignment.launch_id == launch_id, Assignment.id_foyer.in_(chunk)
            )
            members.update((launch_id, pseudonym) for pseudonym in session.scalars(query))
    return KnownLaunches(campaigns, members)


def _recorded_identities(session: Session, households: Collection[str]) -> set[OutcomeIdentity]:
    """The identity of every outcome already recorded for `households`, whatever its source."""
    found: set[OutcomeIdentity] = set()
    for chunk in chunks(households):
        query = select(
            Outcome.id_foyer, Outcome.launch_id, Outcome.resultat, Outcome.survenu_le, Outcome.montant
        ).where(Outcome.id_foyer.in_(chunk))
        found.update(outcome_identity(*row) for row in session.execute(query))
    return found
