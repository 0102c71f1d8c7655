"""The detection run: validate the extract → compile the catalogue → evaluate with the geography → store.

Safety properties:

- A catalogue whose rules' own test cases fail is refused before the extract is read, nothing
  written (`detection.verification`: each rule's verdict is recorded, and reused until the rule,
  its cases, its parameters or the territory change).
- A rejected extract is recorded (import and run `rejected`) and nothing else is written. A Parquet
  extract's file, columns and metadata are checked first and its rows by the evaluation's own
  reading of the file (one read instead of two: `detection.validation.screen_extract`); flags
  evaluated from an extract whose rows then fail are removed before anything is published.
- The same extract with the same rule versions, parameters and territory as a succeeded run is
  recognised and not run again, unless forced.
- The file is read more than once (validation, evaluation): its identity (size, modification time,
  inode) when the validation starts is checked again in the transaction that publishes, and a file
  changed meanwhile fails the run, nothing published.
- Flags become visible in one transaction at the end; the parquet file is written under a
  temporary name and renamed just before that commit. A run whose process disappeared (kill -9,
  power cut) is marked `failed` by `detection.recovery.recover_interrupted_runs`, called at every
  start, which also removes its files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from detection.contract import ContractSummary
from detection.errors import DetectionError, OutputUnusable, RuleChangedWithoutVersion, RuleVersionWentBack
from detection.geography import Geography, territory_fingerprint
from detection.imports import record_import
from detection.reading import FileIdentity, file_identity, sha256_of
from detection.records import (
    FAILED,
    FLAG_COLUMNS,
    REJECTED,
    RUNNING,
    SUCCEEDED,
    DetectionRun,
    RunRecord,
    find_equivalent_run,
    insert_flags,
    may_be_rerun,
    publication_key,
    rules_changed_since,
    rules_gone_back,
    run_published_as,
    run_report,
    utcnow,
)
from detection.recovery import (
    HEARTBEAT_EVERY_S,
    SLICES_SUFFIX,
    process_started_at,
    recover_interrupted_runs,
    remove_outputs,
    temporary_path,
)
from detection.validation import ExtractRejected, Problem, ScreenedExtract, ValidatedExtract, screen_extract
from detection.verification import CasesFailed, verify_catalogue
from privacy import audit
from privacy.datafolder import folder_name
from rules.catalogue import Catalogue, load_catalogue
from rules.compiler import CompiledCatalogue, compile_catalogue
from rules.parameters import Parameters, load_parameters

# The household attributes carried on every flag, for outreach to select and route.
CARRIED_COLUMNS = (
    "code_commune",
    "evenement_vie",
    "canal_sms",
    "canal_email",
    "canal_telephone",
    "canal_courrier",
    "opposition_contact",
    "accompagnement_social",
)


# Test hook: seconds to sleep after each step, so that a test can kill a run part-way.
STEP_DELAY_ENV = "UPTAKE_RUN_STEP_DELAY"

FLAGS_FILE = "flags.parquet"
RUNS_DIR = "runs"  # in the data folder, one folder per run (unless `--out`)
# Households evaluated per slice of a very large extract. The flags stream in bounded memory, but
# not flat: measured 0.7 GB at 2M households and 1.1 GB at 14M (one slice: the fastest); slicing
# keeps extracts beyond the national size under that.
SLICE_ROWS = 16_000_000
# The flags file's zstd level: 1 instead of polars' default costs 4 % in size (repetitive French
# sentences compress well at any level) and saves 5 to 10 % of the evaluation's CPU.
FLAGS_ZSTD_LEVEL = 1
INSERT_BATCH = 100_000

Progress = Callable[[str], None]
# Told how far the current step is: households read during the evaluation, flags stored during
# the storing step (so far, and in all).
RowsProgress = Callable[[int, int], None]


class RunInterrupted(DetectionError):
    """The run was asked to stop (SIGTERM) before it finished; nothing was published."""

    exit_code = 130

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(
            f"exécution n° {run_id} interrompue sur demande d'arrêt : aucun drapeau n'a été publié, "
            "relancez la détection"
        )


INTERRUPTED_BY_USER = (
    "interrompue par l'utilisateur (Ctrl-C) : aucun drapeau n'a été publié, relancez la détection"
)


class RunFailed(DetectionError):
    """The run stopped on an unexpected error; it is recorded as `failed` and nothing was published."""

    def __init__(self, run_id: int, cause: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"exécution n° {run_id} en échec ({cause}) : aucun drapeau n'a été publié. "
            "Relancez la détection ; si l'échec se répète, signalez-le à l'équipe avec ce numéro"
        )


class EvaluationFailed(DetectionError):
    """The rules could not be evaluated on a valid extract (an error of the rules, not of the file)."""

    def __init__(self, run_id: int, cause: str) -> None:
        self.run_id = run_id
        # polars' own message may quote the extract's values: only its type is told.
        super().__init__(
            f"exécution n° {run_id} en échec : l'extrait est valide, mais les règles n'ont pas pu être "
            f"évaluées ({cause}). Aucun drapeau n'a été publié. Vérifiez les règles modifiées et leurs cas "
            "(`uptake rules check`, `uptake rules test`) ; UPTAKE_DEBUG=1 montre le détail technique"
        )


class ExtractChangedDuringRun(DetectionError):
    """The extract's file was rewritten, replaced or removed while the run read it: its flags may come
    from another file than the one validated and hashed; nothing is published."""

    def __init__(self, run_id: int, path: Path) -> None:
        self.run_id = run_id
        super().__init__(
            f"exécution n° {run_id} en échec : le fichier {path} a changé pendant l'exécution (modifié, "
            "remplacé ou retiré après le début de sa validation) ; aucun drapeau n'a été publié. "
            "Déposez-le de nouveau une fois sa copie terminée (copiez-le sous un nom temporaire, puis "
            "renommez-le), et relancez la détection"
        )


class PublishedMeanwhile(DetectionError):
    """An equivalent run (same extract, rules, parameters, territory) published its flags while
    this one ran: this one publishes nothing, the earlier run's flags stand."""

    def __init__(self, earlier: RunRecord) -> None:
        self.earlier = earlier
        super().__init__(
            f"identique à l'exécution n° {earlier.id}, qui a publié ses drapeaux pendant celle-ci : "
            "aucun doublon n'est publié, ses drapeaux font foi"
        )


