"""uptake: web accounts, web sessions and failed sign-in attempts.

Revision ID: uptake_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "uptake_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("uptake",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "uptake_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(length=64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("secteurs", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('travailleur_social', 'equipe_donnees', 'dpo', 'admin')", name="ck_uptake_users_role"
        ),
    )
    op.create_table(
        "uptake_web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_uptake_web_sessions_user_id", "uptake_web_sessions", ["user_id"])
    op.create_table(
        "uptake_login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_uptake_login_attempts_login", "uptake_login_attempts", ["login"])
    op.create_index("ix_uptake_login_attempts_client_ip", "uptake_login_attempts", ["client_ip"])
    op.create_index("ix_uptake_login_attempts_attempted_at", "uptake_login_attempts", ["attempted_at"])


def downgrade() -> None:
    op.drop_table("uptake_login_attempts")
    op.drop_table("uptake_web_sessions")
    op.drop_table("uptake_users")
