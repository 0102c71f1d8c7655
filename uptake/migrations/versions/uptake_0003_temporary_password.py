"""uptake: a password set by an administrator is temporary until its owner replaces it.

Revision ID: uptake_0003
Revises: uptake_0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0003"
down_revision: str | Sequence[str] | None = "uptake_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Accounts created before this revision keep signing in as they did.
    op.add_column(
        "uptake_users",
        sa.Column("password_temporary", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("uptake_users") as batch:
        batch.drop_column("password_temporary")
