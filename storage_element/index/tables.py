"""Index tables (SQLAlchemy Core). The generated ``search`` column and the GIN indexes are
written by hand in migration 0002; the audit outbox (shared.outbox) is not part of an
index generation and survives every reindex.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

# The SE's own tables; the audit outbox (shared.outbox) is created by migration 0001.
metadata = sa.MetaData()

generations = sa.Table(
    "index_generations",
    metadata,
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("feed_epoch", sa.Text, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("generation", sa.Integer, primary_key=True),
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
    sa.Column("search", TSVECTOR, sa.Computed("x", persisted=True)),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("generation", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("op", sa.Text, nullable=False),
    sa.Column("file_id", sa.Text),
    sa.Column("doc", JSONB),
    sa.Column("mode", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
