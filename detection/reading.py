"""Open a household extract (Parquet or CSV) lazily, and convert its columns to the contract's types.

Nothing here judges the content against the contract (that is `detection.validation`): this module
only answers "can this file be read, and how", and gives, for each contract column, how to read it
(`Conversion`): the polars expressions of its typed value and of the cells that are not of its type.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from detection.contract import (
    COLUMNS_BY_NAME,
    CSV_FALSE_VALUES,
    CSV_TRUE_VALUES,
    RAW_IDENTIFIER,
    Column,
    contract_name_of,
)
from detection.errors import DetectionError
from detection.problem_codes import declared
from privacy.directory import CONTACT_COLUMNS

FileFormat = Literal["parquet", "csv"]

# Header names of the files that may be handed over in place of an extract.
_KNOWN_NAMES = frozenset({*COLUMNS_BY_NAME, RAW_IDENTIFIER, *CONTACT_COLUMNS})

# How many offending row numbers a problem names.
FIRST_ROWS = 5

PARQUET_MAGIC = b"PAR1"
# The signatures of the archives an extract may come in (a mail attachment, a transfer).
_ARCHIVES = {
    b"PK\x03\x04": "zip",
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"7z\xbc\xaf\x27\x1c": "7z",
}
_CHUNK = 1 << 20
_SAMPLE = 1 << 16
# Control bytes other than tab, newline and carriage return: text exports never contain them.
_BINARY_BYTES = bytes(range(0x09)) + bytes(range(0x0E, 0x20))
# A Parquet file's sha256 is computed on its own thread while polars reads the file (hashlib releases
# the GIL): 14M households, the hash's 0.34 s overlap the validation instead of preceding it.
_HASHING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="extract-sha256")


# What tells that a file is still the one read before: size, modification time, inode, device.
FileIdentity = tuple[int, int, int, int]


def file_identity(path: Path) -> FileIdentity | None:
    """The identity of the file at `path` as the file system tells it now; None when it is gone."""
    try:
        return _identity(path.stat())
    except OSError:
        return None


def _identity(facts: os.stat_result) -> FileIdentity:
    return facts.st_size, facts.st_mtime_ns, facts.st_ino, facts.st_dev


class ExtractUnreadable(DetectionError):
    """The file cannot be read as an extract at all (missing, empty, binary, wrong encoding...).

    `str()` is French and never quotes the file's content; `column` is empty for a problem of the
    whole file.
    """

    exit_code = 2

    def __init__(self, code: str, message: str, *, column: str = "", first_rows: tuple[int, ...] = ()):
        self.code, self.message, self.column, self.first_rows = declared(code), message, column, first_rows
        super().__init__(message)


@dataclass(frozen=True)
class SourceFile:
    """A readable extract file: its format, how to parse it, its raw columns and the hash of its bytes."""

    path: Path
    file_format: FileFormat
    digest: Future[str] = field(repr=False)
    raw_schema: dict[str, pl.DataType]
    # The file's identity before its bytes were hashed: while the file keeps it, `content_hash` is
    # the hash of what is read.
    identity: FileIdentity
    separator: str = ","
    csv_names: tuple[str, ...] = field(default=())
    # CSV records with fewer fields than the header (polars would read their missing cells as empty):
    # how many, and the first row numbers.
    short_rows: tuple[int, tuple[int, ...]] = (0, ())

    @property
    def content_hash(self) -> str:
        """The sha256 of the file's bytes, in hexadecimal (waits for it while it is being computed)."""
        return self.digest.result()

    def scan_raw(self, row_index: str | None = None) -> pl.LazyFrame:
        """The file as it is (CSV: every column as text, blank lines skipped); lazy, re-reads each call.

        With `row_index`, a column of that name numbers the data rows from 1 as they stand in the
        file (a skipped blank line keeps its number, so the numbers match the file's lines).
        """
        if self.file_format == "parquet":
            return pl.scan_parquet(self.path, row_index_name=row_index, row_index_offset=1)
        frame = pl.scan_csv(
            self.path,
            separator=self.separator,
            infer_schema=False,
            new_columns=list(self.csv_names),
            encoding="utf8",
            raise_if_empty=False,
            row_index_name=row_index,
            row_index_offset=1,
        )
        # A blank line (often at the end of a spreadsheet export) reads as a row of nulls: skip it.
        cells = pl.all() if row_index is None else pl.all().exclude(row_index)
        return frame.filter(~pl.all_horizontal(cells.is_null()))