@dataclass(frozen=True)
class RunRequest:
    """What to run: an extract, optionally a subset of rules, an output folder, a forced rerun."""

    extract: Path
    rule_ids: tuple[str, ...] = ()
    out_dir: Path | None = None
    force: bool = False
    trigger: str = "cli"
    actor: str = "cli"
    catalogue_dir: Path | None = None
    parameters_dir: Path | None = None


@dataclass(frozen=True)
class RunOutcome:
    """The run that holds the flags; `reused` when an equivalent earlier run was found instead."""

    run: RunRecord
    reused: bool = False


@dataclass
class _Clock:
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)


def _check_output_folder(folder: Path) -> None:
    """Refuse, before a run starts, a folder its flags could not be written to, or one holding
    another run's `flags.parquet` (which that run's record points to: never overwritten)."""
    if (folder / FLAGS_FILE).exists():
        raise OutputUnusable(
            str(folder),
            f"{FLAGS_FILE} existe déjà (drapeaux d'une autre exécution)",
            "indiquez un autre dossier, ou supprimez ce fichier si vous n'en avez plus besoin",
        )
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        raise OutputUnusable(str(folder), f"{existing} est un fichier", "indiquez un dossier")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputUnusable(
            str(folder), f"écriture interdite dans {existing}", "indiquez un dossier où vous pouvez écrire"
        )


def _folders_to_create(folder: Path) -> list[Path]:
    """The folders missing on the way to `folder`, innermost first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


class _Heartbeat(threading.Thread):
    """Refreshes the run's heartbeat so that other hosts can tell it is alive."""

    def __init__(self, engine: Engine, run_id: int) -> None:
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.engine, self.run_id = engine, run_id
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_EVERY_S):
            # A busy database only delays the heartbeat; the next beat retries.
            with suppress(Exception), self.engine.begin() as connection:
                connection.execute(
                    update(DetectionRun).where(DetectionRun.id == self.run_id).values(heartbeat_at=utcnow())
                )


