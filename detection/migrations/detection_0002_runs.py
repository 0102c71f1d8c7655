"""detection: detection runs (their record, pid and heartbeat) and the flags they produced.

Revision ID: detection_0002
Revises: detection_0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "detection_0002"
down_revision: str | Sequence[str] | None = "detection_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "detection_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=200), nullable=False),
        sa.Column("extract_name", sa.String(length=255), nullable=False),
        sa.Column("extract_sha256", sa.String(length=64), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("mois_reference", sa.Date(), nullable=True),
        sa.Column("rule_versions", sa.JSON(), nullable=False),
        sa.Column("parameters_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("territory_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("households_total", sa.BigInteger(), nullable=True),
        sa.Column("households_in_territory", sa.BigInteger(), nullable=True),
        sa.Column("households_out_of_territory", sa.BigInteger(), nullable=True),
        sa.Column("flags_count", sa.BigInteger(), nullable=True),
        sa.Column("counts_by_rule", sa.JSON(), nullable=False),
        sa.Column("counts_by_commune", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("flags_path", sa.String(length=4096), nullable=True),
        sa.Column("error_summary", sa.Text(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("process_started_at", sa.Float(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'rejected', 'failed')", name="ck_detection_runs_status"
        ),
    )
    op.create_index("ix_detection_runs_status", "detection_runs", ["status"])
    op.create_index("ix_detection_runs_extract_sha256", "detection_runs", ["extract_sha256"])
    op.create_table(
        "detection_flags",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("detection_runs.id"), primary_key=True),
        sa.Column("id_foyer", sa.String(length=128), primary_key=True),
        sa.Column("regle", sa.String(length=100), primary_key=True),
        sa.Column("version_regle", sa.String(length=32), nullable=False),
        sa.Column("montant_estime", sa.Float(), nullable=True),
        sa.Column("priorite", sa.Integer(), nullable=True),
        sa.Column("code_commune", sa.String(length=5), nullable=False),
        sa.Column("distance_services_km", sa.Float(), nullable=True),
        sa.Column("commune_eloignee", sa.Boolean(), nullable=False),
        sa.Column("explication", sa.Text(), nullable=False),
        sa.Column("conditions_remplies", sa.Text(), nullable=False),
        sa.Column("empreinte_parametres", sa.String(length=128), nullable=True),
        sa.Column("evenement_vie", sa.String(length=32), nullable=True),
        sa.Column("canal_sms", sa.Boolean(), nullable=False),
        sa.Column("canal_email", sa.Boolean(), nullable=False),
        sa.Column("canal_telephone", sa.Boolean(), nullable=False),
        sa.Column("canal_courrier", sa.Boolean(), nullable=False),
        sa.Column("opposition_contact", sa.Boolean(), nullable=False),
        sa.Column("accompagnement_social", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_detection_flags_regle", "detection_flags", ["run_id", "regle"])


def downgrade() -> None:
    op.drop_index("ix_detection_flags_regle", table_name="detection_flags")
    op.drop_table("detection_flags")
    op.drop_index("ix_detection_runs_extract_sha256", table_name="detection_runs")
    op.drop_index("ix_detection_runs_status", table_name="detection_runs")
    op.drop_table("detection_runs")
