"""detection: one published run per extract, rules, parameters and territory (unless forced).

Two runs of the same extract started before either finished both passed the rerun check; the
database now lets only the first publish its flags.

Revision ID: detection_0003
Revises: detection_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0003"
down_revision: str | Sequence[str] | None = "detection_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.add_column(sa.Column("publication_key", sa.String(length=64), nullable=True))
    op.create_index("ix_detection_runs_publication_key", "detection_runs", ["publication_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_detection_runs_publication_key", table_name="detection_runs")
    with op.batch_alter_table("detection_runs") as batch:
        batch.drop_column("publication_key")
