"""detection: each run records the data folder that wrote its flags file (a copy of the folder must not
delete or rewrite the original's files)

Revision ID: detection_0006
Revises: detection_0005
Create Date: 2026-12-01 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0006"
down_revision: str | Sequence[str] | None = "detection_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.add_column(sa.Column("data_folder", sa.String(4096), nullable=True))
    runs = sa.table("detection_runs", sa.column("id"), sa.column("flags_path"), sa.column("data_folder"))
    connection = op.get_bind()
    recorded = connection.execute(
        sa.select(runs.c.id, runs.c.flags_path).where(runs.c.flags_path.is_not(None))
    )
    # A run without --out wrote <data folder>/runs/<id>/flags.parquet: that names the folder. A run
    # given --out is the same folder's when every run that names it agrees (one database, one folder).
    folders: dict[int, str] = {}
    outside: list[int] = []
    for run_id, name in recorded.all():
        path = PurePath(name)
        if path.parent.name == str(run_id) and path.parent.parent.name == "runs":
            folders[run_id] = str(path.parent.parent.parent)
        else:
            outside.append(run_id)
    named = set(folders.values())
    if len(named) == 1:
        folders |= dict.fromkeys(outside, named.pop())
    for run_id, folder in folders.items():
        connection.execute(runs.update().where(runs.c.id == run_id).values(data_folder=folder))


def downgrade() -> None:
    with op.batch_alter_table("detection_runs") as batch:
        batch.drop_column("data_folder")
