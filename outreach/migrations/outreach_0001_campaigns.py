"""outreach: launches, arms and exclusions, contact history, outcomes (append-only), call worklists.

Revision ID: outreach_0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "outreach_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("outreach",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_assignment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("id_foyer", sa.String(length=128), nullable=False),
        sa.Column("regle", sa.String(length=64), nullable=False),
        sa.Column("regles", sa.String(length=400), nullable=False),
        sa.Column("code_commune", sa.String(length=5), nullable=False),
        sa.Column("priorite", sa.Integer(), nullable=True),
        sa.Column("montant_estime", sa.Float(), nullable=True),
        sa.Column("distance_services_km", sa.Float(), nullable=True),
        sa.Column("explication", sa.Text(), nullable=True),
        sa.Column("canaux", sa.String(length=60), nullable=False),
        sa.Column("bras", sa.String(length=10), nullable=True),
        sa.Column("motif_exclusion", sa.String(length=40), nullable=True),
        sa.Column("rang", sa.Integer(), nullable=True),
        sa.UniqueConstraint("launch_id", "id_foyer", name="uq_outreach_assignment_foyer"),
    )
    op.create_table(
        "outreach_contact",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("campagne", sa.String(length=100), nullable=False),
        sa.Column("id_foyer", sa.String(length=128), nullable=False),
        sa.Column("regle", sa.String(length=64), nullable=False),
        sa.Column("canal", sa.String(length=10), nullable=False),
        sa.Column("tentative", sa.Integer(), nullable=False),
        sa.Column("prevu_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("produit_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fichier", sa.Text(), nullable=True),
        sa.Column("fichier_sha256", sa.String(length=64), nullable=True),
    )
    op.create_table(
        "outreach_launch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campagne", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("graine", sa.Integer(), nullable=False),
        sa.Column("part_temoin", sa.Float(), nullable=False),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("acteur", sa.String(length=100), nullable=False),
        sa.Column("lance_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nb_signales", sa.Integer(), nullable=False),
        sa.Column("nb_contactes", sa.Integer(), nullable=False),
        sa.Column("nb_temoins", sa.Integer(), nullable=False),
        sa.Column("nb_exclus", sa.Integer(), nullable=False),
        sa.Column("dossier_sorties", sa.Text(), nullable=True),
    )
    op.create_table(
        "outreach_outcome",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("id_foyer", sa.String(length=128), nullable=False),
        sa.Column("launch_id", sa.Integer(), nullable=True),
        sa.Column("regle", sa.String(length=64), nullable=True),
        sa.Column("resultat", sa.String(length=30), nullable=False),
        sa.Column("montant", sa.Float(), nullable=True),
        sa.Column("canal", sa.String(length=10), nullable=True),
        sa.Column("tentative", sa.Integer(), nullable=True),
        sa.Column("acteur", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("survenu_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enregistre_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("commentaire", sa.Text(), nullable=True),
    )
    op.create_table(
        "outreach_worklist",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("launch_id", sa.Integer(), nullable=False),
        sa.Column("campagne", sa.String(length=100), nullable=False),
        sa.Column("id_foyer", sa.String(length=128), nullable=False),
        sa.Column("regle", sa.String(length=64), nullable=False),
        sa.Column("tentative", sa.Integer(), nullable=False),
        sa.Column("rang", sa.Integer(), nullable=False),
        sa.Column("priorite", sa.Integer(), nullable=True),
        sa.Column("montant_estime", sa.Float(), nullable=True),
        sa.Column("code_commune", sa.String(length=5), nullable=False),
        sa.Column("distance_services_km", sa.Float(), nullable=True),
        sa.Column("motifs", sa.Text(), nullable=False),
        sa.Column("statut", sa.String(length=20), nullable=False),
        sa.Column("attribue_a", sa.String(length=100), nullable=True),
        sa.Column("attribue_le", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appel_a_partir_de", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("launch_id", "id_foyer", "tentative", name="uq_outreach_worklist"),
    )
    op.create_index("ix_outreach_assignment_launch_id", "outreach_assignment", ["launch_id"])
    op.create_index("ix_outreach_assignment_id_foyer", "outreach_assignment", ["id_foyer"])
    op.create_index("ix_outreach_contact_launch_id", "outreach_contact", ["launch_id"])
    op.create_index("ix_outreach_contact_id_foyer", "outreach_contact", ["id_foyer"])
    op.create_index("ix_outreach_contact_prevu_le", "outreach_contact", ["prevu_le"])
    op.create_index("ix_outreach_launch_campagne", "outreach_launch", ["campagne"])
    op.create_index("ix_outreach_launch_run_id", "outreach_launch", ["run_id"])
    op.create_index("ix_outreach_outcome_id_foyer", "outreach_outcome", ["id_foyer"])
    op.create_index("ix_outreach_outcome_launch_id", "outreach_outcome", ["launch_id"])
    op.create_index("ix_outreach_outcome_resultat", "outreach_outcome", ["resultat"])
    op.create_index("ix_outreach_worklist_launch_id", "outreach_worklist", ["launch_id"])
    op.create_index("ix_outreach_worklist_id_foyer", "outreach_worklist", ["id_foyer"])
    op.create_index("ix_outreach_worklist_statut", "outreach_worklist", ["statut"])


def downgrade() -> None:
    op.drop_table("outreach_worklist")
    op.drop_table("outreach_outcome")
    op.drop_table("outreach_launch")
    op.drop_table("outreach_contact")
    op.drop_table("outreach_assignment")
