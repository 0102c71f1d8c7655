"""Files: reading raw and pseudonymised tables (Parquet, or CSV with `,` or `;`, values kept), hashing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from privacy.errors import InputInvalid


def csv_separator(path: Path) -> str:
    """`;` when the header line has more semicolons than commas (French spreadsheet exports), else `,`."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return ";" if header.count(";") > header.count(",") else ","


def scan_table(path: Path) -> pl.LazyFrame:
    """A lazy scan of a Parquet or CSV file; CSV columns are read as text so that nothing is reinterpreted."""
    if not path.exists():
        raise InputInvalid(str(path), "fichier introuvable", "vérifiez le chemin")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pl.scan_parquet(path)
    if suffix in (".csv", ".txt"):
        return pl.scan_csv(path, separator=csv_separator(path), infer_schema=False, encoding="utf8")
    raise InputInvalid(
        str(path), f"format « {suffix} » non pris en charge", "donnez un fichier .parquet ou .csv"
    )


def read_table(path: Path) -> pl.DataFrame:
    """The whole table in memory (for the contact directory, a few thousand rows)."""
    try:
        return scan_table(path).collect()
    except pl.exceptions.PolarsError as exc:
        raise InputInvalid(
            str(path),
            f"fichier illisible ({type(exc).__name__})",
            "vérifiez qu'il s'agit d'un Parquet ou d'un CSV UTF-8",
        ) from None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
