"""privacy: the DPO may revoke an approved exchange before its expiry (when, by whom, why)

Revision ID: privacy_0005
Revises: privacy_0004
Create Date: 2026-11-29 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0005"
down_revision: str | Sequence[str] | None = "privacy_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_exchange") as batch:
        batch.add_column(sa.Column("revoked_at", sa.String(32), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("revocation_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_exchange") as batch:
        batch.drop_column("revocation_reason")
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