def open_extract(path: Path) -> SourceFile:
    """Check that `path` is a readable Parquet or UTF-8 CSV file and describe it, or `ExtractUnreadable`."""
    if not path.exists():
        # The whole path: the report names the file by its name only, and the typo may be a folder's.
        raise ExtractUnreadable(
            "fichier_introuvable", f"le fichier {path.absolute()} n'existe pas : vérifiez le chemin indiqué"
        )
    if path.is_dir():
        raise ExtractUnreadable(
            "fichier_repertoire",
            "le chemin désigne un dossier, pas un fichier : indiquez le fichier d'extrait",
        )
    try:
        facts = path.stat()
        size, identity = facts.st_size, _identity(facts)
        with path.open("rb") as handle:
            head = handle.read(_SAMPLE)
            handle.seek(max(0, size - len(PARQUET_MAGIC)))
            tail = handle.read(len(PARQUET_MAGIC))
    except OSError as exc:
        raise ExtractUnreadable(
            "fichier_illisible",
            f"le fichier ne peut pas être lu ({type(exc).__name__}) : vérifiez ses droits",
        ) from None
    if size == 0 or not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ExtractUnreadable("fichier_vide", "le fichier est vide : exportez de nouveau l'extrait")
    if head.startswith(PARQUET_MAGIC):
        return _open_parquet(path, tail, identity)
    archive = next((kind for magic, kind in _ARCHIVES.items() if head.startswith(magic)), None)
    if archive is not None:
        raise ExtractUnreadable(
            "fichier_compresse",
            f"le fichier est une archive compressée ({archive}) : décompressez-le et donnez le fichier "
            "Parquet ou CSV qu'il contient",
        )
    if len(head.translate(None, delete=_BINARY_BYTES)) != len(head):
        raise ExtractUnreadable(
            "format_inconnu",
            "le fichier n'est ni un fichier Parquet ni un fichier CSV texte : "
            "fournissez l'extrait au format Parquet ou CSV (UTF-8)",
        )
    if path.suffix.lower() == ".parquet":
        # Read as CSV, a text file named .parquet would be reported as missing its header: misleading.
        raise ExtractUnreadable(
            "parquet_invalide",
            "le fichier porte l'extension .parquet mais n'est pas un fichier Parquet (signature "
            "« PAR1 » absente en tête) : exportez de nouveau l'extrait en Parquet, ou renommez-le "
            "en .csv s'il s'agit d'un fichier CSV",
        )
    return _open_csv(path, head, tail, identity)


def _open_parquet(path: Path, tail: bytes, identity: FileIdentity) -> SourceFile:
    unreadable = ExtractUnreadable(
        "parquet_illisible",
        "le fichier Parquet est incomplet ou corrompu (fin de fichier absente) : "
        "copiez ou exportez-le de nouveau",
    )
    if tail != PARQUET_MAGIC:
        raise unreadable
    try:
        schema = pl.read_parquet_schema(path)
    except pl.exceptions.DuplicateError as exc:
        # The message names the column (a name, never a value of the file).
        named = re.search(r"'(.*)' has more than one occurrence", str(exc))
        name = named.group(1) if named else ""
        which = f"la colonne `{name}`" if name else "une colonne"
        raise ExtractUnreadable(
            "colonne_dupliquee",
            f"{which} apparaît plusieurs fois dans le fichier : gardez-en une seule",
            column=name,
        ) from None
    except (pl.exceptions.PolarsError, OSError, ValueError, pl.exceptions.PanicException):
        raise unreadable from None
    digest = _HASHING.submit(sha256_of, path)
    return SourceFile(path, "parquet", digest, dict(schema), identity=identity)


