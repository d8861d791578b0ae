"""Tables of the query module (SQLAlchemy Core). Migrations are written by hand.

The catalog is a projection of every SE's change feed (ARCHITECTURE.md section 2):

* ``catalog_copies``: one row per ``(file_id, se_id)``, the record as that SE holds it;
* ``catalog_files``: one row per file, the attributes of its winning copy (highest
  ``revision``, then ``updated_at``), with a generated ``tsvector`` for search;
* ``catalog_file_tags``: the tags of each file, for suggestions and facets;
* ``feed_cursors``: per SE, the feed epoch and the last applied sequence number, written
  in the same transaction as the rows it applied.

The generated ``search_vector`` expression, the GIN and trigram indexes are written by
hand in the migration (``0002_catalog``); here the column is only declared for reading.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

# The query module's own tables; the audit outbox (shared.outbox) is created by migration 0001.
metadata = sa.MetaData()

catalog_copies = sa.Table(
    "catalog_copies",
    metadata,
    sa.Column("file_id", sa.Text, primary_key=True),
    sa.Column("se_id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("se_mode", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("pass_id", sa.Text, nullable=False),
    sa.Column("record", JSONB, nullable=False),
)

catalog_files = sa.Table(
    "catalog_files",
    metadata,
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
    # GENERATED ALWAYS ... STORED in the migration: never written by this code.
    sa.Column("search_vector", TSVECTOR),
)

catalog_file_tags = sa.Table(
    "catalog_file_tags",
    metadata,
    sa.Column("file_id", sa.Text, primary_key=True),
    sa.Column("tag", sa.Text, primary_key=True),
)

feed_cursors = sa.Table(
    "feed_cursors",
    metadata,
    sa.Column("se_id", sa.Text, primary_key=True),
    sa.Column("feed_epoch", sa.Text),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("mode", sa.Text),
    # Each read of the feed from 0 is a "pass"; copies remember the pass that last saw them.
    sa.Column("pass_id", sa.Text),
    # Set while an SE is re-read from 0; the sweep at the end removes copies of older passes.
    sa.Column("sweep_pending", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

__all__ = ["catalog_copies", "catalog_file_tags", "catalog_files", "feed_cursors", "metadata"]
