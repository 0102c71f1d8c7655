"""Storing a run's flags in the database: in the order the flags file gives them, or sorted by key.

    .venv/bin/python benchmarks/flags_storage.py [--flags 400000] [--repetitions 2]

`uptake run` publishes its flags in one transaction, in batches of `INSERT_BATCH` rows: COPY on
PostgreSQL, executemany on SQLite. The primary key is (run, household, rule); the flags file comes
in no particular order, so each row lands at a random place of the key index. This script stores
the same synthetic flags, in a fresh database each time, on SQLite
and (if a server answers on 127.0.0.1:5432) PostgreSQL, in file order, each batch sorted, and
the whole sorted, and prints the times and the ratios to file order (below 1: sorting helps).
Best of the repetitions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

# This folder holds `detection.py` and `rules.py`: it must not shadow the packages of those names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from detection.records import FLAG_COLUMNS, SUCCEEDED, DetectionRun, insert_flags  # noqa: E402
from detection.runs import INSERT_BATCH  # noqa: E402
from uptake.db import make_engine, upgrade  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
RULES = (
    "ppa_non_recours",
    "rsa_non_recours",
    "al_non_recours",
    "impaye_locatif",
    "logement_non_decent",
    "evenement_vie",
    "rdv_droits_eloignes",
)


def synthetic_flags(n: int) -> pl.DataFrame:
    """`n` flags shaped like a run's: 64-hex pseudonyms in random order, French explanation texts."""
    index = pl.int_range(n, eager=True).shuffle(seed=7)
    ids = index.cast(pl.String).map_elements(
        lambda s: hashlib.sha256(s.encode()).hexdigest(), return_dtype=pl.String
    )
    frame = pl.DataFrame({"id_foyer": ids, "k": index})
    return frame.select(
        "id_foyer",
        pl.lit(RULES).list.get(pl.col("k") % len(RULES)).alias("regle"),
        pl.lit("1.1.0").alias("version_regle"),
        (pl.col("k") % 400 + 20).cast(pl.Float64).alias("montant_estime"),
        (pl.col("k") % 3 + 1).cast(pl.Int32).alias("priorite"),
        pl.format("04{}", (pl.col("k") % 200 + 100).cast(pl.String)).alias("code_commune"),
        (pl.col("k") % 30).cast(pl.Float64).alias("distance_services_km"),
        (pl.col("k") % 5 == 0).alias("commune_eloignee"),
        pl.format(
            "Revenus d'activité {} €/mois, ne perçoit pas la prime d'activité, montant estimé {} €/mois.",
            pl.col("k") % 2000,
            pl.col("k") % 400,
        ).alias("explication"),
        pl.lit("ne perçoit pas la prime d'activité ; revenus d'activité dans le foyer").alias(
            "conditions_remplies"
        ),
        pl.lit("a" * 64).alias("empreinte_parametres"),
        pl.lit(None, dtype=pl.String).alias("evenement_vie"),
        *(pl.lit(True).alias(c) for c in ("canal_sms", "canal_email", "canal_telephone", "canal_courrier")),
        pl.lit(False).alias("opposition_contact"),
        pl.lit(False).alias("accompagnement_social"),
    ).select(list(FLAG_COLUMNS))


def store(url: str, flags: pl.DataFrame, *, sort_batches: bool = False) -> float:
    """Seconds to store `flags` as `uptake run` does: one transaction, batches, then commit."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        with Session(engine) as session, session.begin():
            run = DetectionRun(
                status=SUCCEEDED,
                trigger="mesure",
                extract_name="mesure.parquet",
                mois_reference=dt.date(2026, 11, 1),
                started_at=dt.datetime.now(dt.UTC),
            )
            session.add(run)
            session.flush()
            start = time.perf_counter()
            for offset in range(0, flags.height, INSERT_BATCH):
                batch = flags.slice(offset, INSERT_BATCH)
                insert_flags(session, run.id, batch.sort("id_foyer", "regle") if sort_batches else batch)
        return time.perf_counter() - start
    finally:
        engine.dispose()


def _sqlite(folder: Path, flags: pl.DataFrame, sort_batches: bool) -> float:
    path = folder / f"{uuid.uuid4().hex}.sqlite3"
    try:
        return store(f"sqlite:///{path}", flags, sort_batches=sort_batches)
    finally:
        for leftover in folder.glob(f"{path.name}*"):
            leftover.unlink()


def _postgres(flags: pl.DataFrame, sort_batches: bool) -> float:
    name = f"uptake_mesure_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        return store(url, flags, sort_batches=sort_batches)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _postgres_reachable() -> bool:
    try:
        with create_engine(PG_ADMIN).connect():
            return True
    except Exception:
        return False


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flags", type=int, default=400_000)
    parser.add_argument("--repetitions", type=int, default=2)
    args = parser.parse_args()
    flags = synthetic_flags(args.flags)
    orders = {
        "ordre du fichier": (flags, False),
        "trié par lot": (flags, True),
        "trié en entier": (flags.sort("id_foyer", "regle"), False),
    }
    backends = {"SQLite": None}
    if _postgres_reachable():
        backends["PostgreSQL"] = "pg"
    else:
        print("PostgreSQL ne répond pas sur 127.0.0.1:5432 : seul SQLite est mesuré.")
    print(f"{args.flags:,} drapeaux, lots de {INSERT_BATCH:,}, meilleure de {args.repetitions} manche(s)")
    results: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repetitions):
            for backend in backends:
                for order, (frame, by_batch) in orders.items():  # alternated: drift hits each
                    if backend == "PostgreSQL":
                        took = _postgres(frame, by_batch)
                    else:
                        took = _sqlite(Path(tmp), frame, by_batch)
                    key = (backend, order)
                    results[key] = min(results.get(key, took), took)
                    print(f"  {backend:<11} {order:<17} {took:7.2f} s", flush=True)
    for backend in backends:
        base = results[(backend, "ordre du fichier")]
        batch, whole = results[(backend, "trié par lot")], results[(backend, "trié en entier")]
        print(
            f"{backend} : trié par lot / ordre du fichier = {batch / base:.2f} ; "
            f"trié en entier = {whole / base:.2f}"
        )


if __name__ == "__main__":
    main()