def _open_csv(path: Path, head: bytes, tail: bytes, identity: FileIdentity) -> SourceFile:
    text = head.decode("utf-8-sig", errors="ignore")
    header_line = text.splitlines()[0] if text.splitlines() else ""
    separator = ";" if header_line.count(";") > header_line.count(",") else ","
    # The hash comes with the UTF-8 check, which must pass before the file is read further, and with
    # the count of each record's fields.
    fields_count = _FieldCount(ord(separator))
    digest: Future[str] = Future()
    digest.set_result(_check_utf8_and_hash(path, fields_count))
    if not tail.endswith(b"\n"):
        # The export or the copy stopped before the end: the last row would pass as a whole household.
        raise ExtractUnreadable(
            "fichier_tronque",
            "fichier tronqué : la dernière ligne est incomplète (le fichier ne se termine pas par un "
            "saut de ligne) : copiez ou exportez de nouveau l'extrait en entier ; s'il est complet (un "
            "tableur l'a enregistré ainsi), ajoutez un saut de ligne après la dernière ligne",
            first_rows=(fields_count.records,) if fields_count.records else (),
        )
    fields = next(csv.reader([header_line], delimiter=separator), [])
    # An unnamed column (often from a separator at the end of every line) gets a placeholder name
    # without any word of an identifier's name.
    names = tuple(name.strip() or unnamed_column(i + 1) for i, name in enumerate(fields))
    # A header whose names are the contract's written otherwise (`ID_FOYER`) is a header (the
    # validation tells how to rename them), and so is a raw extract's or a contact directory's (the
    # validation names the file's kind).
    header = any(name in _KNOWN_NAMES or contract_name_of(name) for name in names)
    if not header and "\t" in header_line:
        raise ExtractUnreadable(
            "separateur_invalide",
            "les colonnes sont séparées par des tabulations : enregistrez le fichier en CSV "
            "séparé par des virgules ou des points-virgules",
        )
    if not header:
        # Without a header line the first row is data: its cells must never be quoted as column names.
        raise ExtractUnreadable(
            "entete_absente",
            "la première ligne n'est pas une ligne d'en-tête (aucun nom de colonne du contrat) : "
            "ajoutez l'en-tête `id_foyer`, `mois_reference`, `code_commune`…",
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ExtractUnreadable(
                "colonne_dupliquee",
                f"la colonne `{name}` apparaît plusieurs fois dans l'en-tête : gardez-en une seule",
                column=name,
            )
        seen.add(name)
    return SourceFile(
        path,
        "csv",
        digest,
        dict.fromkeys(names, pl.String()),
        identity,
        separator=separator,
        csv_names=names,
        short_rows=(fields_count.short, tuple(fields_count.first_short)),
    )


_QUOTE, _NEWLINE, _RETURN = ord('"'), ord("\n"), ord("\r")


@dataclass
class _FieldCount:
    """The records of a CSV file with fewer fields than its header, counted as its bytes go by.

    polars reads the missing cells of a short record as empty (an objection then reads as false), so
    the records are counted here: the separators and line ends outside quotes, with numpy on each
    chunk (a chunk without quotes, the usual case, skips the quote parity). Records are numbered as
    the validation numbers rows: the header is 0, a blank line keeps its number.
    """

    separator: int
    header_fields: int | None = None
    inside_quotes: bool = False
    separators: int = 0  # separators seen so far in the record being read
    length: int = 0  # bytes seen so far in the record being read
    last_byte: int = 0
    records: int = 0  # records ended so far, the header included
    short: int = 0
    first_short: list[int] = field(default_factory=list)

    def feed(self, chunk: bytes) -> None:
        """Count the records that end in `chunk` (the next bytes of the file)."""
        data = np.frombuffer(chunk, dtype=np.uint8)
        quotes = data == _QUOTE
        ends_mask, separators_mask = data == _NEWLINE, data == self.separator
        if self.inside_quotes or quotes.any():
            outside = (np.cumsum(quotes, dtype=np.int64) + self.inside_quotes) % 2 == 0
            self.inside_quotes = not outside[-1]
            ends_mask &= outside
            separators_mask &= outside
        ends = np.flatnonzero(ends_mask)
        if not len(ends):
            self.separators += int(np.count_nonzero(separators_mask))
            self.length += len(data)
            self.last_byte = int(data[-1])
            return
        last_end = int(ends[-1])
        ended = self.separators + int(np.count_nonzero(separators_mask[: last_end + 1]))
        # As many separators as the header's in every record ended here: none is short (one with
        # more fields fails the reading of the file as a whole). Otherwise each record is counted.
        if self.header_fields is None or ended != (self.header_fields - 1) * len(ends):
            self._count_records(data, ends, np.flatnonzero(separators_mask))
        self.records += len(ends)
        self.separators = int(np.count_nonzero(separators_mask[last_end + 1 :]))
        self.length = len(data) - last_end - 1
        self.last_byte = int(data[-1])

    def _count_records(self, data: np.ndarray, ends: np.ndarray, separators: np.ndarray) -> None:
        """Note the short records among those ending at `ends` (separators at `separators`)."""
        per_record = np.diff(np.searchsorted(separators, ends), prepend=0)
        per_record[0] += self.separators
        if self.header_fields is None:
            self.header_fields = int(per_record[0]) + 1
        for i in np.flatnonzero(per_record + 1 < self.header_fields):
            number = self.records + int(i)
            if number and not self._blank(data, ends, int(i)):
                self.short += 1
                if len(self.first_short) < FIRST_ROWS:
                    self.first_short.append(number)

    def _blank(self, data: np.ndarray, ends: np.ndarray, i: int) -> bool:
        """Whether the record ending at `ends[i]` is empty (or a lone carriage return): skipped."""
        start = int(ends[i - 1]) + 1 if i else 0
        length = int(ends[i]) - start + (0 if i else self.length)
        if length == 0:
            return True
        before = int(data[ends[i] - 1]) if ends[i] else self.last_byte
        return length == 1 and before == _RETURN


def unnamed_column(position: int) -> str:
    """The name given to the CSV column at `position` (from 1) whose header cell is empty."""
    return f"(colonne n°{position} sans en-tête)"


def _check_utf8_and_hash(path: Path, fields_count: _FieldCount) -> str:
    """One pass over the bytes: the sha256, the line of the first byte that is not UTF-8, and the
    records' fields (`fields_count`)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            fields_count.feed(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines_before + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
                raise ExtractUnreadable(
                    "encodage_invalide",
                    "le fichier CSV n'est pas encodé en UTF-8 (sans doute Latin-1 / Windows-1252) : "
                    "enregistrez-le en « CSV UTF-8 » depuis le tableur",
                    first_rows=(line - 1,) if line > 1 else (),
                ) from None
            lines_before += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ExtractUnreadable(
            "encodage_invalide",
            "le fichier CSV se termine au milieu d'un caractère UTF-8 : il est tronqué, "
            "exportez-le de nouveau",
        ) from None
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """The sha256 of the file's bytes, in hexadecimal."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Conversion:
    """How a contract column is read from a file column, in two steps that are each computed once:
    `cleaned` (from the file's column: trimmed text, or the typed Parquet column) and `parse` (from the
    cleaned column to the contract's type; null where the cell is empty or unreadable)."""

    cleaned: pl.Expr
    parse: Callable[[pl.Expr], pl.Expr]
    text: bool = False
    floating: bool = False
    # False when every value of the file's type reads as a value of the contract's (a Parquet boolean,
    # date, or integer narrower than 32 bits): no cell can be unreadable, so nothing is checked.
    can_fail: bool = True

    @property
    def value(self) -> pl.Expr:
        """The typed value as one expression (when nothing else needs the cleaned column)."""
        return self.parse(self.cleaned)

    def unreadable(self, cleaned: pl.Expr, value: pl.Expr) -> pl.Expr:
        """The cells that hold something that is not of the column's type, from the two steps' columns."""
        bad = (value.is_null() | ~value.is_finite()) if self.floating else value.is_null()
        holds = cleaned.is_not_null() & (cleaned != "") if self.text else cleaned.is_not_null()
        return holds & bad


# The integer types a Parquet column can have.
INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_INT32_SAFE_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16)
_FLOAT_TYPES = (pl.Float32, pl.Float64)
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def is_text(dtype: pl.DataType) -> bool:
    """Whether a file column holds text (where identifiers could hide)."""
    return isinstance(dtype, _TEXT_TYPES)


