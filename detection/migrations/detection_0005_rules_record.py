"""detection: a run keeps the rules and parameter values it used (versions, content digests, dated
values with their sources), so that any of its flags can be explained and replayed later.

Revision ID: detection_0005
Revises: detection_0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0005"
down_revision: str | Sequence[str] | None = "detection_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.add_column(sa.Column("rules_record", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.drop_column("rules_record")
