"""privacy: checkpoints get a kind: a periodic `point`, or the signed `ancre` left by pruning old entries

Revision ID: privacy_0004
Revises: privacy_0003
Create Date: 2026-11-28 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0004"
down_revision: str | Sequence[str] | None = "privacy_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "privacy_audit_checkpoint",
        sa.Column("kind", sa.String(16), nullable=False, server_default="point"),
    )


def downgrade() -> None:
    with op.batch_alter_table("privacy_audit_checkpoint") as batch:
        batch.drop_column("kind")
