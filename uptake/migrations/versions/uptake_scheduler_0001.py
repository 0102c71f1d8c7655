"""uptake: the scheduler's job store (APScheduler's table) and the claims of job executions.

A branch of its own (label `uptake_scheduler`) so that it does not depend on the web tables.
`uptake_scheduler_jobs` has exactly the columns APScheduler's `SQLAlchemyJobStore` expects.

Revision ID: uptake_scheduler_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_scheduler_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("uptake_scheduler",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uptake_scheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), primary_key=True),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_uptake_scheduler_jobs_next_run_time", "uptake_scheduler_jobs", ["next_run_time"])
    op.create_table(
        "uptake_job_claims",
        sa.Column("job_id", sa.String(length=191), primary_key=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("uptake_job_claims")
    op.drop_index("ix_uptake_scheduler_jobs_next_run_time", table_name="uptake_scheduler_jobs")
    op.drop_table("uptake_scheduler_jobs")
