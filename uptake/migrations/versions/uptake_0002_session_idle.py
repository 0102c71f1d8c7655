"""uptake: the last request of each web session, for the inactivity timeout.

Revision ID: uptake_0002
Revises: uptake_0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0002"
down_revision: str | Sequence[str] | None = "uptake_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("uptake_web_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    # Sessions opened before this revision count from their creation.
    op.execute("UPDATE uptake_web_sessions SET last_seen_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("uptake_web_sessions") as batch:
        batch.drop_column("last_seen_at")
