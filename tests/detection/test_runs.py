"""The detection run pipeline on synthetic data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from detection import runs
from detection.errors import OutputUnusable
from detection.geography import Geography
from detection.imports import ImportRecord
from detection.records import (
    FAILED,
    FLAG_COLUMNS,
    REJECTED,
    RUNNING,
    SUCCEEDED,
    DetectionFlag,
    DetectionRun,
    count_flags,
    get_run,
    latest_run,
    load_flags,
    utcnow,
)
from detection.recovery import recover_interrupted_runs
from detection.runs import (
    DetectionRunner,
    RunFailed,
    RunInterrupted,
    RunOutcome,
    RunRequest,
)
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.validation import ExtractRejected
from privacy.models import AuditEntry

# The catalogue's non-take-up rule of each benefit of the generator's ground truth.
RULE_OF_BENEFIT = {"ppa": "ppa_non_recours", "rsa": "rsa_non_recours", "al": "al_non_recours"}


@pytest.fixture(scope="module")
def territory_extract(tmp_path_factory: pytest.TempPathFactory, geography: Geography) -> Path:
    """4,000 synthetic households of the territory, with the generator's ground truth beside them."""
    folder = tmp_path_factory.mktemp("extrait")
    extract = folder / "foyers.parquet"
    communes = commune_table(geography.reference, geography.territory.communes)
    write_synthetic(
        SynthesisSpec(households=4_000, seed=11), communes, extract, truth=folder / "verite.parquet"
    )
    return extract


def _runner(engine: Engine, geography: Geography, tmp_path: Path, **kwargs: object) -> DetectionRunner:
    return DetectionRunner(engine, geography, tmp_path, **kwargs)  # type: ignore[arg-type]


def test_territory_run_finds_the_generators_non_claimants(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    outcome = _runner(engine, geography, tmp_path).run(RunRequest(territory_extract))

    assert outcome.run.status == SUCCEEDED and not outcome.reused
    flags = pl.read_parquet(outcome.run.flags_path or "")
    assert flags.schema == pl.Schema(FLAG_COLUMNS)
    assert (
        load_flags(engine, outcome.run.id).sort("regle", "id_foyer").equals(flags.sort("regle", "id_foyer"))
    )
    truth = pl.read_parquet(territory_extract.parent / "verite.parquet")
    for benefit, rule in RULE_OF_BENEFIT.items():
        flagged = set(flags.filter(pl.col("regle") == rule)["id_foyer"].to_list())
        actual = set(truth.filter(pl.col(f"non_recours_{benefit}"))["id_foyer"].to_list())
        precision = len(flagged & actual) / max(1, len(flagged))
        recall = len(flagged & actual) / max(1, len(actual))
        print(
            f"{benefit}: {len(flagged)} signalés, {len(actual)} non-recourants, "
            f"précision {precision:.3f}, rappel {recall:.3f}"
        )
        assert actual, f"the generator made no non-claimant of {benefit}"
        assert precision >= 0.9 and recall >= 0.9, (benefit, precision, recall)


def test_counts_per_rule_and_commune_match_the_flags(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    run = _runner(engine, geography, tmp_path).run(RunRequest(territory_extract)).run
    flags = load_flags(engine, run.id)

    assert run.flags_count == flags.height > 0
    assert run.counts_by_rule == dict(flags.group_by("regle").len().iter_rows())
    assert run.counts_by_commune == dict(flags.group_by("code_commune").len().iter_rows())
    assert set(run.counts_by_commune) <= set(geography.territory.communes)
    assert run.households_in_territory == run.households_total == 4_000
    assert run.households_out_of_territory == 0
    assert set(run.timings) == {"verification", "validation", "catalogue", "evaluation", "enregistrement"}
    with Session(engine) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "detection.execution"))
        assert entry.object_ref == f"execution:{run.id}"
    distances = dict(geography.communes.select("code_commune", "distance_services_km").iter_rows())
    for code, distance in flags.select("code_commune", "distance_services_km").unique().iter_rows():
        assert distance == distances[code]


