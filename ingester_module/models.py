"""Tables of the ingester (SQLAlchemy Core). Migrations are written by hand."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

# The ingester's own tables; the audit outbox (shared.outbox) is created by migration 0001.
metadata = sa.MetaData()

# One row per saga (finalize, transfer, delete), its progress kept step by step.
sagas = sa.Table(
    "sagas",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # finalize | transfer | delete
    sa.Column("state", sa.Text, nullable=False),  # pending | running | completed | failed | compensated
    sa.Column("phase", sa.Text, nullable=False, server_default="forward"),  # forward | compensating
    sa.Column("file_id", sa.Text, nullable=False),
    sa.Column("batch_id", UUID(as_uuid=True)),
    sa.Column("actor", JSONB, nullable=False),
    sa.Column("params", JSONB, nullable=False),  # what the request asked
    sa.Column("data", JSONB, nullable=False),  # what the steps learned (source, target, sha256)
    sa.Column("steps", JSONB, nullable=False),  # [{"name","state","at","detail"?}]
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

# Workers scan only unfinished sagas; a partial index keeps that cheap.
SAGAS_OPEN_INDEX = sa.Index(
    "ix_sagas_open",
    sagas.c.next_attempt_at,
    postgresql_where=sagas.c.state.in_(["pending", "running"]),
)
# At most one unfinished saga per file: two sagas moving the same file would race.
SAGAS_ONE_PER_FILE = sa.Index(
    "ux_sagas_open_file",
    sagas.c.file_id,
    unique=True,
    postgresql_where=sagas.c.state.in_(["pending", "running"]),
)

__all__ = ["metadata", "sagas"]
