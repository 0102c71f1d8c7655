"""outreach: the exchange a launch was made under (`echange_id`), so that its follow-ups and call cards
use that approval, not whichever approval is newest

Revision ID: outreach_0007
Revises: outreach_0006
Create Date: 2026-12-01 07:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0007"
down_revision: str | Sequence[str] | None = "outreach_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_launch") as batch:
        batch.add_column(sa.Column("echange_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_launch") as batch:
        batch.drop_column("echange_id")
