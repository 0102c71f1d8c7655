"""detection: the flags of a run are kept for a limited time; the run's record says when they went.

Revision ID: detection_0004
Revises: detection_0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0004"
down_revision: str | Sequence[str] | None = "detection_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.add_column(sa.Column("flags_purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.drop_column("flags_purged_at")
