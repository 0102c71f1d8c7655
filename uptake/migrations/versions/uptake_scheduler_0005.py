"""uptake: whether the alert of a failed execution reached the relay, so that a lost alert is seen.

Revision ID: uptake_scheduler_0005
Revises: uptake_scheduler_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_scheduler_0005"
down_revision: str | Sequence[str] | None = "uptake_scheduler_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uptake_job_claims") as table:
        table.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("alert_problem", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uptake_job_claims") as table:
        table.drop_column("alert_problem")
        table.drop_column("alerted_at")
