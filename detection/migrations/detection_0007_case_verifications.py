"""detection: each rule's test cases verified once per content (rule, cases, parameters, territory,
software), so that a run refuses a catalogue whose cases fail without running them at every start

Revision ID: detection_0007
Revises: detection_0006
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0007"
down_revision: str | Sequence[str] | None = "detection_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detection_case_verifications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("rule_version", sa.String(50), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("elsewhere", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("detection_case_verifications")
