"""Files: reading raw and pseudonymised tables (Parquet, or CSV with `,` or `;`, values kept), hashing.

Polars reads lazily: a file it cannot decode fails when the frame is collected, far from where it was
opened. `scan_table` reads the header at once (so that a truncated Parquet or an empty CSV is refused
where it is named), and `reading` turns a later failure into a French error naming the file and what
is wrong with it, never polars' own message (it may quote a value of the file).
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from privacy.errors import InputInvalid

_BLOCK = 1 << 20
_PARQUET_MAGIC = b"PAR1"
_CSV_SUFFIXES = (".csv", ".txt")

# What polars raises on a file it cannot read: its own errors, and a panic of its Rust core on a
# corrupted Parquet (a BaseException, not an Exception).
_READ_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


def csv_separator(path: Path) -> str:
    """`;` when the header line has more semicolons than commas (French spreadsheet exports), else `,`."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return ";" if header.count(";") > header.count(",") else ","


def _refused(path: Path, problem: str, fix: str) -> InputInvalid:
    return InputInvalid(str(path), problem, fix)


def check_file(path: Path) -> None:
    """Refuse a path that cannot be a table whatever its content: missing, a folder, empty."""
    if path.is_dir():
        raise _refused(path, "c'est un dossier", "donnez le chemin d'un fichier .parquet ou .csv")
    if not path.exists():
        raise _refused(path, "fichier introuvable", "vérifiez le chemin")
    if path.stat().st_size == 0:
        raise _refused(path, "fichier vide (0 octet)", "donnez le fichier complet, tel qu'il a été exporté")


def _first_invalid_utf8_line(path: Path) -> int | None:
    """The line number (1 = header) of the first byte sequence that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block[: exc.start].count(b"\n")
            line += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line
    return None


def _is_whole_parquet(path: Path) -> bool:
    """Whether the file starts and ends with Parquet's magic bytes (a copy cut short does not end so)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(4)
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    return size >= 12 and head == _PARQUET_MAGIC and tail == _PARQUET_MAGIC


def _unreadable(path: Path) -> InputInvalid:
    """The French error for a table file polars could not read: what is wrong with it, and the fix."""
    try:
        check_file(path)
    except InputInvalid as refused:
        return refused
    if path.suffix.lower() == ".parquet":
        if not _is_whole_parquet(path):
            return _refused(
                path,
                "ce n'est pas un fichier Parquet complet (copie interrompue, ou fichier d'un autre format)",
                "copiez-le à nouveau depuis sa source, ou exportez-le de nouveau",
            )
        return _refused(
            path, "fichier Parquet endommagé, illisible", "exportez-le de nouveau depuis sa source"
        )
    line = _first_invalid_utf8_line(path)
    if line is not None:
        return _refused(
            path,
            f"le fichier n'est pas encodé en UTF-8 (premier caractère illisible ligne {line} ; "
            "sans doute Latin-1 ou Windows-1252)",
            "enregistrez-le au format « CSV UTF-8 » depuis le tableur, ou convertissez-le "
            "(iconv -f latin1 -t utf-8)",
        )
    return _refused(
        path,
        "CSV illisible (nombre de colonnes variable d'une ligne à l'autre, ou guillemet non fermé)",
        "ouvrez-le dans un tableur, vérifiez le séparateur (, ou ;) puis enregistrez-le de nouveau",
    )


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Within this block, polars failing to read `path` is `InputInvalid` naming the file and the cause."""
    try:
        yield
    except _READ_ERRORS:
        raise _unreadable(path) from None


def scan_table(path: Path) -> pl.LazyFrame:
    """A lazy scan of a Parquet or CSV file; CSV columns are read as text so that nothing is reinterpreted.

    The header is read at once: a folder, an empty file or a truncated Parquet is refused here.
    Collect the frame inside `reading(path)` for the errors found further in the file.
    """
    check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pl.scan_parquet(path)
    elif suffix in _CSV_SUFFIXES:
        frame = pl.scan_csv(path, separator=csv_separator(path), infer_schema=False, encoding="utf8")
    else:
        raise _refused(
            path,
            f"format « {suffix or 'sans extension'} » non pris en charge",
            "donnez un fichier .parquet ou .csv",
        )
    with reading(path):
        frame.collect_schema()
    return frame


def read_batches(frame: pl.LazyFrame, path: Path, rows: int) -> Iterator[pl.DataFrame]:
    """The table `frame` (`scan_table(path)`) in frames of about `rows` rows, in the file's order, read
    as they are asked for: a department's directory is never whole in memory. A failure further in the
    file is raised, as `InputInvalid`, when its batch is reached."""
    with reading(path):
        yield from frame.collect_batches(chunk_size=rows)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
