"""outreach: the answers of returned pre-diagnostic questionnaires (action 7.1)

Revision ID: outreach_0002
Revises: outreach_0001
Create Date: 2026-11-29 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0002"
down_revision: str | Sequence[str] | None = "outreach_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_questionnaire_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("id_foyer", sa.String(length=128), nullable=False),
        sa.Column("questionnaire", sa.String(length=100), nullable=False),
        sa.Column("question", sa.String(length=40), nullable=False),
        sa.Column("libelle", sa.String(length=200), nullable=False),
        sa.Column("ordre", sa.Integer(), nullable=False),
        sa.Column("reponse", sa.String(length=20), nullable=False),
        sa.Column("recu_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acteur", sa.String(length=100), nullable=False),
        sa.Column("enregistre_le", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("launch_id", "id_foyer", "question", name="uq_outreach_questionnaire_answer"),
    )
    op.create_index(
        "ix_outreach_questionnaire_answer_launch_id", "outreach_questionnaire_answer", ["launch_id"]
    )
    op.create_index(
        "ix_outreach_questionnaire_answer_id_foyer", "outreach_questionnaire_answer", ["id_foyer"]
    )


def downgrade() -> None:
    op.drop_table("outreach_questionnaire_answer")
