"""How long the flags of a run and the extracts of a drop folder are kept, and their purge.

Flags describe pseudonymised households (resources, housing, rights estimated): personal data,
kept only while a campaign may still be launched on them. Launches copy what they need of the
flags they select (outreach's assignments), so deleting a run's flags loses no campaign, follow-up
or indicator; the run's record (counts per rule and commune, fingerprints, timings) stays. The
extracts a scheduled detection archived (or set aside, rejected) hold the same households in full:
they go after the same time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from detection.records import SUCCEEDED, DetectionFlag, DetectionRun, as_utc, utcnow
from privacy import audit
from privacy.canonical import caf_day
from privacy.datafolder import own_file
from privacy.retention import first_day_past, kept_since

# Aligned on the contact lists' 12 months (register entry): a campaign is launched within weeks of
# a run, and a run a year old describes situations that have changed since.
FLAGS_RETENTION_MONTHS = 12
# The retention bounds `uptake purge --drapeaux-mois` accepts; a purge schedule takes the same.
FLAGS_MONTHS_BOUNDS = (1, 36)


@dataclass(frozen=True)
class FlagsPurge:
    """What a purge of flags did."""

    runs: int
    flags: int
    files_deleted: int
    kept_until: dt.date  # runs finished before this day had their flags deleted
    # Flags files another data folder wrote outside itself (`privacy.datafolder`): left in place.
    files_left: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeptFlags:
    """The flags of one run still kept, and from when a purge deletes them."""

    run_id: int
    mois_reference: dt.date | None
    flags: int
    finished_at: dt.datetime
    deleted_from: dt.date


def kept_flags(session: Session, *, months: int = FLAGS_RETENTION_MONTHS) -> list[KeptFlags]:
    """The succeeded runs whose flags are still kept, the oldest first (the next to go)."""
    rows = session.scalars(
        select(DetectionRun)
        .where(DetectionRun.status == SUCCEEDED, DetectionRun.flags_purged_at.is_(None))
        .order_by(DetectionRun.finished_at, DetectionRun.id)
    )
    kept = []
    for run in rows:
        finished = as_utc(run.finished_at)
        assert finished is not None  # a succeeded run has finished
        deleted_from = first_day_past(caf_day(finished), months)
        kept.append(KeptFlags(run.id, run.mois_reference, run.flags_count or 0, finished, deleted_from))
    return kept


def flags_kept_until(months: int, now: dt.datetime) -> dt.datetime:
    """Runs finished before this moment are past their retention of `months` months (`kept_since`)."""
    if months < 1:
        raise ValueError("la durée de conservation des drapeaux est d'au moins un mois")
    return kept_since(now, months)


def purge_flags(
    session: Session,
    data_folder: Path,
    *,
    actor: str,
    months: int = FLAGS_RETENTION_MONTHS,
    now: dt.datetime | None = None,
) -> FlagsPurge:
    """Delete the flags (database rows and `flags.parquet`) of the runs finished more than `months`
    months ago, in the caller's transaction; one audit entry per run.

    A run's file is deleted only if no newer run published at the same path (a folder given again
    with `--out` after its file was removed). The purged run no longer counts as a previous run of
    its extract: the same file run again publishes new flags.
    """
    moment = now or utcnow()
    limit = flags_kept_until(months, moment)
    due = session.scalars(
        select(DetectionRun)
        .where(
            DetectionRun.status == SUCCEEDED,
            DetectionRun.flags_purged_at.is_(None),
            DetectionRun.finished_at < limit,
        )
        .order_by(DetectionRun.id)
    ).all()
    flags = files = 0
    left: list[str] = []
    for run in due:
        result = session.execute(delete(DetectionFlag).where(DetectionFlag.run_id == run.id))
        deleted = cast("CursorResult[Any]", result).rowcount
        flags += deleted
        file_deleted = _delete_file(session, run, data_folder)
        if file_deleted is None:
            left.append(str(run.flags_path))
        files += bool(file_deleted)
        run.flags_purged_at = moment
        run.publication_key = None
        finished = as_utc(run.finished_at)
        audit.append(
            session,
            actor=actor,
            action="purge.drapeaux",
            object_ref=f"execution:{run.id}",
            counts={"drapeaux": deleted, "fichiers": int(bool(file_deleted))},
            details={
                "termine_le": caf_day(finished).isoformat() if finished else None,
                "conservation_mois": months,
            }
            | (
                {"fichiers_laisses": [run.flags_path], "ecrits_depuis": run.data_folder}
                if file_deleted is None
                else {}
            ),
        )
    session.flush()
    return FlagsPurge(len(due), flags, files, caf_day(limit), tuple(left))


def _delete_file(session: Session, run: DetectionRun, data_folder: Path) -> bool | None:
    """Whether `run`'s flags file was deleted; None when it is another data folder's, left alone."""
    if run.flags_path is None:
        return False
    newer_at_same_path = select(DetectionRun.id).where(
        DetectionRun.flags_path == run.flags_path,
        DetectionRun.status == SUCCEEDED,
        DetectionRun.id > run.id,
    )
    if session.scalar(newer_at_same_path.limit(1)) is not None:
        return False
    path = own_file(run.flags_path, run.data_folder, data_folder)
    if path is None:
        return None
    try:
        path.unlink()
    except FileNotFoundError:  # removed by hand already
        return False
    if path.parent.name == str(run.id):  # the run's own folder (not one given with --out)
        with suppress(OSError):  # something else was put there: kept
            path.parent.rmdir()
    return True


@dataclass(frozen=True)
class ArchivedExtract:
    """A file of a drop folder's archive, rejected or superseded sub-folder, and from when a purge
    deletes it."""

    path: Path
    dropped_at: dt.datetime
    deleted_from: dt.date


def archived_extracts(
    folders: Iterable[Path], *, months: int = FLAGS_RETENTION_MONTHS
) -> list[ArchivedExtract]:
    """The files of `folders` still kept, the oldest first (the next to go)."""
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file():
                dropped = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
                deleted_from = first_day_past(caf_day(dropped), months)
                found.append(ArchivedExtract(path, dropped, deleted_from))
    return sorted(found, key=lambda extract: (extract.dropped_at, str(extract.path)))


@dataclass(frozen=True)
class ExtractsPurge:
    """What a purge of archived extracts did."""

    files_deleted: int
    not_deleted: tuple[Path, ...]  # past their retention, but could not be deleted


def purge_archived_extracts(
    session: Session,
    folders: Iterable[Path],
    *,
    actor: str,
    months: int = FLAGS_RETENTION_MONTHS,
    now: dt.datetime | None = None,
) -> ExtractsPurge:
    """Delete the files of `folders` (a drop folder's archive and rejected sub-folders) last
    changed more than `months` months ago (an extract keeps the time it was dropped when it is
    archived); one audit entry per file, in the caller's transaction. A file that cannot be
    deleted (rights) is told, not fatal: the rest of the purge goes on."""
    moment = now or utcnow()
    limit = flags_kept_until(months, moment).timestamp()
    deleted = 0
    failed: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            changed = path.stat().st_mtime
            if changed >= limit:
                continue
            try:
                path.unlink()
            except OSError:
                failed.append(path)
                continue
            deleted += 1
            audit.append(
                session,
                actor=actor,
                action="purge.extrait",
                object_ref=f"fichier:{path.name}",
                details={
                    "dossier": str(folder),
                    "depose_le": caf_day(dt.datetime.fromtimestamp(changed, dt.UTC)).isoformat(),
                    "conservation_mois": months,
                },
            )
    return ExtractsPurge(deleted, tuple(failed))
