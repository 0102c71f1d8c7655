"""uptake: from when an account's inactivity is counted, when an administrator restarted the count.

An account enabled again is counted from then, not from its last sign-in before it was disabled.
Sign-ins made before revision uptake_0004 were never recorded: the accounts that have none yet are
counted from this upgrade, so that the first sweep of unused accounts (job `comptes_inactifs`) does
not disable, for want of a date, accounts that are in use.

Revision ID: uptake_0005
Revises: uptake_0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0005"
down_revision: str | Sequence[str] | None = "uptake_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("uptake_users", sa.Column("dormancy_reset_at", sa.DateTime(timezone=True), nullable=True))
    users = sa.table(
        "uptake_users",
        sa.column("last_sign_in_at", sa.DateTime(timezone=True)),
        sa.column("dormancy_reset_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        users.update().where(users.c.last_sign_in_at.is_(None)).values(dormancy_reset_at=datetime.now(UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("uptake_users") as batch:
        batch.drop_column("dormancy_reset_at")
