"""uptake: the executions no daemon ran in time, so that the data team can see and run them.

Revision ID: uptake_scheduler_0003
Revises: uptake_scheduler_0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_scheduler_0003"
down_revision: str | Sequence[str] | None = "uptake_scheduler_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uptake_job_misses",
        sa.Column("job_id", sa.String(length=191), primary_key=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("noticed_by", sa.String(length=255), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("uptake_job_misses")
