"""index generations, files with full-text search, change feed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH = (
    "setweight(to_tsvector('simple'::regconfig, original_filename || ' ' || "
    "regexp_replace(original_filename, '[._-]+', ' ', 'g')), 'A') || "
    "to_tsvector('simple'::regconfig, description || ' ' || tags_text) || "
    "to_tsvector('english'::regconfig, regexp_replace(original_filename, '[._-]+', ' ', 'g') || ' ' || "
    "description || ' ' || tags_text) || "
    "to_tsvector('russian'::regconfig, regexp_replace(original_filename, '[._-]+', ' ', 'g') || ' ' || "
    "description || ' ' || tags_text) || "
    "jsonb_to_tsvector('simple'::regconfig, metadata, '[\"string\", \"numeric\"]') || "
    "jsonb_to_tsvector('english'::regconfig, metadata, '[\"string\"]') || "
    "jsonb_to_tsvector('russian'::regconfig, metadata, '[\"string\"]')"
)


def upgrade() -> None:
    op.create_table(
        "index_generations",
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("feed_epoch", sa.Text, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_index_generations_active",
        "index_generations",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "files",
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("file_id", sa.Text, primary_key=True),
        sa.Column("data_key", sa.Text, nullable=False),
        sa.Column("doc", JSONB, nullable=False),
        sa.Column("original_filename", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("tags_text", sa.Text, nullable=False, server_default=""),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("copy_state", sa.Text, nullable=False),
        sa.Column("retention_policy", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("retain_until", sa.DateTime(timezone=True)),
        sa.Column("legal_hold", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_verified_at", sa.DateTime(timezone=True)),
        sa.Column("search", TSVECTOR, sa.Computed(sa.text(SEARCH), persisted=True)),
    )
    op.create_index("ix_files_search", "files", ["search"], postgresql_using="gin")
    op.create_index(
        "ix_files_metadata",
        "files",
        ["metadata"],
        postgresql_using="gin",
        postgresql_ops={"metadata": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_files_expires",
        "files",
        ["generation", "expires_at"],
        postgresql_where=sa.text("retention_policy = 'temporary'"),
    )
    op.create_table(
        "changes",
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("file_id", sa.Text),
        sa.Column("doc", JSONB),
        sa.Column("mode", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("changes")
    op.drop_table("files")
    op.drop_table("index_generations")
