"""detection: the record of every extract validation (import), accepted or rejected.

Revision ID: detection_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("detection",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detection_imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("file_path", sa.String(length=4096), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("file_format", sa.String(length=16), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("mois_reference", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("dropped_columns", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('accepte', 'rejete')", name="ck_detection_imports_outcome"),
    )
    op.create_index("ix_detection_imports_content_hash", "detection_imports", ["content_hash"])
    op.create_index("ix_detection_imports_outcome", "detection_imports", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_detection_imports_outcome", table_name="detection_imports")
    op.drop_index("ix_detection_imports_content_hash", table_name="detection_imports")
    op.drop_table("detection_imports")
