"""Run records and stored flags: the `detection_runs` and `detection_flags` tables and their queries.

A run row is written when the run starts (`running`, with the pid, host and a heartbeat) and
finished in the same transaction that makes its flags visible, so readers never see a partial
run. Outreach reads flags through `load_flags`, `latest_run` and `get_run`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from detection.imports import ImportRecord
from detection.models import Base
from privacy.datafolder import own_file
from rules.areas import LeftOut

RUNNING, SUCCEEDED, REJECTED, FAILED = "running", "succeeded", "rejected", "failed"

STATUS_LABELS = {RUNNING: "en cours", SUCCEEDED: "réussi", REJECTED: "rejeté", FAILED: "échoué"}
# How a run was started, in French (a scheduled run's trigger is already "planification NAME").
TRIGGER_LABELS = {"cli": "ligne de commande", "demo": "démonstration"}
# The steps a run times (`RunRecord.timings`), in French.
STEP_LABELS = {
    "verification": "Chargement des règles et vérification de leurs cas de test",
    "validation": "Validation de l'extrait",
    "catalogue": "Compilation des règles pour le mois de l'extrait",
    "evaluation": "Évaluation des règles et de la géographie, contrôle des lignes",
    "enregistrement": "Enregistrement des drapeaux",
}

# Columns of a flag as stored (database and `flags.parquet`), in this order.
FLAG_COLUMNS: dict[str, pl.DataType] = {
    "id_foyer": pl.String(),
    "regle": pl.String(),
    "version_regle": pl.String(),
    "montant_estime": pl.Float64(),
    "priorite": pl.Int32(),
    "code_commune": pl.String(),
    "distance_services_km": pl.Float64(),
    "commune_eloignee": pl.Boolean(),
    "explication": pl.String(),
    "conditions_remplies": pl.String(),
    "empreinte_parametres": pl.String(),
    "evenement_vie": pl.String(),
    "canal_sms": pl.Boolean(),
    "canal_email": pl.Boolean(),
    "canal_telephone": pl.Boolean(),
    "canal_courrier": pl.Boolean(),
    "opposition_contact": pl.Boolean(),
    "accompagnement_social": pl.Boolean(),
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class DetectionRun(Base):
    """One detection run (see the `detection_0002` migration for the schema)."""

    __tablename__ = "detection_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(200))
    extract_name: Mapped[str] = mapped_column(String(255))
    extract_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    import_id: Mapped[int | None] = mapped_column(Integer)
    mois_reference: Mapped[dt.date | None] = mapped_column(Date)
    rule_versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    parameters_fingerprint: Mapped[str | None] = mapped_column(String(128))
    territory_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # `CompiledCatalogue.parameters_record()`: each rule's version and content digest, every dated
    # parameter value and setting used (detection_0005; None for older runs).
    rules_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    households_total: Mapped[int | None] = mapped_column(BigInteger)
    households_in_territory: Mapped[int | None] = mapped_column(BigInteger)
    households_out_of_territory: Mapped[int | None] = mapped_column(BigInteger)
    flags_count: Mapped[int | None] = mapped_column(BigInteger)
    counts_by_rule: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    counts_by_commune: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    flags_path: Mapped[str | None] = mapped_column(String(4096))
    # The data folder that wrote the flags file (`privacy.datafolder`): a copy of it leaves it alone.
    data_folder: Mapped[str | None] = mapped_column(String(4096))
    error_summary: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    process_started_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a run (not forced) publishes its flags; unique, so that of two equivalent runs
    # started before either finished, only the first publishes (`detection_0003`).
    publication_key: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # When the flags (rows and file) were deleted at the end of their retention (`detection_0004`).
    flags_purged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DetectionFlag(Base):
    """One household flagged by one rule in one run."""

    __tablename__ = "detection_flags"
    __table_args__ = (Index("ix_detection_flags_regle", "run_id", "regle"),)

    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("detection_runs.id"), primary_key=True)
    id_foyer: Mapped[str] = mapped_column(String(128), primary_key=True)
    regle: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_regle: Mapped[str] = mapped_column(String(32))
    montant_estime: Mapped[float | None] = mapped_column(Float)
    priorite: Mapped[int | None] = mapped_column(Integer)
    code_commune: Mapped[str] = mapped_column(String(5))
    distance_services_km: Mapped[float | None] = mapped_column(Float)
    commune_eloignee: Mapped[bool] = mapped_column(Boolean)
    explication: Mapped[str] = mapped_column(Text)
    conditions_remplies: Mapped[str] = mapped_column(Text)
    empreinte_parametres: Mapped[str | None] = mapped_column(String(128))
    evenement_vie: Mapped[str | None] = mapped_column(String(32))
    canal_sms: Mapped[bool] = mapped_column(Boolean)
    canal_email: Mapped[bool] = mapped_column(Boolean)
    canal_telephone: Mapped[bool] = mapped_column(Boolean)
    canal_courrier: Mapped[bool] = mapped_column(Boolean)
    opposition_contact: Mapped[bool] = mapped_column(Boolean)
    accompagnement_social: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class RunRecord:
    """A detection run as plain data, for the CLI, the web application and outreach."""

    id: int
    status: str
    trigger: str
    extract_name: str
    extract_sha256: str | None
    mois_reference: dt.date | None
    rule_versions: dict[str, str]
    parameters_fingerprint: str | None
    forced: bool
    households_total: int | None
    households_in_territory: int | None
    households_out_of_territory: int | None
    flags_count: int | None
    counts_by_rule: dict[str, int]
    counts_by_commune: dict[str, int]
    timings: dict[str, float]
    flags_path: str | None
    error_summary: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    import_id: int | None = None
    flags_purged_at: dt.datetime | None = None
    # From the record the run kept (empty for runs older than it): each rule's content digest, every
    # parameter used (`valeur`, `depuis`, `source`) and each rule's settings.
    rule_digests: dict[str, str] = field(default_factory=dict)
    parameters_used: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings_used: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The rules that did not flag part of the territory (outside their `champ`).
    left_out: tuple[LeftOut, ...] = ()
    # The columns outside the contract that the validation ignored (names only, from the run's
    # import); None when the run has no import recorded (stopped before its validation ended).
    dropped_columns: tuple[str, ...] | None = None
    # The data folder the run wrote its flags file from (None for runs older than the record of it).
    data_folder: str | None = None

    def flags_file(self, home: Path) -> Path | None:
        """Where the run's flags file is for the data folder `home` (a restored copy has its own);
        None when it is another data folder's file."""
        if self.flags_path is None:
            return None
        return own_file(self.flags_path, self.data_folder, home)

    @property
    def left_out_texts(self) -> list[str]:
        """One French sentence per rule that did not flag part of the territory."""
        return [item.text() for item in self.left_out]

    @property
    def status_label(self) -> str:
        """The status in French."""
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def trigger_label(self) -> str:
        """How the run was started, in French."""
        return TRIGGER_LABELS.get(self.trigger, self.trigger)

    @property
    def error_headline(self) -> str | None:
        """The first sentence of `error_summary` (a rejection's report lists every problem after it)."""
        if not self.error_summary:
            return None
        first_line = self.error_summary.strip().splitlines()[0]
        sentence, dot, _ = first_line.partition(". ")
        return sentence + dot.strip()

    @property
    def seconds(self) -> float | None:
        """The run's duration; None while it runs."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @classmethod
    def of(cls, row: DetectionRun, dropped_columns: Sequence[str] | None = None) -> RunRecord:
        """Plain data from a row (and the columns its import ignored, when known)."""
        started = as_utc(row.started_at)
        assert started is not None
        return cls(
            id=row.id,
            status=row.status,
            trigger=row.trigger,
            extract_name=row.extract_name,
            extract_sha256=row.extract_sha256,
            mois_reference=row.mois_reference,
            rule_versions=dict(row.rule_versions or {}),
            parameters_fingerprint=row.parameters_fingerprint,
            forced=row.forced,
            households_total=row.households_total,
            households_in_territory=row.households_in_territory,
            households_out_of_territory=row.households_out_of_territory,
            flags_count=row.flags_count,
            counts_by_rule=dict(row.counts_by_rule or {}),
            counts_by_commune=dict(row.counts_by_commune or {}),
            timings=dict(row.timings or {}),
            flags_path=row.flags_path,
            data_folder=row.data_folder,
            error_summary=row.error_summary,
            started_at=started,
            finished_at=as_utc(row.finished_at),
            import_id=row.import_id,
            flags_purged_at=as_utc(row.flags_purged_at),
            rule_digests={
                rule: str(kept.get("empreinte", ""))
                for rule, kept in (row.rules_record or {}).get("regles", {}).items()
            },
            parameters_used=dict((row.rules_record or {}).get("parametres", {})),
            settings_used=dict((row.rules_record or {}).get("reglages", {})),
            left_out=tuple(
                LeftOut.of_record(rule, kept)
                for rule, kept in sorted((row.rules_record or {}).get("hors_champ", {}).items())
            ),
            dropped_columns=None if dropped_columns is None else tuple(dropped_columns),
        )


def run_report(session: Session, row: DetectionRun) -> RunRecord:
    """A run as its report shows it: its record with the columns its import ignored."""
    dropped = None
    if row.import_id is not None:
        dropped = session.scalar(select(ImportRecord.dropped_columns).where(ImportRecord.id == row.import_id))
    return RunRecord.of(row, dropped)


def get_run(session: Session, run_id: int) -> RunRecord | None:
    """One run by id with the columns its import ignored, or None."""
    row = session.get(DetectionRun, run_id)
    return None if row is None else run_report(session, row)


def latest_run(engine: Engine, *, status: str | None = SUCCEEDED) -> RunRecord | None:
    """The newest run (by default the newest succeeded one), or None."""
    query = select(DetectionRun).order_by(DetectionRun.id.desc()).limit(1)
    if status is not None:
        query = query.where(DetectionRun.status == status)
    with Session(engine) as session:
        row = session.scalars(query).first()
        return None if row is None else RunRecord.of(row)


def list_runs(engine: Engine, *, limit: int = 50, status: str | None = None) -> list[RunRecord]:
    """The newest runs first (of one `status` only, when given)."""
    query = select(DetectionRun).order_by(DetectionRun.id.desc()).limit(limit)
    if status is not None:
        query = query.where(DetectionRun.status == status)
    with Session(engine) as session:
        return [RunRecord.of(row) for row in session.scalars(query)]


def _same_rules_succeeded(
    session: Session, rule_versions: Mapping[str, str], **columns: object
) -> Iterator[DetectionRun]:
    """The succeeded runs whose flags are still kept, newest first, with these column values and
    exactly these rule versions."""
    rows = session.scalars(
        select(DetectionRun)
        .where(
            DetectionRun.status == SUCCEEDED,
            DetectionRun.flags_purged_at.is_(None),
            *(getattr(DetectionRun, k) == v for k, v in columns.items()),
        )
        .order_by(DetectionRun.id.desc())
    )
    return (row for row in rows if dict(row.rule_versions or {}) == dict(rule_versions))


def may_be_rerun(
    session: Session,
    *,
    mois_reference: dt.date,
    households_total: int,
    rule_versions: Mapping[str, str],
    parameters_fingerprint: str,
    territory_fingerprint: str,
) -> bool:
    """Whether a succeeded run could be of the same file with the same rules, parameters and
    territory: a byte-identical file has the same reference month and number of households, so
    when no run has them, the file's hash need not be awaited to know it is new."""
    candidates = _same_rules_succeeded(
        session,
        rule_versions,
        mois_reference=mois_reference,
        households_total=households_total,
        parameters_fingerprint=parameters_fingerprint,
        territory_fingerprint=territory_fingerprint,
    )
    return next(candidates, None) is not None


