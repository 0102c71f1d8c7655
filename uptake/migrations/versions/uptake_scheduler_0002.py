"""uptake: the scheduler daemons' signs of life, so that anyone can see whether one is running.

Revision ID: uptake_scheduler_0002
Revises: uptake_scheduler_0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_scheduler_0002"
down_revision: str | Sequence[str] | None = "uptake_scheduler_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uptake_scheduler_daemons",
        sa.Column("owner", sa.String(length=255), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("poll_s", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("uptake_scheduler_daemons")
