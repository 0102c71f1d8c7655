"""What the scheduled detection says of the entries of its drop folder it does not process: older
extracts set aside after a success, folders and links named as extracts, a refused copy that was
still arriving (real files, real databases, the job called as the daemon calls it)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
from pathlib import Path

from sqlalchemy import Engine

from tests.conftest import QUIET_CRON
from tests.uptake.test_scheduler import _drop, _runs, home_engine
from tests.uptake.test_scheduler_recovery import AUGUST, JULY, _record, inbox, months
from uptake import scheduler as scheduler_module
from uptake.db import upgrade
from uptake.jobs import ARCHIVE_DIR, REJECTED_DIR, SUPERSEDED_DIR, detection_job, result_outcome

__all__ = ["home_engine", "inbox", "months"]  # fixtures shared with the other scheduler tests


def test_the_older_extracts_set_aside_after_a_success_are_named_with_where_they_are(
    cli, months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    _drop(months[AUGUST], inbox / "extrait-2025-08.parquet")
    _drop(months[JULY], inbox / "extrait-2025-07.parquet")

    done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "succeeded" and done["superseded"] == ["extrait-2025-07.parquet"]
    assert (inbox / SUPERSEDED_DIR / "extrait-2025-07.parquet").exists()
    succeeded, said = result_outcome(done)
    assert succeeded and said is not None
    assert said.startswith(
        f"extrait(s) plus ancien(s) extrait-2025-07.parquet mis de côté dans {inbox}/remplace/ sans être "
        "traité(s) : l'extrait extrait-2025-08.parquet, plus récent, a été traité"
    )
    assert f"uptake run --extract {inbox}/remplace/FICHIER" in said
    # `schedule list` tells it after « réussie », not « réussie » alone.
    scheduler_module.add_schedule(
        home_engine, "mensuel", cron=QUIET_CRON, job="detection", params={"inbox": str(inbox)}
    )
    _record(home_engine, retval=done)
    # Wide enough for the test's long temporary path to stay on one line of its cell.
    listed = " ".join(cli("schedule", "list", env={"COLUMNS": "1000"}).stdout.split())
    assert "réussie : extrait(s) plus ancien(s) extrait-2025-07.parquet mis de côté dans" in listed


def test_a_folder_named_as_an_extract_is_told_as_a_folder_to_replace_by_one_file(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    parts = inbox / "extrait-2025-08.parquet"  # as Spark writes it: a folder of parts
    parts.mkdir()
    _drop(months[AUGUST], parts / "part-0000.parquet")

    done = detection_job(inbox=str(inbox), schedule="mensuel")

    assert done["status"] == "nothing_to_do" and _runs(home_engine) == []
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert (
        f"dossier(s) extrait-2025-08.parquet laissé(s) dans le dépôt {inbox} sans être traité(s) : c'est un "
        "dossier : déposez un seul fichier" in said
    )
    assert (parts / "part-0000.parquet").exists()

    # Beside an extract processed, the execution still asks the data team to act on the folder.
    _drop(months[JULY], inbox / "extrait-2025-07.parquet")
    done = detection_job(inbox=str(inbox), schedule="mensuel")
    assert done["status"] == "succeeded"
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None and "c'est un dossier : déposez un seul fichier" in said


def test_a_symbolic_link_dropped_in_the_inbox_is_refused_never_archived_as_a_link(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    real = months[AUGUST]
    before = real.read_bytes()
    (inbox / "extrait-2025-08.parquet").symlink_to(real)

    done = detection_job(inbox=str(inbox), schedule="mensuel", min_age_s=0)

    assert done["status"] == "nothing_to_do" and _runs(home_engine) == []
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert f"lien(s) symbolique(s) extrait-2025-08.parquet laissé(s) dans le dépôt {inbox}" in said
    assert "déposez le fichier lui-même" in said
    assert (inbox / "extrait-2025-08.parquet").is_symlink() and real.read_bytes() == before
    assert not (inbox / ARCHIVE_DIR).exists() or not any((inbox / ARCHIVE_DIR).iterdir())


class _SlowCopy(threading.Thread):
    """A copy that stalled after its first half, then goes on, a byte at a time, until told to end."""

    def __init__(self, source: Path, target: Path) -> None:
        super().__init__(daemon=True)
        self.data, self.target = source.read_bytes(), target
        self.half = len(self.data) // 2
        target.write_bytes(self.data[: self.half])
        self.finish = threading.Event()

    def run(self) -> None:
        with self.target.open("ab", buffering=0) as copy:
            done = self.half
            while not self.finish.wait(0.001) and done < len(self.data) - 1:
                copy.write(self.data[done : done + 1])
                done += 1
            copy.write(self.data[done:])


def test_a_refused_copy_that_goes_on_during_its_validation_stays_in_the_inbox_for_the_next_execution(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine
) -> None:
    upgrade(home_engine)
    target = inbox / "extrait-2025-08.parquet"
    copy = _SlowCopy(months[AUGUST], target)
    copy.start()
    try:
        # Taken at once (min_age_s=0): the half written looks like a damaged file.
        done = detection_job(inbox=str(inbox), schedule="mensuel", min_age_s=0)
    finally:
        copy.finish.set()
        copy.join(timeout=30)

    assert done["status"] == "rejected_still_arriving" and done["file"] == "extrait-2025-08.parquet"
    assert target.exists() and not (inbox / REJECTED_DIR).exists()
    succeeded, said = result_outcome(done)
    assert not succeeded and said is not None
    assert said.startswith("extrait extrait-2025-08.parquet refusé, mais modifié pendant sa validation")
    assert f"il reste dans le dépôt {inbox} et la prochaine exécution le reprendra" in said

    # The copy over, the next execution takes it.
    assert detection_job(inbox=str(inbox), schedule="mensuel", min_age_s=0)["status"] == "succeeded"
    assert (inbox / ARCHIVE_DIR / "extrait-2025-08.parquet").read_bytes() == months[AUGUST].read_bytes()


def test_the_refusal_report_is_readable_by_whoever_drops_extracts_despite_the_service_umask(
    months: dict[dt.date, Path], inbox: Path, home_engine: Engine, tmp_path: Path
) -> None:
    inbox.chmod(0o2775)  # shared with the data team's group, as on the Caf's server
    broken = tmp_path / "extrait-2025-09.parquet"
    broken.write_bytes(b"pas un fichier parquet")
    _drop(broken, inbox / broken.name)
    (inbox / broken.name).chmod(0o664)
    before = os.umask(0o077)  # the service's (uptake's command sets it)
    try:
        done = detection_job(inbox=str(inbox), schedule="mensuel")
    finally:
        os.umask(before)

    assert done["status"] == "rejected"
    rejected = inbox / REJECTED_DIR
    report = rejected / f"{broken.name}.rapport.txt"
    assert stat.S_IMODE(rejected.stat().st_mode) == stat.S_IMODE(inbox.stat().st_mode)
    assert stat.S_IMODE(report.stat().st_mode) == 0o664