def publication_key(
    *,
    extract_sha256: str,
    rule_versions: Mapping[str, str],
    parameters_fingerprint: str,
    territory_fingerprint: str,
) -> str:
    """One value for what makes two runs equivalent (the extract's bytes, the rules and their
    versions, the parameters and the territory)."""
    canonical = json.dumps(
        [extract_sha256, sorted(rule_versions.items()), parameters_fingerprint, territory_fingerprint]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_published_as(session: Session, key: str) -> RunRecord | None:
    """The run that published its flags under `key`, if any."""
    row = session.scalar(select(DetectionRun).where(DetectionRun.publication_key == key))
    return None if row is None else RunRecord.of(row)


def _recorded_rules(session: Session) -> Iterator[tuple[int, dict[str, dict[str, Any]]]]:
    """Each succeeded run's id with the rules it recorded (version and content digest), newest first."""
    query = (
        select(DetectionRun.id, DetectionRun.rules_record)
        .where(DetectionRun.status == SUCCEEDED, DetectionRun.rules_record.is_not(None))
        .order_by(DetectionRun.id.desc())
    )
    for run_id, record in session.execute(query):
        yield run_id, (record or {}).get("regles", {})


def rules_changed_since(
    session: Session, versions: Mapping[str, str], digests: Mapping[str, str]
) -> list[tuple[str, str, int]]:
    """The rules whose content differs from what an earlier succeeded run recorded under the same
    version: (rule, version, that run's id), the newest such run for each rule."""
    changed: list[tuple[str, str, int]] = []
    compared: set[str] = set()
    for run_id, rules in _recorded_rules(session):
        for rule, seen in rules.items():
            if rule in compared or rule not in digests or seen.get("version") != versions.get(rule):
                continue
            compared.add(rule)
            if seen.get("empreinte") != digests[rule]:
                changed.append((rule, versions[rule], run_id))
    return sorted(changed)


def rules_gone_back(
    session: Session, versions: Mapping[str, str], digests: Mapping[str, str]
) -> list[tuple[str, str, str, int]]:
    """The rules given a new content under a version below one an earlier succeeded run used:
    (rule, version, highest version used, that run's id). Going back to a content recorded under
    that same version (undoing a change) is not listed."""
    highest: dict[str, tuple[tuple[int, ...], str, int]] = {}
    known: set[tuple[str, str, str]] = set()
    for run_id, rules in _recorded_rules(session):
        for rule, seen in rules.items():
            version = str(seen.get("version", ""))
            known.add((rule, version, str(seen.get("empreinte"))))
            order = version_order(version)
            if rule in versions and order is not None and (rule not in highest or order > highest[rule][0]):
                highest[rule] = (order, version, run_id)
    gone_back: list[tuple[str, str, str, int]] = []
    for rule, (order, version, run_id) in highest.items():
        current = version_order(versions[rule])
        if current is not None and current < order and (rule, versions[rule], digests[rule]) not in known:
            gone_back.append((rule, versions[rule], version, run_id))
    return sorted(gone_back)


def version_order(version: str) -> tuple[int, ...] | None:
    """`1.10.0` after `1.9.2`, as numbers (`1.2` is `1.2.0`); None for a version not so written."""
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    numbers = [int(part) for part in parts]
    return tuple(numbers + [0] * (3 - len(numbers)))


def find_equivalent_run(
    session: Session,
    *,
    extract_sha256: str,
    rule_versions: Mapping[str, str],
    parameters_fingerprint: str,
    territory_fingerprint: str,
) -> RunRecord | None:
    """The newest succeeded run of the same extract with the same rules, parameters and territory."""
    same = _same_rules_succeeded(
        session,
        rule_versions,
        extract_sha256=extract_sha256,
        parameters_fingerprint=parameters_fingerprint,
        territory_fingerprint=territory_fingerprint,
    )
    row = next(same, None)
    return None if row is None else RunRecord.of(row)


def load_flags(engine: Engine, run_id: int, *, rules: Sequence[str] | None = None) -> pl.DataFrame:
    """The flags of one run (optionally of some rules only), typed like `flags.parquet`."""
    query = select(*(getattr(DetectionFlag, name) for name in FLAG_COLUMNS)).where(
        DetectionFlag.run_id == run_id
    )
    if rules is not None:
        query = query.where(DetectionFlag.regle.in_(list(rules)))
    query = query.order_by(DetectionFlag.regle, DetectionFlag.id_foyer)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=FLAG_COLUMNS, orient="row")