def convert(column: Column, source: pl.DataType, *, trim: bool = True) -> Conversion | None:
    """How to read `column` from a file column of type `source`; None when the type cannot hold it.

    Text is parsed the way French exports write it (decimal comma, `oui/non`, `JJ/MM/AAAA`); typed
    Parquet columns are cast. `trim=False` keeps text values as they are (Parquet text is typed data,
    not a spreadsheet cell).
    """
    raw = pl.col(column.name)
    if isinstance(source, pl.Null):
        return Conversion(raw, lambda _cleaned: pl.lit(None, column.dtype), can_fail=False)
    if is_text(source) and column.kind in ("string", "enum") and not trim:
        return Conversion(raw.cast(pl.String), lambda cleaned: cleaned)
    if is_text(source):
        return _text_conversion(column, raw.cast(pl.String))
    return _typed_conversion(column, source, raw)


def _text_conversion(column: Column, text: pl.Expr) -> Conversion:
    match column.kind:
        case "string" | "enum":
            return Conversion(text.str.strip_chars(), lambda c: pl.when(c != "").then(c), text=True)
        case "int":
            return Conversion(text.str.strip_chars(), lambda c: c.cast(pl.Int32, strict=False), text=True)
        case "float":
            # French exports: decimal comma and spaces (also non-breaking) as thousands separators.
            cleaned = text.str.replace_all(r"\s", "").str.replace(",", ".", literal=True)
            return Conversion(cleaned, lambda c: c.cast(pl.Float64, strict=False), text=True, floating=True)
        case "bool":
            return Conversion(text.str.strip_chars().str.to_lowercase(), _parse_bool, text=True)
        case "date":
            return Conversion(text.str.strip_chars(), _parse_date, text=True)
    raise AssertionError(column.kind)  # pragma: no cover - every kind is matched above