def test_households_outside_the_territory_are_left_out_and_counted(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "avec-hors-territoire.parquet"
    households = pl.read_parquet(territory_extract)
    outside = pl.int_range(pl.len()) % 10 == 0
    households.with_columns(
        pl.when(outside).then(pl.lit("75056")).otherwise(pl.col("code_commune")).alias("code_commune")
    ).write_parquet(moved)

    run = _runner(engine, geography, tmp_path).run(RunRequest(moved)).run

    assert run.households_out_of_territory == 400 and run.households_in_territory == 3_600
    assert "75056" not in run.counts_by_commune
    assert load_flags(engine, run.id).filter(pl.col("code_commune") == "75056").is_empty()


def test_an_extract_of_another_territory_is_rejected_rather_than_passing_for_the_month(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "autre-territoire.parquet"
    pl.read_parquet(territory_extract).with_columns(pl.lit("75056").alias("code_commune")).write_parquet(
        elsewhere
    )

    with pytest.raises(ExtractRejected) as refused:
        _runner(engine, geography, tmp_path).run(RunRequest(elsewhere))

    assert "aucun foyer n'habite le territoire configuré" in refused.value.report()
    assert "colonne `code_commune`" in refused.value.report() and "4000 lignes" in refused.value.report()
    run = latest_run(engine, status=None)
    assert run is not None and run.status == REJECTED and run.flags_count in (None, 0)
    assert not list((tmp_path / "runs").rglob("*.parquet"))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionFlag)) == 0
        # One import, the rejection: the file is not also recorded as accepted.
        assert [i.outcome for i in session.scalars(select(ImportRecord))] == ["rejete"]


def test_rerunning_the_same_extract_reuses_the_earlier_run_unless_forced(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    runner = _runner(engine, geography, tmp_path)
    first = runner.run(RunRequest(territory_extract))
    again = runner.run(RunRequest(territory_extract))

    assert again.reused and again.run.id == first.run.id
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionRun)) == 1
        assert session.scalar(select(func.count()).select_from(DetectionFlag)) == first.run.flags_count

    forced = runner.run(RunRequest(territory_extract, force=True))
    assert not forced.reused and forced.run.id != first.run.id and forced.run.forced
    assert count_flags(engine, forced.run.id) == first.run.flags_count
    # The first run did not wait for the file's hash (no earlier run of that month and size) but
    # recorded it once evaluated, like the others.
    digest = hashlib.sha256(territory_extract.read_bytes()).hexdigest()
    assert first.run.extract_sha256 == forced.run.extract_sha256 == digest


def test_another_file_of_the_same_month_and_size_is_a_new_run(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    runner = _runner(engine, geography, tmp_path)
    first = runner.run(RunRequest(territory_extract))
    reordered = tmp_path / "foyers-dans-un-autre-ordre.parquet"
    pl.read_parquet(territory_extract).reverse().write_parquet(reordered)

    second = runner.run(RunRequest(reordered))
    assert not second.reused and second.run.id != first.run.id
    assert second.run.extract_sha256 == hashlib.sha256(reordered.read_bytes()).hexdigest()
    assert second.run.flags_count == first.run.flags_count


def _duplicate_first_id(frame: pl.DataFrame) -> pl.DataFrame:
    ids = frame["id_foyer"].to_list()
    return frame.with_columns(id_foyer=pl.Series([ids[0], *ids[:-1]]))


# Found by the evaluation's own reading of the file (a row check, and the pseudonyms' hashes).
@pytest.mark.parametrize(
    ("breach", "column"),
    [
        (lambda frame: frame.with_columns(age_allocataire=pl.lit(200, dtype=pl.Int32)), "age_allocataire"),
        (_duplicate_first_id, "id_foyer"),
    ],
    ids=["age_hors_bornes", "pseudonymes_doubles"],
)
def test_a_rejected_extract_is_recorded_and_writes_nothing(
    engine: Engine,
    geography: Geography,
    territory_extract: Path,
    tmp_path: Path,
    breach: Callable[[pl.DataFrame], pl.DataFrame],
    column: str,
) -> None:
    bad = tmp_path / "mauvais.parquet"
    breach(pl.read_parquet(territory_extract)).write_parquet(bad)
    out = tmp_path / "sortie"

    with pytest.raises(ExtractRejected):
        _runner(engine, geography, tmp_path).run(RunRequest(bad, out_dir=out))

    run = latest_run(engine, status=None)
    assert run is not None and run.status == REJECTED and run.import_id is not None
    assert run.error_summary and column in run.error_summary
    assert not out.exists() and not (tmp_path / "runs").exists()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(DetectionFlag)) == 0