def _rows(flags: pl.DataFrame, run_id: int) -> Iterator[tuple[Any, ...]]:
    # The run's id as a column: each row comes out of polars as the tuple to store, not rebuilt.
    return flags.select(pl.lit(run_id).alias("run_id"), *FLAG_COLUMNS).iter_rows()


# The page cache of a connection that stores flags in SQLite (it grows only as pages are used).
SQLITE_INSERT_CACHE_KIB = 256 * 1024


def insert_flags(session: Session, run_id: int, flags: pl.DataFrame) -> None:
    """Bulk-insert flags in the session's transaction: COPY on PostgreSQL, executemany elsewhere."""
    if flags.is_empty():
        return
    names = ["run_id", *FLAG_COLUMNS]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            statement = f"COPY detection_flags ({', '.join(names)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in _rows(flags, run_id):
                    copy.write_row(row)
        return
    # SQLite: the driver's own executemany on plain tuples as polars yields them, several times
    # faster than ORM dictionaries. Through SQLAlchemy they were listed first: a batch's rows held
    # at once, and 0 to 12 % slower (300,000 flags, five alternated rounds).
    # The key index takes the flags in random order: with SQLite's default 2 MB page cache, a
    # national run's index pages are read again and again (measured: 20 to 45 % slower).
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_INSERT_CACHE_KIB}")
    placeholders = ", ".join("?" for _ in names)
    statement = f"INSERT INTO detection_flags ({', '.join(names)}) VALUES ({placeholders})"  # noqa: S608 (constant names)
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.executemany(statement, _rows(flags, run_id))


def count_flags(engine: Engine, run_id: int) -> int:
    """How many flags one run stored (0 for a run that did not succeed)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(DetectionFlag).where(DetectionFlag.run_id == run_id)
            ).scalar_one()
        )
