"""outreach: a call line given back to the list remembers who gave it back (`remis_par`), so that it
goes to a colleague

Revision ID: outreach_0003
Revises: outreach_0002
Create Date: 2026-11-29 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0003"
down_revision: str | Sequence[str] | None = "outreach_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_worklist") as batch:
        batch.add_column(sa.Column("remis_par", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_worklist") as batch:
        batch.drop_column("remis_par")
