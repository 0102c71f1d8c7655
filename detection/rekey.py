"""Detection's part of a pseudonymisation key rotation: the flags, in the database and on disk."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from detection.errors import DetectionError
from detection.records import SUCCEEDED, DetectionFlag, DetectionRun
from privacy.datafolder import own_file
from privacy.rotation import Rekeyed, rekey_column


class FlagFileNotRewritten(DetectionError):
    """A flags file could not be rewritten after a rotation (the database is re-keyed already)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"le fichier de drapeaux {path} n'a pas pu être réécrit avec les nouveaux pseudonymes "
            f"({reason}) ; la rotation est faite en base, où les drapeaux sont à jour : ce fichier et "
            "ceux des exécutions suivantes gardent les anciens pseudonymes — supprimez-les, ou "
            "relancez les exécutions avec --force"
        )


def rekey_flags(session: Session, mapping: Table) -> list[Rekeyed]:
    """Replace the old pseudonyms of the stored flags by the new ones (a `privacy.rotation.Rekeyer`)."""
    return [rekey_column(session, DetectionFlag.id_foyer, mapping, "drapeaux", "drapeaux")]


@dataclass(frozen=True)
class RekeyedFiles:
    """The flags files a rotation rewrote, and those it left: another data folder's, outside this one
    (`privacy.datafolder`), that this folder must not rewrite."""

    rewritten: list[Path]
    left: list[str]


def rekey_flag_files(engine: Engine, mapping: pl.DataFrame, data_folder: Path) -> RekeyedFiles:
    """Rewrite the `flags.parquet` of every run whose flags are kept with the new pseudonyms (after
    the rotation's commit); the files rewritten. Each file is replaced whole (written beside it,
    then renamed), so an interruption leaves it as it was; a file that cannot be written is a
    `FlagFileNotRewritten`."""
    with Session(engine) as session:
        recorded = session.execute(
            select(DetectionRun.flags_path, DetectionRun.data_folder).where(
                DetectionRun.status == SUCCEEDED,
                DetectionRun.flags_purged_at.is_(None),
                DetectionRun.flags_path.is_not(None),
            )
        ).all()
    paths: set[Path] = set()
    left: set[str] = set()
    for name, written_from in recorded:
        path = own_file(str(name), written_from, data_folder)
        if path is None:
            left.add(str(name))
        else:
            paths.add(path)
    pairs = mapping.lazy().select(pl.col("ancien").alias("id_foyer"), "nouveau")
    rewritten = []
    for path in sorted(paths):
        if not path.is_file():
            continue
        flags = pl.scan_parquet(path)
        columns = flags.collect_schema().names()
        renamed = (
            flags.join(pairs, on="id_foyer", how="left")
            .with_columns(pl.coalesce("nouveau", "id_foyer").alias("id_foyer"))
            .select(columns)
        )
        partial = path.with_name(f".{path.name}.rotation")
        try:
            renamed.sink_parquet(partial, compression="zstd", compression_level=1)
            os.replace(partial, path)
        except BaseException as exc:
            with suppress(OSError):
                partial.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise FlagFileNotRewritten(path, type(exc).__name__) from None
            raise
        rewritten.append(path)
    return RekeyedFiles(rewritten, sorted(left))
