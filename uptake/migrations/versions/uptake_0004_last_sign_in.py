"""uptake: when each account last signed in, for the review of access rights.

Revision ID: uptake_0004
Revises: uptake_0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0004"
down_revision: str | Sequence[str] | None = "uptake_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Unknown for the sign-ins made before this revision.
    op.add_column("uptake_users", sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uptake_users") as batch:
        batch.drop_column("last_sign_in_at")
