"""privacy: which households each personal output held (for access reports and exchange traces)

Revision ID: privacy_0003
Revises: privacy_0002
Create Date: 2026-11-28 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0003"
down_revision: str | Sequence[str] | None = "privacy_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_output_household",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("output_id", sa.String(32), nullable=False),
        sa.Column("pseudonym", sa.String(128), nullable=False),
    )
    op.create_index("ix_privacy_output_household_output_id", "privacy_output_household", ["output_id"])
    op.create_index("ix_privacy_output_household_pseudonym", "privacy_output_household", ["pseudonym"])


def downgrade() -> None:
    op.drop_table("privacy_output_household")
