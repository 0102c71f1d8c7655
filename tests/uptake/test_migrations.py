"""The migrations build exactly the schema the code's table definitions describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from detection.imports import ImportRecord
from detection.models import Base as DetectionBase
from detection.records import DetectionFlag
from detection.verification import CaseVerification
from outreach.models import Base as OutreachBase
from privacy.models import Base as PrivacyBase
from uptake.db import (
    DOMAIN_PACKAGES,
    alembic_config,
    applied_revisions,
    make_engine,
    newest_revisions,
    upgrade,
)
from uptake.models import Base as UptakeBase
from uptake.scheduler import JOBSTORE_TABLE, SCHEDULER_TABLES


def _every_table() -> MetaData:
    merged = MetaData()
    for metadata in (
        DetectionBase.metadata,
        PrivacyBase.metadata,
        OutreachBase.metadata,
        UptakeBase.metadata,
        SCHEDULER_TABLES,
    ):
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


def _not_apschedulers(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
    # APScheduler defines its job store table itself; the migration only creates it in advance.
    table = getattr(obj, "table", obj) if kind in ("index", "column") else obj
    return getattr(table, "name", name) != JOBSTORE_TABLE


def test_the_migrated_database_has_exactly_the_tables_columns_and_indexes_of_the_code(engine: Engine) -> None:
    expected = _every_table()
    # The detection tables are declared by the modules imported above.
    assert {
        DetectionFlag.__tablename__,
        ImportRecord.__tablename__,
        CaseVerification.__tablename__,
        "privacy_exchange",
        "uptake_job_claims",
    } <= set(expected.tables)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _not_apschedulers}
        )
        differences = compare_metadata(context, expected)
    assert differences == []


def test_a_new_sqlite_database_is_readable_by_its_owner_only_in_a_private_folder(tmp_path) -> None:
    path = tmp_path / "maison" / "uptake.sqlite3"

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()

    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_the_newest_revisions_read_from_the_files_are_alembics_heads(engine: Engine) -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert newest_revisions() == frozenset(heads)
    assert len(heads) == len(DOMAIN_PACKAGES) + 1  # one branch per domain, and the scheduler's


def test_a_database_one_migration_behind_is_brought_to_the_newest_schema(engine: Engine) -> None:
    from alembic import command

    assert applied_revisions(engine) == newest_revisions()
    command.downgrade(alembic_config(engine), "detection@-1")
    behind = applied_revisions(engine)
    assert behind is not None and behind != newest_revisions()

    upgrade(engine)

    assert applied_revisions(engine) == newest_revisions()
    test_the_migrated_database_has_exactly_the_tables_columns_and_indexes_of_the_code(engine)


def test_a_new_database_has_no_applied_revision_until_upgraded(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'neuve.sqlite3'}")
    assert applied_revisions(engine) is None
    upgrade(engine)
    assert applied_revisions(engine) == newest_revisions()


def test_a_migration_file_with_a_computed_revision_leaves_the_decision_to_alembic(
    tmp_path, monkeypatch
) -> None:
    import uptake.db

    folder = tmp_path / "versions"
    folder.mkdir()
    (folder / "x_0001.py").write_text(
        'revision: str = "x_" + "0001"\ndown_revision = None\n', encoding="utf-8"
    )
    monkeypatch.setattr(uptake.db, "_migration_dirs", lambda: [str(folder)])

    assert newest_revisions() is None


def test_files_recorded_before_their_data_folder_was_noted_get_it_from_their_paths(engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import text

    config = alembic_config(engine)
    command.downgrade(config, "detection_0005")  # before the data folder was recorded
    command.downgrade(config, "privacy_0005")
    home = "/srv/uptake"
    run = (
        "INSERT INTO detection_runs (id, status, trigger, extract_name, rule_versions, forced,"
        " counts_by_rule, counts_by_commune, timings, started_at, flags_path)"
        " VALUES (:id, 'succeeded', 'cli', 'x.parquet', '{}', false, '{}', '{}', '{}',"
        " '2026-11-01 06:00:00+00', :path)"
    )
    output = (
        "INSERT INTO privacy_output (id, exchange_id, label, path, encrypted_path, key_name, sha256, fields,"
        " created_at, retention_until) VALUES ('a1', 1, 'sms', '/ailleurs/sms.csv', :copy, 'sortie-a1',"
        " :sha, '[]', '2026-11-01T06:00:00Z', '2027-01-01')"
    )
    with engine.begin() as connection:
        connection.execute(text(run), {"id": 7, "path": f"{home}/runs/7/flags.parquet"})
        connection.execute(text(run), {"id": 8, "path": "/exports/flags.parquet"})  # given with --out
        connection.execute(text(output), {"copy": f"{home}/sorties-chiffrees/a1.bin", "sha": "0" * 64})

    upgrade(engine)

    with engine.connect() as connection:
        runs = dict(connection.execute(text("SELECT id, data_folder FROM detection_runs ORDER BY id")).all())
        outputs = connection.execute(text("SELECT data_folder FROM privacy_output")).scalars().all()
    assert runs == {7: home, 8: home} and outputs == [home]
