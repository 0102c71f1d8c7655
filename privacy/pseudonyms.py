"""Keyed pseudonyms: HMAC-SHA-256 of the matricule under a key per territory and purpose.

A plain hash of a matricule can be reversed by hashing every possible matricule; a keyed MAC cannot
without the key, which lives in the keyring, outside the pseudonymised domain (ENISA, EDPB guidance).
The vectorised path uses the Rust `polars-hash` plugin, which takes its key as a text: the derived
32-byte key is passed hex-encoded, i.e. the HMAC key is the 64 ASCII bytes of its hex form (256 bits of
entropy all the same); `pseudonym_of` applies exactly the same convention for one value.
The pseudonym is the 64-character lowercase hex digest: it fits the extract contract
(16–128 characters of `[A-Za-z0-9_-]`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` expression namespace)

from privacy.directory import PSEUDONYM_COLUMN, RAW_IDENTIFIER
from privacy.errors import InputInvalid
from privacy.files import csv_separator, file_sha256, scan_table
from privacy.keys import Keyring

DEFAULT_FINALITE = "droits"


def key_text(keyring: Keyring, territory: str, finalite: str) -> str:
    """The pseudonymisation key of a territory and purpose, as the text the plugin takes."""
    return keyring.pseudonym_key(territory, finalite).hex()


def pseudonym_of(key: str, matricule: str) -> str:
    """The pseudonym of one matricule under `key` (from `key_text`), identical to the vectorised path."""
    return hmac.new(key.encode(), matricule.strip().encode(), hashlib.sha256).hexdigest()


def pseudonym_expr(key: str, column: str = RAW_IDENTIFIER) -> pl.Expr:
    """A polars expression turning the raw identifier column into the pseudonym column."""
    raw = pl.col(column).cast(pl.String).str.strip_chars()
    # An empty identifier becomes null (not the MAC of ""), so that it is caught as missing.
    present: Any = pl.when(raw.str.len_bytes() > 0).then(raw)
    pseudonym: pl.Expr = present.chash.hmac_sha256(key=key)
    return pseudonym.alias(PSEUDONYM_COLUMN)


def pseudonymise_frame(frame: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Replace `matricule` by `id_foyer` at the same position; every other column untouched."""
    columns = frame.collect_schema().names()
    return frame.select(pseudonym_expr(key) if c == RAW_IDENTIFIER else pl.col(c) for c in columns)


@dataclass(frozen=True)
class PseudonymisedFile:
    """A written pseudonymised file: where, how many rows, its SHA-256."""

    path: Path
    rows: int
    sha256: str


def pseudonymise_file(source: Path, out: Path, key: str) -> PseudonymisedFile:
    """Stream a raw file (Parquet or CSV) to its pseudonymised form (format given by `out`'s suffix).

    A missing `matricule` column, or rows without one, is an error naming the count; nothing is left
    behind on error.
    """
    frame = scan_table(source)
    columns = frame.collect_schema().names()
    if RAW_IDENTIFIER not in columns:
        raise InputInvalid(
            str(source),
            f"colonne `{RAW_IDENTIFIER}` absente",
            f"un fichier brut porte `{RAW_IDENTIFIER}` à la place de `{PSEUDONYM_COLUMN}`",
        )
    if PSEUDONYM_COLUMN in columns:
        raise InputInvalid(
            str(source),
            f"colonne `{PSEUDONYM_COLUMN}` déjà présente",
            "le fichier est-il déjà pseudonymisé ?",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    result = pseudonymise_frame(frame, key)
    try:
        suffix = out.suffix.lower()
        if suffix == ".parquet":
            # zstd level 1: as small as the default level on hex pseudonyms, at a fraction of the CPU.
            result.sink_parquet(tmp, compression="zstd", compression_level=1)
        elif suffix == ".csv":
            separator = csv_separator(source) if source.suffix.lower() == ".csv" else ","
            result.sink_csv(tmp, separator=separator)
        else:
            raise InputInvalid(
                str(out), f"format de sortie « {suffix} » non pris en charge", "utilisez .parquet ou .csv"
            )
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    rows, missing = scan_table(out).select(pl.len(), pl.col(PSEUDONYM_COLUMN).null_count()).collect().row(0)
    if missing:
        out.unlink()
        raise InputInvalid(
            str(source), f"{missing} ligne(s) sans `{RAW_IDENTIFIER}`", "complétez ou retirez ces lignes"
        )
    return PseudonymisedFile(out, int(rows), file_sha256(out))
