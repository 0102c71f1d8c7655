"""outreach: when the SMTP server took each e-mail (`envoye_le`), so that a follow-up's delay counts
from when the e-mail left

Revision ID: outreach_0005
Revises: outreach_0004
Create Date: 2026-11-30 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0005"
down_revision: str | Sequence[str] | None = "outreach_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty for the e-mails sent before: their planned time stands for it.
    with op.batch_alter_table("outreach_contact") as batch:
        batch.add_column(sa.Column("envoye_le", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_contact") as batch:
        batch.drop_column("envoye_le")
