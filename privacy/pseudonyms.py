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
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` expression namespace)

from privacy.directory import PSEUDONYM_COLUMN, RAW_IDENTIFIER
from privacy.errors import InputInvalid
from privacy.files import check_file, csv_separator, file_sha256, reading, scan_table
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


_OUTPUT_SUFFIXES = (".parquet", ".csv")


def check_output(source: Path, out: Path, *, replace: bool) -> None:
    """Refuse an output that would destroy a file: the raw input itself, or an existing file (unless
    `replace`); and one that cannot be written: a folder, an unknown format. A source that cannot
    be read (missing, a folder, empty) is refused here too, so that a command with several files
    writes none when one of them is wrong."""
    check_file(source)
    if out.is_dir():
        raise InputInvalid(
            str(out),
            "la sortie est un dossier",
            f"donnez un chemin de fichier, par exemple {out / 'extrait.parquet'}",
        )
    if out.suffix.lower() not in _OUTPUT_SUFFIXES:
        raise InputInvalid(
            str(out),
            f"format de sortie « {out.suffix or 'sans extension'} » non pris en charge",
            "utilisez .parquet ou .csv",
        )
    if out.resolve() == source.resolve() or (out.exists() and out.samefile(source)):
        # The raw extract is the only way to rebuild the pseudonyms after a key rotation.
        raise InputInvalid(
            str(out),
            "la sortie est le fichier brut lui-même, qui serait remplacé (il sert à la rotation des clés, "
            "uptake keys rotate --raw)",
            "donnez un autre nom de sortie",
        )
    if out.exists() and not replace:
        raise InputInvalid(
            str(out),
            "la sortie existe déjà",
            "choisissez un autre nom, ou demandez de la remplacer (--remplacer)",
        )


def _write(source: Path, frame: pl.LazyFrame, tmp: Path, out: Path) -> None:
    """Stream `frame` to `tmp` in `out`'s format (a CSV keeps the source's separator)."""
    if out.suffix.lower() == ".parquet":
        # zstd level 1: as small as the default level on hex pseudonyms, at a fraction of the CPU.
        frame.sink_parquet(tmp, compression="zstd", compression_level=1)
    else:
        separator = csv_separator(source) if source.suffix.lower() == ".csv" else ","
        frame.sink_csv(tmp, separator=separator)


def pseudonymise_file(source: Path, out: Path, key: str, *, replace: bool = False) -> PseudonymisedFile:
    """Stream a raw file (Parquet or CSV) to its pseudonymised form (format given by `out`'s suffix).

    A missing `matricule` column, or rows without one, is an error naming the count. `out` may not be
    `source`, nor an existing file unless `replace`. The file is written aside and moved into place
    once checked: on error nothing is left behind, and a replaced `out` is untouched.
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
    check_output(source, out, replace=replace)
    created = [folder for folder in out.parents if not folder.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    # Hidden, and of `out`'s format so that it is read back as such.
    tmp = out.with_name(f".{out.stem}.partiel{out.suffix}")
    try:
        with reading(source):
            _write(source, pseudonymise_frame(frame, key), tmp, out)
        counted = scan_table(tmp).select(pl.len(), pl.col(PSEUDONYM_COLUMN).null_count())
        rows, missing = counted.collect().row(0)
        if missing:
            raise InputInvalid(
                str(source), f"{missing} ligne(s) sans `{RAW_IDENTIFIER}`", "complétez ou retirez ces lignes"
            )
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for folder in created:  # innermost first
            with suppress(OSError):
                folder.rmdir()
        raise
    return PseudonymisedFile(out, int(rows), file_sha256(out))
