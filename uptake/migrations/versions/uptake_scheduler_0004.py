"""uptake: how each scheduled execution ended, so that a failed one is seen without reading the logs.

Revision ID: uptake_scheduler_0004
Revises: uptake_scheduler_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_scheduler_0004"
down_revision: str | Sequence[str] | None = "uptake_scheduler_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uptake_job_claims") as table:
        table.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        table.add_column(sa.Column("message", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uptake_job_claims") as table:
        table.drop_column("message")
        table.drop_column("outcome")
        table.drop_column("finished_at")
