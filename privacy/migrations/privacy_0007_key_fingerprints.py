"""privacy: the fingerprint of each data key at its first use, so that a key file replaced by another is
refused (keys created before are recorded at their next use)

Revision ID: privacy_0007
Revises: privacy_0006
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0007"
down_revision: str | Sequence[str] | None = "privacy_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_key_fingerprint",
        sa.Column("name", sa.String(130), primary_key=True),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("privacy_key_fingerprint")