def test_a_stop_request_fails_the_run_and_publishes_nothing(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    stop = threading.Event()
    out = tmp_path / "sortie"

    def progress(step: str) -> None:
        if step == "enregistrement":
            stop.set()

    runner = _runner(engine, geography, tmp_path, progress=progress, stop=stop)
    with pytest.raises(RunInterrupted):
        runner.run(RunRequest(territory_extract, out_dir=out))

    run = latest_run(engine, status=None)
    assert run is not None and run.status == FAILED and count_flags(engine, run.id) == 0
    assert not any(out.iterdir())


def test_a_stop_request_while_the_flags_are_stored_rolls_back_the_batches_already_stored(
    engine: Engine,
    geography: Geography,
    territory_extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runs, "INSERT_BATCH", 300)
    stop = threading.Event()
    steps: list[str] = []
    stored: list[int] = []

    def rows_progress(done: int, _total: int) -> None:
        if steps[-1] == "enregistrement":
            stored.append(done)
            if len(stored) == 2:
                stop.set()

    runner = _runner(
        engine, geography, tmp_path, progress=steps.append, rows_progress=rows_progress, stop=stop
    )
    with pytest.raises(RunInterrupted):
        runner.run(RunRequest(territory_extract))

    assert stored == [300, 600]  # two batches stored in the transaction, then the stop
    run = latest_run(engine, status=None)
    assert run is not None and run.status == FAILED and count_flags(engine, run.id) == 0


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(proc.stdout)


def test_a_running_run_whose_process_is_gone_is_marked_failed_and_its_files_removed(
    engine: Engine, tmp_path: Path
) -> None:
    import socket

    alive_elsewhere = utcnow()
    last_beat = utcnow() - dt.timedelta(hours=50)  # killed on Friday evening, found on Monday
    with Session(engine) as session, session.begin():
        common = {
            "trigger": "test",
            "extract_name": "x.parquet",
            "rule_versions": {},
            "forced": False,
            "counts_by_rule": {},
            "counts_by_commune": {},
            "timings": {},
            "started_at": last_beat - dt.timedelta(minutes=4),
        }
        dead = DetectionRun(
            status=RUNNING,
            pid=_dead_pid(),
            host=socket.gethostname(),
            flags_path=str(tmp_path / "flags.parquet"),
            heartbeat_at=last_beat,
            **common,
        )
        me = DetectionRun(status=RUNNING, pid=__import__("os").getpid(), host=socket.gethostname(), **common)
        other_host = DetectionRun(
            status=RUNNING, pid=1, host="autre-serveur", heartbeat_at=alive_elsewhere, **common
        )
        session.add_all([dead, me, other_host])
        session.flush()
        ids = dead.id, me.id, other_host.id
    leftover = tmp_path / f".flags.parquet.partiel-{ids[0]}"
    leftover.write_bytes(b"partial")

    assert recover_interrupted_runs(engine, tmp_path) == [ids[0]]
    with Session(engine) as session:
        statuses = [session.get_one(DetectionRun, i).status for i in ids]
    assert statuses == [FAILED, RUNNING, RUNNING]
    assert not leftover.exists()
    with Session(engine) as session:
        failed = get_run(session, ids[0])
    assert failed is not None and failed.finished_at == last_beat and failed.seconds == 240
    assert failed.error_summary is not None and "dernier signe de vie" in failed.error_summary


def test_a_large_extract_evaluated_in_slices_gives_the_same_flags(
    engine: Engine,
    geography: Geography,
    territory_extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = _runner(engine, geography, tmp_path)
    whole = runner.run(RunRequest(territory_extract, out_dir=tmp_path / "entier")).run
    monkeypatch.setattr(runs, "SLICE_ROWS", 900)
    sliced = (
        _runner(engine, geography, tmp_path)
        .run(RunRequest(territory_extract, out_dir=tmp_path / "tranches", force=True))
        .run
    )

    assert sliced.counts_by_rule == whole.counts_by_rule
    key = ["regle", "id_foyer"]
    assert load_flags(engine, sliced.id).sort(key).equals(load_flags(engine, whole.id).sort(key))
    assert [p.name for p in (tmp_path / "tranches").iterdir()] == ["flags.parquet"]


def test_an_error_while_storing_fails_the_run_and_leaves_no_flags_nor_files(
    engine: Engine,
    geography: Geography,
    territory_extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_insert(*_args: object) -> None:
        raise OSError("disque plein")

    monkeypatch.setattr(runs, "insert_flags", broken_insert)
    out = tmp_path / "sortie"

    with pytest.raises(RunFailed) as failure:
        _runner(engine, geography, tmp_path).run(RunRequest(territory_extract, out_dir=out))

    assert "OSError" in str(failure.value) and "disque plein" not in str(failure.value)
    run = latest_run(engine, status=None)
    assert run is not None and run.status == FAILED and run.error_summary == "erreur interne (OSError)"
    assert count_flags(engine, run.id) == 0
    assert not any(out.iterdir())


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda folder: (folder / "flags.parquet").write_bytes(b"another run's"), "existe déjà"),
        (lambda folder: folder.with_name("fichier").write_bytes(b"x"), "est un fichier"),
    ],
    ids=["flags_deja_la", "chemin_sous_un_fichier"],
)
def test_an_output_folder_that_cannot_take_the_flags_is_refused_before_the_run_starts(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path, make, said
) -> None:
    folder = tmp_path / "sortie"
    folder.mkdir()
    make(folder)
    out = folder if said == "existe déjà" else tmp_path / "fichier" / "sous-dossier"
    with pytest.raises(OutputUnusable, match=said):
        _runner(engine, geography, tmp_path).run(RunRequest(territory_extract, out_dir=out))
    assert latest_run(engine, status=None) is None  # no run recorded, nothing written
    if said == "existe déjà":
        assert (folder / "flags.parquet").read_bytes() == b"another run's"


