"""search catalog: copies, files (generated tsvector, GIN, trigram), tags, feed cursors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Written by hand: Alembic's autogenerate does not see generated columns, expression
indexes or operator classes, and would propose dropping them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _weighted(column: str, weight: str, *, split: bool = False) -> str:
    """`simple` keeps names and codes exact; `russian` (which stems ASCII words with the
    English stemmer) and `english` add morphology. Names are also indexed with ``_.-/``
    turned into spaces so that ``contract_2024.pdf`` matches ``contract``."""
    source = f"coalesce({column}, '')"
    parts = [f"to_tsvector('simple'::regconfig, {source})"]
    text = f"regexp_replace({source}, '[-_./]+', ' ', 'g')" if split else source
    if split:
        parts.append(f"to_tsvector('simple'::regconfig, {text})")
    parts += [f"to_tsvector('russian'::regconfig, {text})", f"to_tsvector('english'::regconfig, {text})"]
    return " || ".join(f"setweight({p}, '{weight}')" for p in parts)


SEARCH_VECTOR = " || ".join(
    [
        _weighted("original_filename", "A", split=True),
        _weighted("tags_text", "B"),
        _weighted("description", "C"),
        _weighted("metadata_text", "D"),
    ]
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "feed_cursors",
        sa.Column("se_id", sa.Text, primary_key=True),
        sa.Column("feed_epoch", sa.Text),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("mode", sa.Text),
        sa.Column("pass_id", sa.Text),
        sa.Column("sweep_pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalog_copies",
        sa.Column("file_id", sa.Text, primary_key=True),
        sa.Column("se_id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("se_mode", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pass_id", sa.Text, nullable=False),
        sa.Column("record", JSONB, nullable=False),
    )
    op.create_index("ix_catalog_copies_se", "catalog_copies", ["se_id", "pass_id"])
    op.create_table(
        "catalog_files",
        sa.Column("file_id", sa.Text, primary_key=True),
        sa.Column("original_filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("owner_username", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("tags", ARRAY(sa.Text), nullable=False),
        sa.Column("tags_text", sa.Text, nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("metadata_text", sa.Text, nullable=False),
        sa.Column("retention_policy", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", JSONB, nullable=False),
    )
    op.execute(
        f"ALTER TABLE catalog_files ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED"
    )
    op.execute("CREATE INDEX ix_catalog_files_search ON catalog_files USING gin (search_vector)")
    op.execute("CREATE INDEX ix_catalog_files_metadata ON catalog_files USING gin (metadata jsonb_path_ops)")
    op.execute("CREATE INDEX ix_catalog_files_tags ON catalog_files USING gin (tags)")
    op.execute(
        "CREATE INDEX ix_catalog_files_name_trgm ON catalog_files USING gin (original_filename gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_catalog_files_name_prefix ON catalog_files (lower(original_filename) text_pattern_ops)"
    )
    op.create_index("ix_catalog_files_created", "catalog_files", ["created_at", "file_id"])
    op.create_index("ix_catalog_files_size", "catalog_files", ["size", "file_id"])
    op.create_index("ix_catalog_files_name", "catalog_files", ["original_filename", "file_id"])
    op.create_index("ix_catalog_files_owner", "catalog_files", ["owner_id", "created_at"])
    op.create_table(
        "catalog_file_tags",
        sa.Column("file_id", sa.Text, primary_key=True),
        sa.Column("tag", sa.Text, primary_key=True),
    )
    op.execute("CREATE INDEX ix_catalog_file_tags_prefix ON catalog_file_tags (lower(tag) text_pattern_ops)")


def downgrade() -> None:
    op.drop_table("catalog_file_tags")
    op.drop_table("catalog_files")
    op.drop_table("catalog_copies")
    op.drop_table("feed_cursors")
