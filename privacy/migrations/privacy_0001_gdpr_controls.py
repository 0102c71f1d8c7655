"""privacy: audit log, register, exchanges, contact vault, outputs, oppositions, pseudonym aliases

Revision ID: privacy_0001
Revises:
Create Date: 2026-11-28 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("privacy",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_audit",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_ref", sa.String(300), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("output_sha256", sa.String(64), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_privacy_audit_action", "privacy_audit", ["action"])
    op.create_index("ix_privacy_audit_object_ref", "privacy_audit", ["object_ref"])
    op.create_table(
        "privacy_audit_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.String(32), nullable=False),
        sa.Column("key_fingerprint", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
    )
    op.create_index("ix_privacy_audit_checkpoint_seq", "privacy_audit_checkpoint", ["seq"])
    lock = op.create_table(
        "privacy_audit_lock",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("appends", sa.Integer(), nullable=False),
    )
    op.bulk_insert(lock, [{"id": 1, "appends": 0}])
    op.create_table(
        "privacy_register_entry",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("nom", sa.String(300), nullable=False),
        sa.Column("responsable", sa.String(300), nullable=False),
        sa.Column("dpo", sa.String(300), nullable=False),
        sa.Column("finalites", sa.JSON(), nullable=False),
        sa.Column("base_legale", sa.Text(), nullable=False),
        sa.Column("personnes", sa.JSON(), nullable=False),
        sa.Column("donnees", sa.JSON(), nullable=False),
        sa.Column("destinataires", sa.JSON(), nullable=False),
        sa.Column("transferts", sa.Text(), nullable=False),
        sa.Column("conservation", sa.Text(), nullable=False),
        sa.Column("mesures_securite", sa.JSON(), nullable=False),
        sa.Column("aipd", sa.String(300), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "privacy_exchange",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("register_code", sa.String(64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dpo", sa.String(200), nullable=True),
        sa.Column("avis", sa.Text(), nullable=True),
        sa.Column("recommandations", sa.JSON(), nullable=True),
        sa.Column("decided_at", sa.String(32), nullable=True),
        sa.Column("key_fingerprint", sa.String(16), nullable=True),
        sa.Column("signature", sa.String(128), nullable=True),
    )
    op.create_index("ix_privacy_exchange_register_code", "privacy_exchange", ["register_code"])
    op.create_index("ix_privacy_exchange_status", "privacy_exchange", ["status"])
    op.create_table(
        "privacy_contact",
        sa.Column("pseudonym", sa.String(128), primary_key=True),
        sa.Column("territory", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("usable_fields", sa.JSON(), nullable=False),
        sa.Column("invalid_fields", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_privacy_contact_territory", "privacy_contact", ["territory"])
    op.create_table(
        "privacy_output",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("exchange_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("encrypted_path", sa.Text(), nullable=False),
        sa.Column("key_name", sa.String(120), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("retention_until", sa.Date(), nullable=False),
        sa.Column("purged_at", sa.String(32), nullable=True),
    )
    op.create_index("ix_privacy_output_exchange_id", "privacy_output", ["exchange_id"])
    op.create_index("ix_privacy_output_retention_until", "privacy_output", ["retention_until"])
    op.create_table(
        "privacy_opposition",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
    )
    op.create_index("ix_privacy_opposition_pseudonym", "privacy_opposition", ["pseudonym"])
    op.create_index("ix_privacy_opposition_expires_on", "privacy_opposition", ["expires_on"])
    op.create_table(
        "privacy_pseudonym_alias",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("old_pseudonym", sa.String(128), nullable=False),
        sa.Column("new_pseudonym", sa.String(128), nullable=False),
        sa.Column("rotated_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_privacy_pseudonym_alias_old_pseudonym", "privacy_pseudonym_alias", ["old_pseudonym"])
    op.create_index("ix_privacy_pseudonym_alias_new_pseudonym", "privacy_pseudonym_alias", ["new_pseudonym"])


def downgrade() -> None:
    for table in (
        "privacy_pseudonym_alias",
        "privacy_opposition",
        "privacy_output",
        "privacy_contact",
        "privacy_exchange",
        "privacy_register_entry",
        "privacy_audit_lock",
        "privacy_audit_checkpoint",
        "privacy_audit",
    ):
        op.drop_table(table)