def test_an_interrupted_run_whose_output_path_cannot_exist_is_still_recovered(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "fichier").write_bytes(b"x")
    with Session(engine) as session, session.begin():
        session.add(
            DetectionRun(
                status=RUNNING,
                trigger="test",
                extract_name="x.parquet",
                rule_versions={},
                forced=False,
                counts_by_rule={},
                counts_by_commune={},
                timings={},
                started_at=utcnow(),
                pid=_dead_pid(),
                host=socket.gethostname(),
                heartbeat_at=utcnow(),
                flags_path=str(tmp_path / "fichier" / "flags.parquet"),
            )
        )
    assert len(recover_interrupted_runs(engine, tmp_path)) == 1
    run = latest_run(engine, status=None)
    assert run is not None and run.status == FAILED


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("slice_rows", [None, 900], ids=["entier", "tranches"])
def test_the_run_tells_the_households_read_in_increasing_order_then_the_flags_stored(
    engine: Engine,
    geography: Geography,
    territory_extract: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file_format: str,
    slice_rows: int | None,
) -> None:
    extract = territory_extract
    if file_format == "csv":  # validated before the evaluation, then read without checks
        extract = tmp_path / "foyers.csv"
        pl.read_parquet(territory_extract).write_csv(extract)
    if slice_rows:
        monkeypatch.setattr(runs, "SLICE_ROWS", slice_rows)
    steps: list[str] = []
    told: list[tuple[int, int]] = []
    stored: list[tuple[int, int]] = []
    runner = _runner(
        engine,
        geography,
        tmp_path,
        progress=steps.append,
        rows_progress=lambda done, total: (told if steps[-1] == "evaluation" else stored).append(
            (done, total)
        ),
    )
    run = runner.run(RunRequest(extract)).run
    assert run.status == SUCCEEDED
    assert stored == [(run.flags_count, run.flags_count)]  # one batch of flags, stored

    reads = [read for read, _ in told]
    assert reads == sorted(reads) and reads[0] > 0 and {total for _, total in told} == {4_000}
    assert reads[-1] == 4_000  # every household once, though a slice reads the file up to its end
    if slice_rows:
        assert reads == [900, 1_800, 2_700, 3_600, 4_000]


def _run_meanwhile(step: str, start_other: Callable[[], object]) -> Callable[[str], None]:
    """A progress callback that runs another detection to its end when this one reaches `step`."""

    def progress(current: str) -> None:
        if current == step:
            start_other()

    return progress


