"""privacy: each personal output records the data folder that wrote it (a copy of the folder must not
delete the original's files)

Revision ID: privacy_0006
Revises: privacy_0005
Create Date: 2026-12-01 01:15:00
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0006"
down_revision: str | Sequence[str] | None = "privacy_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_output") as batch:
        batch.add_column(sa.Column("data_folder", sa.Text(), nullable=True))
    # The encrypted copy has always been written at <data folder>/sorties-chiffrees/<id>.bin.
    outputs = sa.table(
        "privacy_output", sa.column("id", sa.String), sa.column("encrypted_path"), sa.column("data_folder")
    )
    connection = op.get_bind()
    for output_id, encrypted in connection.execute(sa.select(outputs.c.id, outputs.c.encrypted_path)).all():
        copy = PurePath(encrypted)
        if copy.is_absolute() and copy.parent.name == "sorties-chiffrees":
            connection.execute(
                outputs.update().where(outputs.c.id == output_id).values(data_folder=str(copy.parent.parent))
            )


def downgrade() -> None:
    with op.batch_alter_table("privacy_output") as batch:
        batch.drop_column("data_folder")
