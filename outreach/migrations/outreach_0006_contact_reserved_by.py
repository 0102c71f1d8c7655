"""outreach: which sending reserved an e-mail it has not handed to the server yet (`reserve_par`), so
that a sending killed leaves its reserved e-mails to the next one, and only those it was handing
uncertain

Revision ID: outreach_0006
Revises: outreach_0005
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0006"
down_revision: str | Sequence[str] | None = "outreach_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_contact") as batch:
        batch.add_column(sa.Column("reserve_par", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_contact") as batch:
        batch.drop_column("reserve_par")