def test_of_two_equivalent_runs_started_together_only_the_first_to_finish_publishes(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    first: list[RunOutcome] = []
    other = _runner(engine, geography, tmp_path)
    late = _runner(
        engine,
        geography,
        tmp_path,
        # Past its rerun check, the late run lets the other one run from start to end.
        progress=_run_meanwhile("evaluation", lambda: first.append(other.run(RunRequest(territory_extract)))),
    )
    outcome = late.run(RunRequest(territory_extract))

    [published] = first
    assert outcome.reused and outcome.run.id == published.run.id
    with Session(engine) as session:
        runs_ = list(session.scalars(select(DetectionRun).order_by(DetectionRun.id)))
        flags = session.scalar(select(func.count()).select_from(DetectionFlag))
    assert [r.status for r in runs_] == [FAILED, SUCCEEDED]  # the late one started first
    assert "identique à l'exécution n°" in (runs_[0].error_summary or "")
    assert flags == runs_[1].flags_count  # no duplicate
    late_folder = tmp_path / "runs" / str(runs_[0].id)
    assert not late_folder.exists() or not any(late_folder.iterdir())  # nothing left behind


def test_a_run_never_overwrites_nor_removes_the_flags_another_run_published_in_the_same_folder(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "sortie"
    other = _runner(engine, geography, tmp_path)
    late = _runner(
        engine,
        geography,
        tmp_path,
        progress=_run_meanwhile(
            "evaluation", lambda: other.run(RunRequest(territory_extract, out_dir=shared, force=True))
        ),
    )
    with pytest.raises(OutputUnusable, match="pendant l'exécution"):
        late.run(RunRequest(territory_extract, out_dir=shared, force=True))

    with Session(engine) as session:
        late_run, published = session.scalars(select(DetectionRun).order_by(DetectionRun.id))
    assert (late_run.status, published.status) == (FAILED, SUCCEEDED)
    # The published file is intact (the late run wrote its own partial file, then removed it).
    assert pl.read_parquet(shared / "flags.parquet").height == published.flags_count
    assert sorted(p.name for p in shared.iterdir()) == ["flags.parquet"]


def test_an_extract_rewritten_in_place_during_the_run_fails_it_and_publishes_nothing(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    households = pl.read_parquet(territory_extract)
    extract = tmp_path / "depot" / "foyers.csv"
    extract.parent.mkdir()
    households.head(3_000).write_csv(extract)

    def drop_again(step: str) -> None:
        # Another file copied over the first under the same name while the rules are compiled: a
        # CSV is validated in full first, then read again by the evaluation.
        if step == "catalogue":
            households.tail(2_000).write_csv(extract)

    with pytest.raises(runs.ExtractChangedDuringRun) as raised:
        _runner(engine, geography, tmp_path, progress=drop_again).run(RunRequest(extract))

    said = str(raised.value)
    assert f"le fichier {extract} a changé pendant l'exécution" in said
    assert "aucun drapeau n'a été publié" in said and "une fois sa copie terminée" in said
    with Session(engine) as session:
        [run] = session.scalars(select(DetectionRun))
        flags = session.scalar(select(func.count()).select_from(DetectionFlag))
    assert run.status == FAILED and run.error_summary == said and flags == 0
    assert latest_run(engine) is None
    run_folder = tmp_path / "runs" / str(run.id)
    assert not run_folder.exists() or not any(run_folder.iterdir())


def test_an_extract_rewritten_during_the_run_then_refused_is_recorded_under_the_refused_contents_hash(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    households = pl.read_parquet(territory_extract)
    extract = tmp_path / "depot" / "foyers.parquet"
    extract.parent.mkdir()
    households.write_parquet(extract)
    first = hashlib.sha256(extract.read_bytes()).hexdigest()

    def drop_again(step: str) -> None:
        # Another file copied over the first once its file and columns were screened: the evaluation
        # reads the new one, whose housing statuses break the contract.
        if step == "catalogue":
            households.with_columns(pl.lit("chateau").alias("statut_logement")).write_parquet(extract)

    with pytest.raises(ExtractRejected) as refused:
        _runner(engine, geography, tmp_path, progress=drop_again).run(RunRequest(extract))

    second = hashlib.sha256(extract.read_bytes()).hexdigest()
    assert second != first
    report = refused.value.report()
    assert "(valeur_inconnue)" in report and "ce rapport porte sur son nouveau contenu" in report
    with Session(engine) as session:
        [run] = session.scalars(select(DetectionRun))
        [record] = session.scalars(select(ImportRecord))
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "detection.rejet"))
    assert run.status == REJECTED and run.extract_sha256 == second
    assert record.outcome == "rejete" and record.content_hash == second
    details = json.loads(entry.details or "{}")
    assert details["extrait_sha256"] == second and "nouveau contenu" in details["note"]


def test_an_extract_refused_without_changing_is_recorded_under_its_hash_without_a_note(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    extract = tmp_path / "foyers.parquet"
    households = pl.read_parquet(territory_extract)
    households.with_columns(pl.lit(150, pl.Int32).alias("age_allocataire")).write_parquet(extract)

    with pytest.raises(ExtractRejected) as refused:
        _runner(engine, geography, tmp_path).run(RunRequest(extract))

    assert "a changé pendant sa validation" not in refused.value.report()
    with Session(engine) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "detection.rejet"))
    details = json.loads(entry.details or "{}")
    assert details == {"extrait_sha256": hashlib.sha256(extract.read_bytes()).hexdigest()}


def test_an_extract_left_as_it_was_during_the_run_is_published(
    engine: Engine, geography: Geography, territory_extract: Path, tmp_path: Path
) -> None:
    seen: list[str] = []
    outcome = _runner(engine, geography, tmp_path, progress=seen.append).run(RunRequest(territory_extract))
    assert outcome.run.status == SUCCEEDED and "enregistrement" in seen
