"""uptake: when an account was last enabled again, so that its review of inactivity starts afresh.

Revision ID: uptake_0005
Revises: uptake_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0005"
down_revision: str | Sequence[str] | None = "uptake_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("uptake_users", sa.Column("reactivated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uptake_users") as batch:
        batch.drop_column("reactivated_at")