def load_rules(
    geography: Geography, *, catalogue_dir: Path | None = None, parameters_dir: Path | None = None
) -> tuple[Catalogue, Parameters]:
    """The catalogue checked against the contract and the territory's perimeters, and its parameters."""
    summary = ContractSummary()
    parameters = load_parameters(parameters_dir)
    catalogue = load_catalogue(
        catalogue_dir,
        columns=summary.column_kinds,
        enums=summary.enum_values,
        perimeters=geography.perimeter_names(),
        parameters=parameters,
        bounds=summary.int_bounds,
    )
    return catalogue, parameters


def compile_for_run(
    catalogue: Catalogue, parameters: Parameters, month: dt.date, geography: Geography
) -> tuple[CompiledCatalogue, list[str]]:
    """`catalogue` compiled for `month`, and the extract's columns a run reads to apply it."""
    compiled = compile_catalogue(catalogue, parameters, month, geography)
    return compiled, sorted(set(catalogue.columns_read) | {"id_foyer", *CARRIED_COLUMNS})


def _outside_territory(extract: ValidatedExtract, territory: str) -> ExtractRejected:
    """The rejection of an extract whose households all live outside `territory`."""
    problem = Problem(
        "code_commune",
        "hors_territoire",
        f"aucun foyer n'habite le territoire configuré ({territory}) : extrait d'un autre territoire, ou "
        "territoire mal configuré (config/territoire.toml ; `uptake territory` le montre)",
        extract.rows,
        (),
    )
    return ExtractRejected(
        extract.path,
        [problem],
        file_format=extract.file_format,
        content_hash=extract.content_hash,
        rows=extract.rows,
        mois_reference=extract.mois_reference,
        dropped_columns=extract.dropped_columns,
        started_at=extract.started_at,
    )


def territory_counts(extract: ValidatedExtract, geography: Geography) -> tuple[int, int]:
    """Households of the extract inside and outside the territory."""
    if geography.territory.national:
        return extract.rows, 0
    inside = int(
        extract.scan(columns=["code_commune"]).select(geography.in_territory_expr().sum()).collect().item()
    )
    return inside, extract.rows - inside


