"""privacy: the audit log and its checkpoints refuse UPDATE and DELETE (database triggers)

Revision ID: privacy_0002
Revises: privacy_0001
Create Date: 2026-11-28 19:35:00

Defence in depth: the code only ever inserts into the audit tables; the triggers make an accidental
or casual change fail loudly. Someone with the rights to drop a trigger can still tamper with the
rows: that is what the hash chain and the signed checkpoints detect.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "privacy_0002"
down_revision: str | Sequence[str] | None = "privacy_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("privacy_audit", "privacy_audit_checkpoint")
MESSAGE = "journal d''audit en ajout seul : modification et suppression interdites"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION privacy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION privacy_audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION privacy_audit_append_only()"
            )
        return
    for table in TABLES:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION privacy_audit_append_only()")
        return
    for table in TABLES:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{operation}")
