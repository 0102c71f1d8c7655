"""outreach: what became of each e-mail (`envoi`), so that those the SMTP server did not take are
sent later, once

Revision ID: outreach_0004
Revises: outreach_0003
Create Date: 2026-11-29 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0004"
down_revision: str | Sequence[str] | None = "outreach_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_contact") as batch:
        batch.add_column(sa.Column("envoi", sa.String(length=10), nullable=True))
    # What became of e-mails produced before this column is unknown: never sent again.
    op.execute("UPDATE outreach_contact SET envoi = 'inconnu' WHERE canal = 'email'")


def downgrade() -> None:
    with op.batch_alter_table("outreach_contact") as batch:
        batch.drop_column("envoi")