def write_flags(
    extract: ScreenedExtract,
    compiled: CompiledCatalogue,
    columns: list[str],
    geography: Geography,
    path: Path,
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Evaluate every rule on the households of the territory and stream the flags to `path`.

    One lazy plan, written by `sink_parquet` without holding the result in memory. The commune's
    distance and remoteness are added to the flags (far fewer rows than households) by lookups,
    not joins. The rules share one scan of the file; an extract larger than `SLICE_ROWS`
    households is evaluated in slices of that size, so that memory stays bounded. `on_rows` is told
    the households read so far, in increasing order, ending with all of them.
    """

    def plan(households: pl.LazyFrame) -> pl.LazyFrame:
        if not geography.territory.national:
            households = households.filter(geography.in_territory_expr())
        flags = compiled.flags(households, keep=list(CARRIED_COLUMNS)).with_columns(
            geography.distance_expr().alias("distance_services_km"),
            geography.remote_expr().alias("commune_eloignee"),
        )
        return flags.select(pl.col(name).cast(dtype) for name, dtype in FLAG_COLUMNS.items())

    path.parent.mkdir(parents=True, exist_ok=True)
    if extract.rows <= SLICE_ROWS:
        plan(extract.scan(columns, on_rows)).sink_parquet(path, compression_level=FLAGS_ZSTD_LEVEL)
        if on_rows is not None:  # also when the extract was validated beforehand, read without count
            on_rows(extract.rows)
        return
    # Each slice's query reads the file up to its end: the households done are told per slice.
    households = extract.scan(columns)
    with tempfile.TemporaryDirectory(prefix=f"{path.name}{SLICES_SUFFIX}", dir=path.parent) as folder:
        parts = []
        for number, offset in enumerate(range(0, extract.rows, SLICE_ROWS)):
            parts.append(Path(folder) / f"{number:04d}.parquet")
            plan(households.slice(offset, SLICE_ROWS)).sink_parquet(
                parts[-1], compression_level=FLAGS_ZSTD_LEVEL
            )
            if on_rows is not None:
                on_rows(min(offset + SLICE_ROWS, extract.rows))
        pl.scan_parquet(parts).sink_parquet(path, compression_level=FLAGS_ZSTD_LEVEL)


def versions_refused(
    session: Session, compiled: CompiledCatalogue
) -> RuleChangedWithoutVersion | RuleVersionWentBack | None:
    """Why the runs recorded refuse the rules' versions (a content changed under a version already
    used, or a new one under a lower version), or None when a run may use them."""
    changed = rules_changed_since(session, compiled.rule_versions, compiled.rule_digests)
    if changed:
        return RuleChangedWithoutVersion(changed)
    gone_back = rules_gone_back(session, compiled.rule_versions, compiled.rule_digests)
    return RuleVersionWentBack(gone_back) if gone_back else None


class DetectionRunner:
    """Runs detections against one database and one geography."""

    def __init__(
        self,
        engine: Engine,
        geography: Geography,
        data_folder: Path,
        *,
        progress: Progress | None = None,
        rows_progress: RowsProgress | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.geography = geography
        self.data_folder = data_folder
        self.progress = progress or (lambda _step: None)
        self.rows_progress = rows_progress
        self._renamed: set[int] = set()  # runs whose publication moved their file to its final path
        self.stop = stop or threading.Event()
        self.step_delay = float(os.environ.get(STEP_DELAY_ENV, "0") or 0)

    def run(self, request: RunRequest) -> RunOutcome:
        """Run one detection; raises `CasesFailed` (before the extract is read), `ExtractRejected`,
        rules errors, `RunInterrupted` or `RunFailed`.

        A Parquet extract's rows are checked by the evaluation's own reading of the file (one read
        instead of two); its flags stay unpublished until the rows passed, and a rejection then
        removes them and records the run as rejected, as when the file is refused at once.
        """
        recover_interrupted_runs(self.engine, self.data_folder)
        clock = _Clock()
        started = utcnow()

        # Before the extract is read: a rule whose own cases fail computes something else than its
        # author meant, and its flags would be published. Refused like an invalid catalogue: nothing
        # is recorded but the verification itself (reused by the next run, `uptake check`…).
        self.progress("verification")
        with clock.step("verification"):
            catalogue, parameters = load_rules(
                self.geography, catalogue_dir=request.catalogue_dir, parameters_dir=request.parameters_dir
            )
            if request.rule_ids:
                catalogue = catalogue.select(list(request.rule_ids))
            verdict = verify_catalogue(catalogue, parameters, self.geography, self.engine)
        if verdict.wrong_rules:
            raise CasesFailed(verdict)
        self._pause()

        self.progress("validation")
        # Taken before the first read: the file is read again to evaluate the rules (and a CSV after
        # its full validation); one rewritten in place meanwhile would give another file's flags
        # under this one's hash and count. Checked again where the flags become visible.
        identity = file_identity(request.extract)
        with clock.step("validation"):
            try:
                screened = screen_extract(
                    request.extract, reference=self.geography.reference, max_rows=SLICE_ROWS
                )
            except ExtractRejected as rejected:
                self._record_rejection(request, rejected, started, clock)
                raise
        self._pause()

        self.progress("catalogue")
        with clock.step("catalogue"):
            compiled, columns = compile_for_run(
                catalogue, parameters, screened.mois_reference, self.geography
            )

        with Session(self.engine) as session:
            refused = versions_refused(session, compiled)
        if refused is not None:
            raise refused

        key: dict[str, Any] = {
            "rule_versions": dict(compiled.rule_versions),
            "parameters_fingerprint": compiled.fingerprint,
            "territory_fingerprint": territory_fingerprint(self.geography),
        }
        # The file's sha256 (a second or so for a national extract) is awaited only when an earlier
        # run could be of the same file: same reference month and number of households. Otherwise
        # the evaluation starts at once and the hash, computed meanwhile, is recorded after it.
        with Session(self.engine) as session:
            candidate = may_be_rerun(
                session, mois_reference=screened.mois_reference, households_total=screened.rows, **key
            )
            if candidate:
                key["extract_sha256"] = screened.content_hash
                earlier = find_equivalent_run(session, **key)
                if earlier is not None and not request.force:
                    return RunOutcome(earlier, reused=True)

        if request.out_dir is not None:
            _check_output_folder(request.out_dir)
        # JSON-ready: dates and decimal values as text, table keys as text.
        used = json.loads(json.dumps(compiled.parameters_record(), default=str, ensure_ascii=False))
        left_out = compiled.left_out(self.geography.territory.communes)
        if left_out:  # beside the record, not in its fingerprint: it depends on the territory
            used["hors_champ"] = {item.rule_id: item.record() for item in left_out}
        run_id = self._start(request, screened, {**key, "rules_record": used}, started)
        heartbeat = _Heartbeat(self.engine, run_id)
        heartbeat.start()
        try:
            self._pause(run_id)
            # Absolute: the purge, the web pages and the daemon may work from another folder.
            final = ((request.out_dir or self.data_folder / RUNS_DIR / str(run_id)) / FLAGS_FILE).absolute()
            self._set(run_id, flags_path=str(final), data_folder=folder_name(self.data_folder))
            self.progress("evaluation")
            with clock.step("evaluation"):
                partial = temporary_path(final, run_id)
                created = _folders_to_create(final.parent)
                try:
                    write_flags(
                        screened, compiled, columns, self.geography, partial, self._rows_read(screened)
                    )
                except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
                    # A file the query could not decode is rejected with its report; a valid one
                    # means the rules themselves could not be evaluated on it.
                    self._concluded(run_id, request, screened, clock, created, identity, read_failed=True)
                    raise EvaluationFailed(run_id, type(exc).__name__) from exc
                extract, counts = self._concluded(run_id, request, screened, clock, created, identity)
                self._set(run_id, extract_sha256=extract.content_hash)
            self._pause(run_id)
            self.progress("enregistrement")
            record = self._publish(
                run_id, partial, final, counts, clock, request.actor, (request.extract, identity)
            )
        except ExtractRejected:
            raise
        except PublishedMeanwhile as meanwhile:
            self._fail(run_id, meanwhile, clock)
            return RunOutcome(meanwhile.earlier, reused=True)
        except BaseException as exc:
            self._fail(run_id, exc, clock)
            if isinstance(exc, RunInterrupted | DetectionError):
                raise
            if isinstance(exc, Exception):
                raise RunFailed(run_id, type(exc).__name__) from exc
            raise
        finally:
            heartbeat.stopped.set()
        return RunOutcome(record)

    def _concluded(
        self,
        run_id: int,
        request: RunRequest,
        screened: ScreenedExtract,
        clock: _Clock,
        created: list[Path],
        identity: FileIdentity | None,
        *,
        read_failed: bool = False,
    ) -> tuple[ValidatedExtract, tuple[int, int]]:
        """The extract's verdict once its rows were read, with its households inside and outside the
        territory: the import is recorded either way, and a rejected extract's run becomes
        `rejected`, its flags and the folders made for them removed. An extract none of whose
        households lives in a territorial run's territory is rejected too: another territory's file
        (or the national one) would otherwise pass for the month, flagging nobody.

        `identity`: the file's when the run began; a file changed since is not rejected for its
        territory (counted on another content than the one validated and hashed): the run fails."""
        try:
            extract = screened.conclude(read_failed=read_failed)
            counts = territory_counts(extract, self.geography)
            if counts[0] == 0 and extract.rows > 0:
                if identity is None or file_identity(request.extract) != identity:
                    raise ExtractChangedDuringRun(run_id, request.extract)
                raise _outside_territory(extract, self.geography.territory.nom)
        except ExtractRejected as rejected:
            self._record_rejection(request, rejected, rejected.started_at, clock, run_id=run_id)
            for folder in created:  # innermost first; a folder another run wrote into stays
                with suppress(OSError):
                    folder.rmdir()
            raise
        with Session(self.engine) as session, session.begin():
            import_id = record_import(session, extract)
            session.get_one(DetectionRun, run_id).import_id = import_id
        return extract, counts

    def _rows_read(self, screened: ScreenedExtract) -> Callable[[int], None] | None:
        report, total = self.rows_progress, screened.rows
        if report is None:
            return None
        return lambda read: report(read, total)

    def _pause(self, run_id: int | None = None) -> None:
        """Between steps: the test hook's delay, then honour a stop request."""
        if self.step_delay:
            time.sleep(self.step_delay)
        if run_id is not None:
            self._check_stop(run_id)

    def _check_stop(self, run_id: int) -> None:
        if self.stop.is_set():
            raise RunInterrupted(run_id)

    def _start(
        self, request: RunRequest, extract: ScreenedExtract, key: dict[str, Any], started: dt.datetime
    ) -> int:
        pid = os.getpid()
        with Session(self.engine) as session, session.begin():
            run = DetectionRun(
                status=RUNNING,
                trigger=request.trigger,
                extract_name=request.extract.name,
                mois_reference=extract.mois_reference,
                forced=request.force,
                households_total=extract.rows,
                counts_by_rule={},
                counts_by_commune={},
                timings={},
                pid=pid,
                host=socket.gethostname(),
                process_started_at=process_started_at(pid),
                heartbeat_at=utcnow(),
                started_at=started,
                **key,
            )
            session.add(run)
            session.flush()
            return run.id

    def _set(self, run_id: int, **values: object) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(DetectionRun).where(DetectionRun.id == run_id).values(**values))

    def _publish(
        self,
        run_id: int,
        partial: Path,
        final: Path,
        counts: tuple[int, int],
        clock: _Clock,
        actor: str,
        source: tuple[Path, FileIdentity | None],
    ) -> RunRecord:
        """Store the flags and finish the run in one transaction, then the file is the final one.

        `source`: the extract and its identity when its validation started; a file changed since
        fails the run before the commit (`ExtractChangedDuringRun`), everything stored rolled back.
        """
        start = time.perf_counter()
        flags = pl.scan_parquet(partial)
        by_rule = dict(flags.group_by("regle").len().sort("regle").collect().iter_rows())
        by_commune = dict(flags.group_by("code_commune").len().sort("code_commune").collect().iter_rows())
        total = sum(by_rule.values())
        self._check_stop(run_id)
        with self._publication(run_id) as session:
            # In batches: a national run's flags need not fit in memory at once. Storing millions of
            # them takes minutes: a stop request is honoured between batches (all rolled back).
            # Each batch goes in key order: the key index is then written page after page rather
            # than at random (benchmarks/flags_storage.py: SQLite 0.74, PostgreSQL 0.89 of the time).
            stored = 0
            for batch in flags.collect_batches(chunk_size=INSERT_BATCH):
                self._check_stop(run_id)
                insert_flags(session, run_id, batch.sort("id_foyer", "regle"))
                stored += batch.height
                if self.rows_progress is not None:
                    self.rows_progress(stored, total)
            run = session.get_one(DetectionRun, run_id)
            run.status = SUCCEEDED
            run.finished_at = utcnow()
            run.flags_count = total
            run.counts_by_rule = {k: int(v) for k, v in by_rule.items()}
            run.counts_by_commune = {k: int(v) for k, v in by_commune.items()}
            run.households_in_territory, run.households_out_of_territory = counts
            run.timings = {**clock.timings, "enregistrement": round(time.perf_counter() - start, 3)}
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="detection.execution",
                object_ref=f"execution:{run_id}",
                counts={
                    "foyers": run.households_total,
                    "hors_territoire": run.households_out_of_territory,
                    "drapeaux": total,
                },
                output_sha256=sha256_of(partial),
                details={
                    "extrait_sha256": run.extract_sha256,
                    "regles": run.rule_versions,
                    "empreinte_parametres": run.parameters_fingerprint,
                    "forcee": run.forced,
                },
            )
            # Last, before the flags become visible: every read of the file is over by now.
            extract, identity = source
            if identity is None or file_identity(extract) != identity:
                raise ExtractChangedDuringRun(run_id, extract)
            # Renamed inside the transaction: if the process dies before the commit, the next
            # start finds the run `running` with a dead pid and removes the file.
            if final.exists():  # another run given the same `--out` published there meanwhile
                raise OutputUnusable(
                    str(final.parent),
                    f"{FLAGS_FILE} y a été écrit pendant l'exécution (drapeaux d'une autre exécution)",
                    "relancez avec un autre dossier de sortie",
                )
            partial.replace(final)
            self._renamed.add(run_id)
            record = run_report(session, run)
            if self.step_delay:  # test hook: hold the transaction open, to be killed inside it
                time.sleep(self.step_delay)
        return record

    @contextmanager
    def _publication(self, run_id: int) -> Iterator[Session]:
        """The publishing transaction; it first takes the run's publication key (unless forced), so
        that of two equivalent runs that passed the rerun check together only one publishes."""
        key: str | None = None
        with Session(self.engine) as session:
            try:
                with session.begin():
                    run = session.get_one(DetectionRun, run_id)
                    if not run.forced and run.extract_sha256 and run.parameters_fingerprint:
                        key = publication_key(
                            extract_sha256=run.extract_sha256,
                            rule_versions=run.rule_versions,
                            parameters_fingerprint=run.parameters_fingerprint,
                            territory_fingerprint=run.territory_fingerprint or "",
                        )
                        run.publication_key = key
                        session.flush()  # waits for, or fails on, an equivalent run's publication
                    yield session
            except IntegrityError:
                with Session(self.engine) as lookup:
                    earlier = run_published_as(lookup, key) if key else None
                if earlier is None or earlier.id == run_id:
                    raise
                raise PublishedMeanwhile(earlier) from None

    def _fail(self, run_id: int, exc: BaseException, clock: _Clock) -> None:
        if isinstance(exc, DetectionError):
            summary = str(exc)
        elif isinstance(exc, KeyboardInterrupt):
            summary = INTERRUPTED_BY_USER
        else:
            summary = f"erreur interne ({type(exc).__name__})"
        with Session(self.engine) as session, session.begin():
            run = session.get_one(DetectionRun, run_id)
            run.status = FAILED
            run.finished_at = utcnow()
            run.error_summary = summary
            run.timings = dict(clock.timings)
            # The final file is this run's only if its publication renamed it there, then failed.
            remove_outputs(run, self.data_folder, final_is_ours=run_id in self._renamed)

    def _record_rejection(
        self,
        request: RunRequest,
        rejected: ExtractRejected,
        started: dt.datetime,
        clock: _Clock,
        *,
        run_id: int | None = None,
    ) -> None:
        """Record the rejected import and its run (`run_id`'s, once started: its flags are removed)."""
        with Session(self.engine) as session, session.begin():
            import_id = record_import(session, rejected)
            if run_id is None:
                run = DetectionRun(
                    trigger=request.trigger,
                    extract_name=request.extract.name,
                    rule_versions={},
                    forced=request.force,
                    started_at=started,
                )
                session.add(run)
            else:
                run = session.get_one(DetectionRun, run_id)
                if run.flags_path:
                    temporary_path(Path(run.flags_path), run.id).unlink(missing_ok=True)
            run.status = REJECTED
            run.extract_sha256 = rejected.content_hash
            run.mois_reference = rejected.mois_reference
            run.households_total = rejected.rows
            run.import_id = import_id
            run.counts_by_rule, run.counts_by_commune = {}, {}
            run.timings = dict(clock.timings)
            run.finished_at = utcnow()
            run.error_summary = str(rejected)
            audit.append(
                session,
                actor=request.actor,
                action="detection.rejet",
                object_ref=f"import:{import_id}",
                counts={"problemes": len(rejected.problems)},
                # A file changed during its validation: the hash is the new content's, or none.
                details={"extrait_sha256": rejected.content_hash}
                | ({"note": rejected.changed_note} if rejected.changed_note else {}),
            )