def _parse_bool(cleaned: pl.Expr) -> pl.Expr:
    return (
        pl.when(cleaned.is_in(CSV_TRUE_VALUES))
        .then(pl.lit(True))
        .when(cleaned.is_in(CSV_FALSE_VALUES))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
    )


def _parse_date(cleaned: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        cleaned.str.to_date("%Y-%m-%d", strict=False), cleaned.str.to_date("%d/%m/%Y", strict=False)
    )


def _typed_conversion(column: Column, source: pl.DataType, raw: pl.Expr) -> Conversion | None:
    match column.kind:
        case "int" if isinstance(source, INTEGER_TYPES):
            fits = isinstance(source, _INT32_SAFE_TYPES)
            return Conversion(raw, lambda c: c.cast(pl.Int32, strict=False), can_fail=not fits)
        case "int" if isinstance(source, _FLOAT_TYPES):
            # pandas stores an integer column with missing values as floats: whole numbers are read.
            return Conversion(raw, lambda c: pl.when(c == c.round(0)).then(c).cast(pl.Int32, strict=False))
        case "float" if isinstance(source, pl.Decimal):
            # Some database exports type amounts as decimals: every one reads as a finite float.
            return Conversion(raw, lambda c: c.cast(pl.Float64), floating=True, can_fail=False)
        case "float" if isinstance(source, INTEGER_TYPES + _FLOAT_TYPES):
            integer = isinstance(source, INTEGER_TYPES)  # always finite, unlike a NaN or an infinity
            return Conversion(raw, lambda c: c.cast(pl.Float64), floating=True, can_fail=not integer)
        case "bool" if isinstance(source, pl.Boolean):
            return Conversion(raw, lambda c: c, can_fail=False)
        case "date" if isinstance(source, pl.Date):
            return Conversion(raw, lambda c: c, can_fail=False)
        case "date" if isinstance(source, pl.Datetime):
            # A timestamp is accepted when it is midnight (pandas writes dates that way).
            return Conversion(raw, lambda c: pl.when(c.dt.time() == pl.time(0)).then(c.dt.date()))
    return None
